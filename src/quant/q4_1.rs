//! Q4_1: 32 weights as 4-bit values with an f16 scale and an f16 minimum. Nibble order as Q4_0.

use super::{f16_le, to_f16_le, QK};
use bytemuck::{Pod, Zeroable};

#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ4_1 {
    pub d: [u8; 2],
    pub m: [u8; 2],
    pub qs: [u8; QK / 2],
}

impl BlockQ4_1 {
    /// llama.cpp's `quantize_row_q4_1_ref`: the 16 levels span exactly [min, max].
    /// Byte-for-byte what llama.cpp writes; [`BlockQ4_1::quantize_best`] is more accurate.
    pub fn quantize(x: &[f32; QK]) -> Self {
        let min = x.iter().copied().fold(f32::MAX, f32::min);
        let max = x.iter().copied().fold(f32::MIN, f32::max);
        let d = (max - min) / 15.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let mut qs = [0u8; QK / 2];
        for (j, q) in qs.iter_mut().enumerate() {
            let lo = (((x[j] - min) * id + 0.5) as i8).min(15) as u8;
            let hi = (((x[j + QK / 2] - min) * id + 0.5) as i8).min(15) as u8;
            *q = lo | (hi << 4);
        }
        BlockQ4_1 { d: to_f16_le(d), m: to_f16_le(min), qs }
    }

    /// The same layout with a searched range: candidate ranges pulled in from [min, max] at
    /// either end are tried; for each, the values are rounded, scale and minimum are refit by
    /// least squares for that rounding (twice, re-rounding in between), and the block with
    /// the smallest squared error (after f16 storage) wins. The reference block is one of
    /// the candidates, so the error is never larger than the reference's.
    pub fn quantize_best(x: &[f32; QK]) -> Self {
        let mut best = Self::quantize(x);
        let mut best_err = sq_err(x, &best);
        let min = x.iter().copied().fold(f32::MAX, f32::min);
        let max = x.iter().copied().fold(f32::MIN, f32::max);
        let range = max - min;
        if !(range > 0.0) || best_err == 0.0 {
            return best;
        }
        for a in 0..6 {
            for b in 0..6 {
                let (mut lo, hi) = (min + range * 0.03 * a as f32, max - range * 0.03 * b as f32);
                let mut d = (hi - lo) / 15.0;
                for _ in 0..2 {
                    let Some((q, nd, nm)) = round_and_fit(x, lo, d) else { break };
                    let blk = pack(nd, nm, &q);
                    let err = sq_err(x, &blk);
                    if err < best_err {
                        best_err = err;
                        best = blk;
                    }
                    (lo, d) = (nm, nd);
                }
            }
        }
        best
    }

    pub fn dequantize(&self, out: &mut [f32; QK]) {
        let d = f16_le(self.d);
        let m = f16_le(self.m);
        for (j, q) in self.qs.iter().enumerate() {
            out[j] = (q & 0x0f) as f32 * d + m;
            out[j + QK / 2] = (q >> 4) as f32 * d + m;
        }
    }
}

/// Levels `round((x - lo) / d)` clamped to 0..=15, and the least-squares scale and minimum
/// for them; `None` when the levels are all equal (or `d` is not positive).
fn round_and_fit(x: &[f32; QK], lo: f32, d: f32) -> Option<([u8; QK], f32, f32)> {
    if !(d > 0.0) {
        return None;
    }
    let id = 1.0 / d;
    let mut q = [0u8; QK];
    let (mut sx, mut sq, mut sqq, mut sxq) = (0f64, 0f64, 0f64, 0f64);
    for (q, &v) in q.iter_mut().zip(x) {
        let l = ((v - lo) * id).round().clamp(0.0, 15.0);
        *q = l as u8;
        let (v, l) = (v as f64, l as f64);
        sx += v;
        sq += l;
        sqq += l * l;
        sxq += v * l;
    }
    let n = QK as f64;
    let det = n * sqq - sq * sq;
    if det <= 0.0 {
        return None;
    }
    let d = (n * sxq - sq * sx) / det;
    let m = (sx - d * sq) / n;
    (d > 0.0).then_some((q, d as f32, m as f32))
}

fn pack(d: f32, m: f32, q: &[u8; QK]) -> BlockQ4_1 {
    let mut qs = [0u8; QK / 2];
    for (j, b) in qs.iter_mut().enumerate() {
        *b = q[j] | (q[j + QK / 2] << 4);
    }
    BlockQ4_1 { d: to_f16_le(d), m: to_f16_le(m), qs }
}

/// Squared error of `b` against `x`, through the dequantizer (so with the f16 scale and min).
fn sq_err(x: &[f32; QK], b: &BlockQ4_1) -> f32 {
    let mut y = [0f32; QK];
    b.dequantize(&mut y);
    x.iter().zip(&y).map(|(a, b)| (a - b) * (a - b)).sum()
}
