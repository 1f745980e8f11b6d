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

    pub fn dequantize(&self, out: &mut [f32; QK]) {
        let d = f16_le(self.d);
        for (j, q) in self.qs.iter().enumerate() {
            out[j] = ((q & 0x0f) as i32 - 8) as f32 * d;
            out[j + QK / 2] = ((q >> 4) as i32 - 8) as f32 * d;
        }
    }
}
