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
    /// llama.cpp's `quantize_row_q4_1_ref`.
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

    pub fn dequantize(&self, out: &mut [f32; QK]) {
        let d = f16_le(self.d);
        let m = f16_le(self.m);
        for (j, q) in self.qs.iter().enumerate() {
            out[j] = (q & 0x0f) as f32 * d + m;
            out[j + QK / 2] = (q >> 4) as f32 * d + m;
        }
    }
}
