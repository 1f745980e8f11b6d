//! Q4_0: 32 weights as 4-bit values with an implicit offset of 8 and one f16 scale.
//! Byte j holds element j in its low nibble and element j + 16 in its high nibble.

use super::{f16_le, to_f16_le, QK};
use bytemuck::{Pod, Zeroable};

#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ4_0 {
    pub d: [u8; 2],
    pub qs: [u8; QK / 2],
}

impl BlockQ4_0 {
    /// llama.cpp's `quantize_row_q4_0_ref`: the scale maps the largest-magnitude value to -8.
    /// Byte-for-byte what llama.cpp writes; [`BlockQ4_0::quantize_best`] is more accurate.
    pub fn quantize(x: &[f32; QK]) -> Self {
        let mut amax = 0f32;
        let mut max = 0f32;
        for &v in x {
            if v.abs() > amax {
                amax = v.abs();
                max = v;
            }
        }
        let d = max / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let mut qs = [0u8; QK / 2];
        for (j, q) in qs.iter_mut().enumerate() {
            let lo = ((x[j] * id + 8.5) as i8).min(15) as u8;
            let hi = ((x[j + QK / 2] * id + 8.5) as i8).min(15) as u8;
            *q = lo | (hi << 4);
        }
        BlockQ4_0 { d: to_f16_le(d), qs }
    }

    /// The same layout with a searched scale: the reference maps the largest-magnitude value
    /// to exactly -8, which wastes a level whenever the block's other values sit between
    /// grid points. Here a set of candidate scales around `amax / 8` (both signs) is tried;
    /// for each, the values are rounded, the scale is refit by least squares for that
    /// rounding (twice, re-rounding in between), and the block with the smallest squared
    /// error, measured after the scale is stored as f16, wins. The reference block is one of
    /// the candidates, so the error is never larger than the reference's.
    pub fn quantize_best(x: &[f32; QK]) -> Self {
        let mut best = Self::quantize(x);
        let mut best_err = sq_err(x, &best);
        let max = x.iter().fold(0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
        if max == 0.0 || best_err == 0.0 {
            return best;
        }
        // The largest-magnitude value lands on level v: -9 ..= -6 (the reference's side,
        // -8, is in the middle) or 6 ..= 7.5 (the other sign's 7 levels).
        let levels = (0..=24)
            .map(|k| -9.0 + 0.125 * k as f32)
            .chain((0..=12).map(|k| 6.0 + 0.125 * k as f32));
        for v in levels {
            let mut id = v / max;
            for _ in 0..2 {
                let (q, d) = round_and_fit(x, id);
                if d == 0.0 {
                    break;
                }
                let b = pack(d, &q);
                let err = sq_err(x, &b);
                if err < best_err {
                    best_err = err;
                    best = b;
                }
                id = 1.0 / d;
            }
        }
        best
    }

    pub fn dequantize(&self, out: &mut [f32; QK]) {
        let d = f16_le(self.d);
        for (j, q) in self.qs.iter().enumerate() {
            out[j] = ((q & 0x0f) as i32 - 8) as f32 * d;
            out[j + QK / 2] = ((q >> 4) as i32 - 8) as f32 * d;
        }
    }
}

/// Levels `round(x * id)` clamped to -8..=7, and the least-squares scale for them.
fn round_and_fit(x: &[f32; QK], id: f32) -> ([i8; QK], f32) {
    let mut q = [0i8; QK];
    let (mut sxq, mut sqq) = (0f32, 0f32);
    for (q, &v) in q.iter_mut().zip(x) {
        let l = (v * id).round().clamp(-8.0, 7.0);
        *q = l as i8;
        sxq += v * l;
        sqq += l * l;
    }
    (q, if sqq > 0.0 { sxq / sqq } else { 0.0 })
}

fn pack(d: f32, q: &[i8; QK]) -> BlockQ4_0 {
    let mut qs = [0u8; QK / 2];
    for (j, b) in qs.iter_mut().enumerate() {
        *b = (q[j] + 8) as u8 | (((q[j + QK / 2] + 8) as u8) << 4);
    }
    BlockQ4_0 { d: to_f16_le(d), qs }
}

/// Squared error of `b` against `x`, through the dequantizer (so with the f16 scale).
fn sq_err(x: &[f32; QK], b: &BlockQ4_0) -> f32 {
    let mut y = [0f32; QK];
    b.dequantize(&mut y);
    x.iter().zip(&y).map(|(a, b)| (a - b) * (a - b)).sum()
}
