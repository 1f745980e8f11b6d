//! WebAssembly simd128 kernels (compiled when the target enables `simd128`, which
//! `.cargo/config.toml` does for wasm32). The integer part of every block is exact: int8 products
//! come from `i16x8.extmul` (|p| <= 2^14 fits an i16 lane); 8-bit weights widen them pairwise to
//! i32, 4-bit weights (|w| <= 15, products <= 1920) first add four products per i16 lane, then
//! widen once — about half the instructions of widening both operands and using
//! `i32x4.dot_i16x8_s`, which is what decode (one activation row) spends its time on.
//!
//! f16 scales come from a 256 KiB table built once (one load instead of the bit manipulation).
//!
//! The four-row kernels dot each weight block against four activation rows, then fold the four
//! rows' partial sums into one vector (lane r = row r) so each block costs one int→float
//! conversion and one scale multiply for all four rows. Each lane accumulates
//! `isum · (d_w · d_x)` block by block in the same order as the portable kernels, and simd128
//! has no fused multiply-add, so the four-row results are bit-identical to the portable ones.
//! simd128 has no f16 conversion instruction; `dot_f16_f32` converts in scalar code.

use super::{ActQ8_0, ActQ8_0x4, ActQ8_1, Kernels};
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
        dot4_q8_0,
        dot4_q4_0,
        dot4_q4_1,
        tile_q8_0: Some(tile_q8_0),
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

/// The 32 signed bytes of a block (two vectors) widened to four i16x8.
#[inline(always)]
fn widen(v0: v128, v1: v128) -> [v128; 4] {
    [
        i16x8_extend_low_i8x16(v0),
        i16x8_extend_high_i8x16(v0),
        i16x8_extend_low_i8x16(v1),
        i16x8_extend_high_i8x16(v1),
    ]
}

/// A widened 32-element block · 32 signed bytes at `x` → four i32 partial sums, exact.
#[inline(always)]
fn dot_wide(w: &[v128; 4], x: &[i8; 32]) -> v128 {
    let p = x.as_ptr() as *const u8;
    // SAFETY: x is 32 bytes.
    let (x0, x1) = unsafe { (load(p), load(p.add(16))) };
    let a = i32x4_add(
        i32x4_dot_i16x8(w[0], i16x8_extend_low_i8x16(x0)),
        i32x4_dot_i16x8(w[1], i16x8_extend_high_i8x16(x0)),
    );
    let b = i32x4_add(
        i32x4_dot_i16x8(w[2], i16x8_extend_low_i8x16(x1)),
        i32x4_dot_i16x8(w[3], i16x8_extend_high_i8x16(x1)),
    );
    i32x4_add(a, b)
}

/// Two 16-byte halves of an activation block.
#[inline(always)]
fn halves(x: &[i8; 32]) -> (v128, v128) {
    let p = x.as_ptr() as *const u8;
    // SAFETY: x is 32 bytes.
    unsafe { (load(p), load(p.add(16))) }
}

/// 16 + 16 signed bytes · 32 signed bytes → four i32 partial sums, exact: each i8·i8 product
/// (|p| <= 2^14) fits an i16 lane, and pairs are summed into i32 lanes.
#[inline(always)]
fn mul_i8(w0: v128, w1: v128, x: &[i8; 32]) -> v128 {
    let (x0, x1) = halves(x);
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

/// As [`mul_i8`] for weights of 4 bits (|w| <= 15, as nibbles or nibbles - 8): products are at
/// most 15·128 = 1920, so four of them still fit an i16 lane and are summed there before one
/// widening to i32. Exact.
#[inline(always)]
fn mul_i4(w0: v128, w1: v128, x: &[i8; 32]) -> v128 {
    let (x0, x1) = halves(x);
    let a = i16x8_add(i16x8_extmul_low_i8x16(w0, x0), i16x8_extmul_high_i8x16(w0, x0));
    let b = i16x8_add(i16x8_extmul_low_i8x16(w1, x1), i16x8_extmul_high_i8x16(w1, x1));
    i32x4_extadd_pairwise_i16x8(i16x8_add(a, b))
}

/// `[Σa, Σb, Σc, Σd]` of four i32x4 (exact: block sums are far below 2^31).
#[inline(always)]
fn hsum4_i32(a: v128, b: v128, c: v128, d: v128) -> v128 {
    // [a0+a2, b0+b2, a1+a3, b1+b3] and the same for c, d.
    let ab = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(a, b), i32x4_shuffle::<2, 6, 3, 7>(a, b));
    let cd = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(c, d), i32x4_shuffle::<2, 6, 3, 7>(c, d));
    i32x4_add(i32x4_shuffle::<0, 1, 4, 5>(ab, cd), i32x4_shuffle::<2, 3, 6, 7>(ab, cd))
}

#[inline(always)]
fn lanes(v: v128) -> [f32; 4] {
    [
        f32x4_extract_lane::<0>(v),
        f32x4_extract_lane::<1>(v),
        f32x4_extract_lane::<2>(v),
        f32x4_extract_lane::<3>(v),
    ]
}

/// The four activation rows cut to a common block count with the weight row, zipped so the
/// block loop runs without bounds checks.
#[inline(always)]
fn zip4<'a, W, X>(w: &'a [W], x: [&'a [X]; 4]) -> impl Iterator<Item = (&'a W, [&'a X; 4])> {
    w.iter().zip(x[0]).zip(x[1]).zip(x[2]).zip(x[3]).map(|((((w, a), b), c), d)| (w, [a, b, c, d]))
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

/// f16 → f32 by table: every f16 bit pattern converted once ([`f16_le`], exact), 256 KiB.
/// One load instead of the bit manipulation, for the two scales of every block of a matrix-vector
/// product.
fn f16_table() -> &'static [f32; 65536] {
    static TABLE: std::sync::OnceLock<Box<[f32; 65536]>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = Box::new([0f32; 65536]);
        for (h, v) in t.iter_mut().enumerate() {
            *v = crate::quant::f16_bits_to_f32(h as u16);
        }
        t
    })
}

#[inline(always)]
fn f16_at(t: &[f32; 65536], h: [u8; 2]) -> f32 {
    t[u16::from_le_bytes(h) as usize]
}

fn dot_q8_0(w: &[BlockQ8_0], x: &[ActQ8_0]) -> f32 {
    let t = f16_table();
    let mut acc = f32x4_splat(0.0);
    for (a, b) in w.iter().zip(x) {
        let pa = a.qs.as_ptr() as *const u8;
        // SAFETY: qs is 32 bytes.
        let p = unsafe { mul_i8(load(pa), load(pa.add(16)), &b.qs) };
        let d = f32x4_splat(f16_at(t, a.d) * b.d);
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
    let t = f16_table();
    let eight = i8x16_splat(8);
    let mut acc = f32x4_splat(0.0);
    for (a, b) in w.iter().zip(x) {
        let (lo, hi) = nibbles(&a.qs);
        let p = mul_i4(i8x16_sub(lo, eight), i8x16_sub(hi, eight), &b.qs);
        let d = f32x4_splat(f16_at(t, a.d) * b.d);
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(p), d));
    }
    hsum(acc)
}

fn dot_q4_1(w: &[BlockQ4_1], x: &[ActQ8_1]) -> f32 {
    let t = f16_table();
    let mut acc = f32x4_splat(0.0);
    let mut offs = 0f32;
    for (a, b) in w.iter().zip(x) {
        let (lo, hi) = nibbles(&a.qs);
        // Nibbles are 0..=15, so reading them as signed bytes is exact.
        let p = mul_i4(lo, hi, &b.qs);
        let d = f32x4_splat(f16_at(t, a.d) * b.d);
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(p), d));
        offs += f16_at(t, a.m) * b.s;
    }
    hsum(acc) + offs
}

/// Four rows' block sums `[isum_0..isum_3]` of a widened weight block against `x`.
#[inline(always)]
fn isum4<X>(w: &[v128; 4], x: [&X; 4], qs: impl Fn(&X) -> &[i8; 32]) -> v128 {
    hsum4_i32(dot_wide(w, qs(x[0])), dot_wide(w, qs(x[1])), dot_wide(w, qs(x[2])), dot_wide(w, qs(x[3])))
}

/// Four rows' block sums of 4-bit weights (nibbles `lo`, `hi`) against `x`, through [`mul_i4`].
#[inline(always)]
fn isum4_i4<X>(lo: v128, hi: v128, x: [&X; 4], qs: impl Fn(&X) -> &[i8; 32]) -> v128 {
    hsum4_i32(mul_i4(lo, hi, qs(x[0])), mul_i4(lo, hi, qs(x[1])), mul_i4(lo, hi, qs(x[2])), mul_i4(lo, hi, qs(x[3])))
}

#[inline(always)]
fn f32x4_of(v: [f32; 4]) -> v128 {
    f32x4(v[0], v[1], v[2], v[3])
}

fn dot4_q8_0(w: &[BlockQ8_0], x: [&[ActQ8_0]; 4]) -> [f32; 4] {
    let t = f16_table();
    let mut acc = f32x4_splat(0.0);
    for (a, xb) in zip4(w, x) {
        let pa = a.qs.as_ptr() as *const u8;
        // SAFETY: qs is 32 bytes.
        let wv = unsafe { widen(load(pa), load(pa.add(16))) };
        let p = f32x4_convert_i32x4(isum4(&wv, xb, |b| &b.qs));
        let d = f32x4_mul(f32x4_splat(f16_at(t, a.d)), f32x4_of(xb.map(|b| b.d)));
        acc = f32x4_add(acc, f32x4_mul(p, d));
    }
    lanes(acc)
}

fn dot4_q4_0(w: &[BlockQ4_0], x: [&[ActQ8_0]; 4]) -> [f32; 4] {
    let t = f16_table();
    let eight = i8x16_splat(8);
    let mut acc = f32x4_splat(0.0);
    for (a, xb) in zip4(w, x) {
        let (lo, hi) = nibbles(&a.qs);
        let p = f32x4_convert_i32x4(isum4_i4(i8x16_sub(lo, eight), i8x16_sub(hi, eight), xb, |b| &b.qs));
        let d = f32x4_mul(f32x4_splat(f16_at(t, a.d)), f32x4_of(xb.map(|b| b.d)));
        acc = f32x4_add(acc, f32x4_mul(p, d));
    }
    lanes(acc)
}

fn dot4_q4_1(w: &[BlockQ4_1], x: [&[ActQ8_1]; 4]) -> [f32; 4] {
    let t = f16_table();
    let mut acc = f32x4_splat(0.0);
    for (a, xb) in zip4(w, x) {
        let (lo, hi) = nibbles(&a.qs);
        let p = f32x4_convert_i32x4(isum4_i4(lo, hi, xb, |b| &b.qs));
        let d = f32x4_mul(f32x4_splat(f16_at(t, a.d)), f32x4_of(xb.map(|b| b.d)));
        let offs = f32x4_mul(f32x4_splat(f16_at(t, a.m)), f32x4_of(xb.map(|b| b.s)));
        // (isum · d + m_w · s_x) per block, as the portable kernel adds it.
        acc = f32x4_add(acc, f32x4_add(f32x4_mul(p, d), offs));
    }
    lanes(acc)
}

/// Two Q8_0 weight rows against a tile of four pre-widened activation rows: per block each
/// weight is widened once, and each activation row is four loads shared by both weights and
/// four `i32x4.dot_i16x8_s` per weight, where [`dot4_q8_0`] also widened every row's bytes
/// again for every weight row. Same sums, same order: bit-identical to it.
fn tile_q8_0(w: [&[BlockQ8_0]; 2], x: &[ActQ8_0x4]) -> [[f32; 4]; 2] {
    let t = f16_table();
    let mut acc = [f32x4_splat(0.0); 2];
    for ((a0, a1), xb) in w[0].iter().zip(w[1]).zip(x) {
        // SAFETY: qs is 32 bytes.
        let wide = |a: &BlockQ8_0| unsafe {
            let pa = a.qs.as_ptr() as *const u8;
            widen(load(pa), load(pa.add(16)))
        };
        let (w0, w1) = (wide(a0), wide(a1));
        let row = |r: usize| {
            let p = xb.qs[r].as_ptr() as *const u8;
            // SAFETY: each row of the tile is 32 i16, 64 bytes.
            let x = unsafe { [load(p), load(p.add(16)), load(p.add(32)), load(p.add(48))] };
            let dot = |w: &[v128; 4]| {
                i32x4_add(
                    i32x4_add(i32x4_dot_i16x8(w[0], x[0]), i32x4_dot_i16x8(w[1], x[1])),
                    i32x4_add(i32x4_dot_i16x8(w[2], x[2]), i32x4_dot_i16x8(w[3], x[3])),
                )
            };
            (dot(&w0), dot(&w1))
        };
        let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
        // d is four f32: the 16 bytes `load` reads.
        let dx = load(xb.d.as_ptr() as *const u8);
        for (acc, (a, p)) in acc.iter_mut().zip([
            (a0, hsum4_i32(r0.0, r1.0, r2.0, r3.0)),
            (a1, hsum4_i32(r0.1, r1.1, r2.1, r3.1)),
        ]) {
            let d = f32x4_mul(f32x4_splat(f16_at(t, a.d)), dx);
            *acc = f32x4_add(*acc, f32x4_mul(f32x4_convert_i32x4(p), d));
        }
    }
    acc.map(lanes)
}
