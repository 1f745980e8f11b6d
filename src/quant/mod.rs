//! Tensor element types and quantized block formats, byte-for-byte as ggml (llama.cpp) lays
//! them out. Shared by the model files (GGUF read/write, conversion) and the compute backends
//! (kernels dequantize these blocks on the fly), so it sits below both.
//!
//! Every block struct is `#[repr(C)]` of byte arrays only (alignment 1), so a weight slice
//! borrowed straight out of a model file can be viewed as blocks whatever its address.

mod q4_0;
mod q4_1;
mod q8_0;

pub use q4_0::BlockQ4_0;
pub use q4_1::BlockQ4_1;
pub use q8_0::{BlockQ8_0, BlockQ8_1};

use crate::error::{AttuneError, Result};
use half::f16;

/// Elements per block of the 32-wide quant formats.
pub const QK: usize = 32;

/// ggml's tensor types. The discriminants are the on-disk ids GGUF uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum GgmlType {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q8_0 = 8,
    Q8_1 = 9,
}

impl GgmlType {
    /// The type for an on-disk id, or `None` for ids this build does not know.
    pub fn from_id(id: u32) -> Option<GgmlType> {
        Some(match id {
            0 => GgmlType::F32,
            1 => GgmlType::F16,
            2 => GgmlType::Q4_0,
            3 => GgmlType::Q4_1,
            8 => GgmlType::Q8_0,
            9 => GgmlType::Q8_1,
            _ => return None,
        })
    }

    pub fn id(self) -> u32 {
        self as u32
    }

    pub fn name(self) -> &'static str {
        match self {
            GgmlType::F32 => "F32",
            GgmlType::F16 => "F16",
            GgmlType::Q4_0 => "Q4_0",
            GgmlType::Q4_1 => "Q4_1",
            GgmlType::Q8_0 => "Q8_0",
            GgmlType::Q8_1 => "Q8_1",
        }
    }

    /// Elements per block (1 for the float types).
    pub fn block_elems(self) -> usize {
        match self {
            GgmlType::F32 | GgmlType::F16 => 1,
            _ => QK,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        match self {
            GgmlType::F32 => 4,
            GgmlType::F16 => 2,
            GgmlType::Q4_0 => std::mem::size_of::<BlockQ4_0>(),
            GgmlType::Q4_1 => std::mem::size_of::<BlockQ4_1>(),
            GgmlType::Q8_0 => std::mem::size_of::<BlockQ8_0>(),
            GgmlType::Q8_1 => std::mem::size_of::<BlockQ8_1>(),
        }
    }

    /// Bytes taken by `n` elements, or an error when `n` is not a whole number of blocks or the
    /// size overflows.
    pub fn bytes_for(self, n: usize) -> Result<usize> {
        let be = self.block_elems();
        if n % be != 0 {
            return Err(AttuneError::ModelFormat(format!(
                "{} elements is not a whole number of {} blocks of {be}",
                n,
                self.name()
            )));
        }
        (n / be)
            .checked_mul(self.block_bytes())
            .ok_or_else(|| AttuneError::ModelFormat("tensor size overflows".into()))
    }
}

/// Dequantizes `src` (exactly `dst.len()` elements of type `ty`) into `dst`.
/// This is the portable reference that every kernel is tested against.
pub fn dequantize(ty: GgmlType, src: &[u8], dst: &mut [f32]) -> Result<()> {
    let need = ty.bytes_for(dst.len())?;
    if src.len() != need {
        return Err(AttuneError::InvalidArgument(format!(
            "{} data of {} bytes for {} elements (expected {need})",
            ty.name(),
            src.len(),
            dst.len()
        )));
    }
    match ty {
        GgmlType::F32 => {
            for (d, s) in dst.iter_mut().zip(src.chunks_exact(4)) {
                *d = f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
            }
        }
        GgmlType::F16 => {
            for (d, s) in dst.iter_mut().zip(src.chunks_exact(2)) {
                *d = f16_le([s[0], s[1]]);
            }
        }
        GgmlType::Q4_0 => blocks_into::<BlockQ4_0>(src, dst, BlockQ4_0::dequantize),
        GgmlType::Q4_1 => blocks_into::<BlockQ4_1>(src, dst, BlockQ4_1::dequantize),
        GgmlType::Q8_0 => blocks_into::<BlockQ8_0>(src, dst, BlockQ8_0::dequantize),
        GgmlType::Q8_1 => blocks_into::<BlockQ8_1>(src, dst, BlockQ8_1::dequantize),
    }
    Ok(())
}

/// Quantizes `src` into a new byte vector of type `ty` (llama.cpp's reference rounding, so
/// files we write hold the same bytes llama.cpp would write).
pub fn quantize(ty: GgmlType, src: &[f32]) -> Result<Vec<u8>> {
    quantize_with(ty, src, BlockQ4_0::quantize, BlockQ4_1::quantize)
}

/// Quantizes `src` into a new byte vector of type `ty` as accurately as this crate can in
/// ggml's block layouts: Q4_0 and Q4_1 get a searched scale (and minimum) per block that
/// minimizes the squared error ([`BlockQ4_0::quantize_best`], [`BlockQ4_1::quantize_best`]),
/// so their bytes differ from llama.cpp's though every ggml reader reads them the same way;
/// the other types round as [`quantize`] does (for them the reference is already as good).
pub fn quantize_best(ty: GgmlType, src: &[f32]) -> Result<Vec<u8>> {
    quantize_with(ty, src, BlockQ4_0::quantize_best, BlockQ4_1::quantize_best)
}

fn quantize_with(
    ty: GgmlType,
    src: &[f32],
    q4_0: fn(&[f32; QK]) -> BlockQ4_0,
    q4_1: fn(&[f32; QK]) -> BlockQ4_1,
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(ty.bytes_for(src.len())?);
    match ty {
        GgmlType::F32 => src.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        GgmlType::F16 => src
            .iter()
            .for_each(|x| out.extend_from_slice(&f16::from_f32(*x).to_le_bytes())),
        GgmlType::Q4_0 => blocks_from(src, &mut out, q4_0),
        GgmlType::Q4_1 => blocks_from(src, &mut out, q4_1),
        GgmlType::Q8_0 => blocks_from(src, &mut out, BlockQ8_0::quantize),
        GgmlType::Q8_1 => blocks_from(src, &mut out, BlockQ8_1::quantize),
    }
    Ok(out)
}

/// Views raw bytes as blocks. `bytes.len()` must be a multiple of the block size.
pub fn as_blocks<B: bytemuck::Pod>(bytes: &[u8]) -> &[B] {
    bytemuck::cast_slice(bytes)
}

fn blocks_into<B: bytemuck::Pod>(src: &[u8], dst: &mut [f32], f: fn(&B, &mut [f32; QK])) {
    for (b, d) in as_blocks::<B>(src).iter().zip(dst.chunks_exact_mut(QK)) {
        let d: &mut [f32; QK] = d.try_into().expect("chunks_exact yields QK elements");
        f(b, d);
    }
}

fn blocks_from<B: bytemuck::Pod>(src: &[f32], out: &mut Vec<u8>, f: fn(&[f32; QK]) -> B) {
    for s in src.chunks_exact(QK) {
        let s: &[f32; QK] = s.try_into().expect("chunks_exact yields QK elements");
        out.extend_from_slice(bytemuck::bytes_of(&f(s)));
    }
}

/// Reads a little-endian f16 stored as two bytes.
#[inline(always)]
pub fn f16_le(b: [u8; 2]) -> f32 {
    f16_bits_to_f32(u16::from_le_bytes(b))
}

/// f16 bits → f32, exact, branch-free (the `half` crate converts in software on wasm32, with
/// branches, which showed in every quantized dot). Normal and subnormal halves: the 15 value
/// bits shifted into an f32 are the same number scaled by 2^-112 (an f16 subnormal lands on an
/// f32 subnormal), so one multiply by 2^112 restores it exactly. Inf and NaN (exponent 31) get
/// the all-ones f32 exponent; a NaN is quieted, as `half` and F16C do.
#[inline(always)]
pub fn f16_bits_to_f32(h: u16) -> f32 {
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    let em = h & 0x7fff;
    let finite = (f32::from_bits(em << 13) * f32::from_bits(0x7780_0000)).to_bits();
    let special = (em << 13) | 0x7f80_0000 | if em > 0x7c00 { 0x0040_0000 } else { 0 };
    f32::from_bits(sign | if em >= 0x7c00 { special } else { finite })
}

/// Stores `x` as two little-endian f16 bytes.
#[inline(always)]
pub fn to_f16_le(x: f32) -> [u8; 2] {
    f16::from_f32(x).to_le_bytes()
}

#[cfg(test)]
mod tests;
