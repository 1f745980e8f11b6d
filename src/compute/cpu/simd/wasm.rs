//! WebAssembly simd128 kernels (compiled when the target enables `simd128`, which
//! `.cargo/config.toml` does for wasm32). Int8 dots widen with `extmul` to exact i16 products
//! (|p| <= 128·128) and add pairs into i32 lanes, so the integer part of every block is exact.
//! simd128 has no f16 conversion; F16 weights are converted eight at a time in scalar code.

use super::{ActQ8_0, ActQ8_1, Kernels};
use crate::quant::{f16_le, BlockQ4_0, BlockQ4_1, BlockQ8_0};
use core::arch::wasm32::*;

pub fn kernels() -> Option<Kernels> {
    Some(Kernels {
        name: "simd128",
        dot_f32,
        dot_f16_f32,
        dot_q8_0,
        dot_q4_0,
        dot_q4_1,
        dot4_q8_0: |w, x| x.map(|x| dot_q8_0(w, x)),
        dot4_q4_0: |w, x| x.map(|x| dot_q4_0(w, x)),
        dot4_q4_1: |w, x| x.map(|x| dot_q4_1(w, x)),
    })
}

#[inline(always)]
fn hsum(v: v128) -> f32 {
    (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<2>(v))
        + (f32x4_extract_lane::<1>(v) + f32x4_extract_lane::<3>(v))
}

#[inline(always)]
fn load(p: *const u8) -> v128 {
    // SAFETY: every caller passes a pointer to at least 16 readable bytes; v128_load does not
    // require alignment.
    unsafe { v128_load(p as *const v128) }
}

/// 16 + 16 signed bytes · 16 + 16 signed bytes → four i32 partial sums, exact.
#[inline(always)]
fn mul_i8(w0: v128, w1: v128, x0: v128, x1: v128) -> v128 {
    let a = i32x4_add(
        i32x4_extadd_pairwise_i16x8(i16x8_extmul_low_i8x16(w0, x0)),
        i32x4_extadd_pairwise_i16x8(i16x8_extmul_high_i8x16(w0, x0)),
    );
    let b = i32x4_add(
        i32x4_extadd_pairwise_i16x8(i16x8_extmul_low_i8x16(w1, x1)),
        i32x4_extadd_pairwise_i16x8(i16x8_extmul_high_i8x16(w1, x1)),
    );
    i32x4_add(a, b)
}

fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr() as *const u8, b.as_ptr() as *const u8);
    let mut acc = [f32x4_splat(0.0); 4];
    let mut i = 0;
    while i + 16 <= n {
        for (u, acc) in acc.iter_mut().enumerate() {
            let o = 4 * (i + 4 * u);
            // SAFETY: i + 16 <= n, so 16 bytes at byte offset o are inside both slices.
            let (x, y) = unsafe { (load(pa.add(o)), load(pb.add(o))) };
            *acc = f32x4_add(*acc, f32x4_mul(x, y));
        }
        i += 16;
    }
    while i + 4 <= n {
        // SAFETY: as above, i + 4 <= n.
        let (x, y) = unsafe { (load(pa.add(4 * i)), load(pb.add(4 * i))) };
        acc[0] = f32x4_add(acc[0], f32x4_mul(x, y));
        i += 4;
    }
    let mut s = hsum(f32x4_add(f32x4_add(acc[0], acc[1]), f32x4_add(acc[2], acc[3])));
    while i < n {
        s += a[i] * b[i];
        i += 1;
    }
    s
}

fn dot_f16_f32(w: &[u8], x: &[f32]) -> f32 {
    let n = (w.len() / 2).min(x.len());
    let mut acc = [f32x4_splat(0.0); 2];
    let mut buf = [0f32; 8];
    let mut i = 0;
    while i + 8 <= n {
        for (l, b) in buf.iter_mut().enumerate() {
            *b = f16_le([w[2 * (i + l)], w[2 * (i + l) + 1]]);
        }
        let pb = buf.as_ptr() as *const u8;
        let px = x[i..].as_ptr() as *const u8;
        // SAFETY: buf holds 8 floats; i + 8 <= n, so 8 floats of x are readable at px.
        unsafe {
            acc[0] = f32x4_add(acc[0], f32x4_mul(load(pb), load(px)));
            acc[1] = f32x4_add(acc[1], f32x4_mul(load(pb.add(16)), load(px.add(16))));
        }
        i += 8;
    }
    let mut s = hsum(f32x4_add(acc[0], acc[1]));
    while i < n {
        s += f16_le([w[2 * i], w[2 * i + 1]]) * x[i];
        i += 1;
    }
    s
}

fn dot_q8_0(w: &[BlockQ8_0], x: &[ActQ8_0]) -> f32 {
    let mut acc = f32x4_splat(0.0);
    for (a, b) in w.iter().zip(x) {
        let (pa, pb) = (a.qs.as_ptr() as *const u8, b.qs.as_ptr() as *const u8);
        // SAFETY: each qs is 32 bytes.
        let p = unsafe { mul_i8(load(pa), load(pa.add(16)), load(pb), load(pb.add(16))) };
        let d = f32x4_splat(f16_le(a.d) * b.d);
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(p), d));
    }
    hsum(acc)
}

/// Low and high nibbles of a 16-byte block: elements 0..16 and 16..32.
#[inline(always)]
fn nibbles(qs: &[u8; 16]) -> (v128, v128) {
    let v = load(qs.as_ptr());
    (v128_and(v, u8x16_splat(0x0f)), u8x16_shr(v, 4))
}

fn dot_q4_0(w: &[BlockQ4_0], x: &[ActQ8_0]) -> f32 {
    let eight = i8x16_splat(8);
    let mut acc = f32x4_splat(0.0);
    for (a, b) in w.iter().zip(x) {
        let (lo, hi) = nibbles(&a.qs);
        let pb = b.qs.as_ptr() as *const u8;
        // SAFETY: qs is 32 bytes.
        let (x0, x1) = unsafe { (load(pb), load(pb.add(16))) };
        let p = mul_i8(i8x16_sub(lo, eight), i8x16_sub(hi, eight), x0, x1);
        let d = f32x4_splat(f16_le(a.d) * b.d);
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(p), d));
    }
    hsum(acc)
}

fn dot_q4_1(w: &[BlockQ4_1], x: &[ActQ8_1]) -> f32 {
    let mut acc = f32x4_splat(0.0);
    let mut offs = 0f32;
    for (a, b) in w.iter().zip(x) {
        let (lo, hi) = nibbles(&a.qs);
        let pb = b.qs.as_ptr() as *const u8;
        // SAFETY: qs is 32 bytes.
        let (x0, x1) = unsafe { (load(pb), load(pb.add(16))) };
        // Nibbles are 0..=15, so reading them as signed bytes is exact.
        let p = mul_i8(lo, hi, x0, x1);
        let d = f32x4_splat(f16_le(a.d) * b.d);
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(p), d));
        offs += f16_le(a.m) * b.s;
    }
    hsum(acc) + offs
}
