//! Q8_0 (weights) and Q8_1 (activations paired with Q4_1): 32 signed bytes and one f16 scale;
//! Q8_1 also keeps `d * sum(qs)` so a Q4_1 dot product can fold in the weight's offset.

use super::{f16_le, to_f16_le, QK};
use bytemuck::{Pod, Zeroable};

#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ8_0 {
    pub d: [u8; 2],
    pub qs: [i8; QK],
}

#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ8_1 {
    pub d: [u8; 2],
    pub s: [u8; 2],
    pub qs: [i8; QK],
}

/// Scale and rounded values of one block, llama.cpp's `quantize_row_q8_0_ref` rounding.
#[inline]
fn q8(x: &[f32; QK]) -> (f32, [i8; QK]) {
    // The largest |x| through the bits: for non-negative floats the integer order is the float
    // order, and an integer maximum vectorizes (`f32::max` is a libm call per element in wasm,
    // whose NaN rule differs from `f32.max`). NaN counts as 0, as it did with `f32::max`.
    let mut lanes = [0u32; 8];
    for c in x.chunks_exact(8) {
        for (m, v) in lanes.iter_mut().zip(c) {
            let b = v.to_bits() & 0x7fff_ffff;
            *m = (*m).max(if b > 0x7f80_0000 { 0 } else { b });
        }
    }
    let amax = f32::from_bits(lanes.into_iter().max().unwrap_or(0));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let mut qs = [0i8; QK];
    for (q, v) in qs.iter_mut().zip(x) {
        *q = round_i8(v * id);
    }
    (d, qs)
}

/// `v.round() as i8` (ties away from zero, as C's `roundf`, saturating; NaN is 0), without the
/// libm call `f32::round` becomes on baseline x86-64 and wasm: truncate, then step away from
/// zero when the remainder is at least one half (`v - trunc(v)` is exact). Vectorizes;
/// activation rows are quantized with it before every quantized matmul. The truncation is
/// clamped first: a block of subnormals makes `v` infinite, and `i32::MAX + 1` must not wrap.
#[inline(always)]
pub(crate) fn round_i8(v: f32) -> i8 {
    let t = (v as i32).clamp(-128, 127);
    let r = v - t as f32;
    (t + (r >= 0.5) as i32 - (r <= -0.5) as i32).clamp(-128, 127) as i8
}

impl BlockQ8_0 {
    pub fn quantize(x: &[f32; QK]) -> Self {
        let (d, qs) = q8(x);
        BlockQ8_0 { d: to_f16_le(d), qs }
    }

    pub fn dequantize(&self, out: &mut [f32; QK]) {
        let d = f16_le(self.d);
        for (o, q) in out.iter_mut().zip(self.qs) {
            *o = q as f32 * d;
        }
    }
}

impl BlockQ8_1 {
    pub fn quantize(x: &[f32; QK]) -> Self {
        let (d, qs) = q8(x);
        let sum: i32 = qs.iter().map(|&q| q as i32).sum();
        BlockQ8_1 { d: to_f16_le(d), s: to_f16_le(d * sum as f32), qs }
    }

    pub fn dequantize(&self, out: &mut [f32; QK]) {
        let d = f16_le(self.d);
        for (o, q) in out.iter_mut().zip(self.qs) {
            *o = q as f32 * d;
        }
    }
}
