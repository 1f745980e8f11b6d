//! Dot-product kernels, one set per instruction set, chosen once at runtime.
//!
//! [`best`] is what the backend uses; [`available`] lists every set this machine can run so
//! tests and benchmarks can compare them against [`portable`].

pub mod portable;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm;
#[cfg(target_arch = "x86_64")]
mod x86;

use crate::quant::{f16_le, BlockQ4_0, BlockQ4_1, BlockQ8_0, BlockQ8_1, QK};
use bytemuck::{Pod, Zeroable};
use std::sync::OnceLock;

/// A Q8_0 activation block as the matmul keeps it in memory: [`BlockQ8_0`] with its f16 scale
/// already widened to f32 (activations never go to disk, and converting the scale once per
/// quantized row instead of once per weight row saves a conversion in every block dot). The
/// scale is the f16-rounded one, so every dot is bit-identical to one over [`BlockQ8_0`].
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct ActQ8_0 {
    pub d: f32,
    pub qs: [i8; QK],
}

/// [`BlockQ8_1`] with both f16 values (`d` and `s = d·Σq`, each f16-rounded) widened to f32.
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct ActQ8_1 {
    pub d: f32,
    pub s: f32,
    pub qs: [i8; QK],
}

/// Four activation rows' Q8_0 blocks side by side, values already widened to i16: the layout
/// of the tiled kernels ([`Kernels::tile_q8_0`]), which then load each row's block as it is
/// dotted instead of widening it again for every weight row. The scales are the f16-rounded
/// ones of [`ActQ8_0`], so results are bit-identical to [`Kernels::dot_q8_0`] row by row.
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct ActQ8_0x4 {
    pub d: [f32; 4],
    pub qs: [[i16; QK]; 4],
}

impl ActQ8_0x4 {
    /// Block `b` of four rows (a row past the matrix is `None` and left zero).
    pub fn from_rows(rows: [Option<&ActQ8_0>; 4]) -> Self {
        let mut t = ActQ8_0x4::zeroed();
        for (r, a) in rows.into_iter().enumerate() {
            if let Some(a) = a {
                t.d[r] = a.d;
                t.qs[r] = a.qs.map(i16::from);
            }
        }
        t
    }
}

impl ActQ8_0 {
    pub fn quantize(x: &[f32; QK]) -> Self {
        Self::from(&BlockQ8_0::quantize(x))
    }
}

impl From<&BlockQ8_0> for ActQ8_0 {
    fn from(b: &BlockQ8_0) -> Self {
        ActQ8_0 { d: f16_le(b.d), qs: b.qs }
    }
}

impl ActQ8_1 {
    pub fn quantize(x: &[f32; QK]) -> Self {
        Self::from(&BlockQ8_1::quantize(x))
    }
}

impl From<&BlockQ8_1> for ActQ8_1 {
    fn from(b: &BlockQ8_1) -> Self {
        ActQ8_1 { d: f16_le(b.d), s: f16_le(b.s), qs: b.qs }
    }
}

/// One instruction set's dot kernels. Operands have equal lengths (a longer one is truncated);
/// quantized weights are the first operand, activations the second (Q8 activations are in
/// [-127, 127], as [`BlockQ8_0::quantize`] makes them).
#[derive(Clone, Copy, Debug)]
pub struct Kernels {
    pub name: &'static str,
    pub dot_f32: fn(&[f32], &[f32]) -> f32,
    /// Little-endian f16 bytes · f32.
    pub dot_f16_f32: fn(&[u8], &[f32]) -> f32,
    pub dot_q8_0: fn(&[BlockQ8_0], &[ActQ8_0]) -> f32,
    pub dot_q4_0: fn(&[BlockQ4_0], &[ActQ8_0]) -> f32,
    pub dot_q4_1: fn(&[BlockQ4_1], &[ActQ8_1]) -> f32,
    /// One weight row against four activation rows at once (the weight block is loaded and
    /// unpacked once for all four); each result equals the single-row kernel's.
    pub dot4_q8_0: fn(&[BlockQ8_0], [&[ActQ8_0]; 4]) -> [f32; 4],
    pub dot4_q4_0: fn(&[BlockQ4_0], [&[ActQ8_0]; 4]) -> [f32; 4],
    pub dot4_q4_1: fn(&[BlockQ4_1], [&[ActQ8_1]; 4]) -> [f32; 4],
    /// Two Q8_0 weight rows against a tile of four activation rows ([`ActQ8_0x4`]): result
    /// `[w][r]`. Where the instruction set gains from the pre-widened layout (simd128 has no
    /// i8 dot instruction, so widening dominated the four-row kernel) and from loading each
    /// activation block once for two weight rows. `None`: the matmul uses `dot4_q8_0`.
    pub tile_q8_0: Option<fn([&[BlockQ8_0]; 2], &[ActQ8_0x4]) -> [[f32; 4]; 2]>,
}

static PORTABLE: Kernels = Kernels {
    name: "portable",
    dot_f32: portable::dot_f32,
    dot_f16_f32: portable::dot_f16_f32,
    dot_q8_0: portable::dot_q8_0,
    dot_q4_0: portable::dot_q4_0,
    dot_q4_1: portable::dot_q4_1,
    dot4_q8_0: |w, x| x.map(|x| portable::dot_q8_0(w, x)),
    dot4_q4_0: |w, x| x.map(|x| portable::dot_q4_0(w, x)),
    dot4_q4_1: |w, x| x.map(|x| portable::dot_q4_1(w, x)),
    tile_q8_0: Some(|w, x| w.map(|w| portable::tile_q8_0(w, x))),
};

/// The plain-Rust reference kernels.
pub fn portable() -> &'static Kernels {
    &PORTABLE
}

/// The fastest kernel set this machine supports (detected once, then cached).
pub fn best() -> &'static Kernels {
    static BEST: OnceLock<&'static Kernels> = OnceLock::new();
    BEST.get_or_init(|| available().last().copied().unwrap_or(&PORTABLE))
}

/// Every kernel set usable here, slowest (portable) first.
pub fn available() -> Vec<&'static Kernels> {
    static SIMD: OnceLock<Option<Kernels>> = OnceLock::new();
    let mut all = vec![&PORTABLE];
    if let Some(k) = SIMD.get_or_init(simd_kernels) {
        all.push(k);
    }
    all
}

#[allow(unreachable_code)]
fn simd_kernels() -> Option<Kernels> {
    #[cfg(target_arch = "x86_64")]
    return x86::kernels();
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return wasm::kernels();
    None
}

#[cfg(test)]
pub(crate) mod tests;
