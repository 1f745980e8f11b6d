//! Plain-Rust dot kernels: the reference every SIMD kernel is tested against, and the fallback
//! on targets without one. Written so the compiler can auto-vectorize the float loops (eight
//! independent lanes) while the quantized dots keep an exact `i32` sum per 32-block.
//!
//! Contract shared by every kernel set (see [`super::Kernels`]): both operands have the same
//! length (extra elements of the longer one are ignored, never read out of bounds), the integer
//! part of each block product is exact, and block results are `isum * d_w * d_x` summed in f32.

use super::{ActQ8_0, ActQ8_0x4, ActQ8_1};
use crate::quant::{f16_le, BlockQ4_0, BlockQ4_1, BlockQ8_0, QK};

const LANES: usize = 8;

#[inline(always)]
fn hsum8(acc: [f32; LANES]) -> f32 {
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// `Σ a[i] * b[i]`.
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    hsum8(acc) + tail
}

/// `Σ w[i] * x[i]` with `w` little-endian f16 bytes (`w.len() == 2 * x.len()`).
pub fn dot_f16_f32(w: &[u8], x: &[f32]) -> f32 {
    let n = (w.len() / 2).min(x.len());
    let (w, x) = (&w[..2 * n], &x[..n]);
    let mut acc = [0f32; LANES];
    let cw = w.chunks_exact(2 * LANES);
    let cx = x.chunks_exact(LANES);
    let tail: f32 =
        cw.remainder().chunks_exact(2).zip(cx.remainder()).map(|(h, v)| f16_le([h[0], h[1]]) * v).sum();
    for (h, v) in cw.zip(cx) {
        for l in 0..LANES {
            acc[l] += f16_le([h[2 * l], h[2 * l + 1]]) * v[l];
        }
    }
    hsum8(acc) + tail
}

/// Exact integer dot of two 32-element signed blocks.
#[inline(always)]
pub fn block_isum(a: &[i8; QK], b: &[i8; QK]) -> i32 {
    a.iter().zip(b).map(|(&p, &q)| p as i32 * q as i32).sum()
}

/// Q8_0 weights · Q8_0 activations.
pub fn dot_q8_0(w: &[BlockQ8_0], x: &[ActQ8_0]) -> f32 {
    let mut sum = 0f32;
    for (a, b) in w.iter().zip(x) {
        sum += block_isum(&a.qs, &b.qs) as f32 * (f16_le(a.d) * b.d);
    }
    sum
}

/// Q8_0 weights · a tile of four activation rows; lane `r` equals `dot_q8_0` of row `r`.
pub fn tile_q8_0(w: &[BlockQ8_0], x: &[ActQ8_0x4]) -> [f32; 4] {
    let mut sum = [0f32; 4];
    for (a, t) in w.iter().zip(x) {
        let dw = f16_le(a.d);
        for (r, s) in sum.iter_mut().enumerate() {
            let isum: i32 = a.qs.iter().zip(&t.qs[r]).map(|(&p, &q)| p as i32 * q as i32).sum();
            *s += isum as f32 * (dw * t.d[r]);
        }
    }
    sum
}

/// Signed 4-bit values of a Q4_0 block (`nibble - 8`), in element order.
#[inline(always)]
pub fn unpack_q4_0(b: &BlockQ4_0) -> [i8; QK] {
    let mut q = [0i8; QK];
    for (j, &byte) in b.qs.iter().enumerate() {
        q[j] = (byte & 0x0f) as i8 - 8;
        q[j + QK / 2] = (byte >> 4) as i8 - 8;
    }
    q
}

/// Unsigned 4-bit values of a Q4_1 block, in element order.
#[inline(always)]
pub fn unpack_q4_1(b: &BlockQ4_1) -> [i8; QK] {
    let mut q = [0i8; QK];
    for (j, &byte) in b.qs.iter().enumerate() {
        q[j] = (byte & 0x0f) as i8;
        q[j + QK / 2] = (byte >> 4) as i8;
    }
    q
}

/// Q4_0 weights · Q8_0 activations.
pub fn dot_q4_0(w: &[BlockQ4_0], x: &[ActQ8_0]) -> f32 {
    let mut sum = 0f32;
    for (a, b) in w.iter().zip(x) {
        sum += block_isum(&unpack_q4_0(a), &b.qs) as f32 * (f16_le(a.d) * b.d);
    }
    sum
}

/// Q4_1 weights · Q8_1 activations: `Σ (d_w q_w + m_w) d_x q_x = d_w d_x Σ q_w q_x + m_w s_x`.
pub fn dot_q4_1(w: &[BlockQ4_1], x: &[ActQ8_1]) -> f32 {
    let mut sum = 0f32;
    for (a, b) in w.iter().zip(x) {
        let isum = block_isum(&unpack_q4_1(a), &b.qs) as f32;
        sum += isum * (f16_le(a.d) * b.d) + f16_le(a.m) * b.s;
    }
    sum
}
