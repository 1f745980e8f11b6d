//! `x[m, k] · w[n, k]ᵀ + bias` with the weight in its file type.
//!
//! Q8_0 / Q4_0 weights: each activation row is quantized once to Q8_0 (kept with f32
//! scales, [`ActQ8_0`]) and every 32-block is an
//! exact integer dot times the two scales. Q4_1 weights pair with Q8_1 activations, whose
//! `s = d·Σq` folds in the weight minimum. F32 weights use an f32 dot in place; F16 weights use
//! the f16·f32 kernel for a few rows, else each weight row is converted once per tile of
//! activation rows (as is any other type, e.g. Q8_1).
//!
//! Loop order: activation rows are taken in tiles of [`ROW_TILE`]; for each tile every weight
//! row is streamed once and dotted against all rows of the tile while it sits in L1. Where the
//! kernel set has a Q8_0 tile kernel (simd128), activations are laid out four rows at a time,
//! already widened ([`ActQ8_0x4`]), and two weight rows are dotted against each such tile.

use super::parallel::{for_ranges, SharedOut};
use super::simd::{ActQ8_0, ActQ8_0x4, ActQ8_1, Kernels};
use crate::error::{AttuneError, Result};
use crate::quant::{as_blocks, dequantize, BlockQ8_0, GgmlType, QK};
use bytemuck::Zeroable;

/// Activation rows dotted against one weight row before moving to the next weight row.
pub const ROW_TILE: usize = 32;
/// The fewest weight rows one thread takes of a split matmul (a few microseconds of work).
const MIN_SPLIT_ROWS: usize = 16;
/// Below this many activation rows F16 weights are dotted directly instead of converted.
const F16_DIRECT_ROWS: usize = 4;

/// Computes `x · wᵀ (+ bias)`: `x` is `[m, k]` f32, `w` is `n` rows of `k` elements of `wty`
/// (raw file bytes), `bias` has `n` values. Returns `[m, n]`.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    kern: &Kernels,
    x: &[f32],
    m: usize,
    k: usize,
    wty: GgmlType,
    w: &[u8],
    n: usize,
    bias: Option<&[f32]>,
) -> Result<Vec<f32>> {
    let bad = |msg: String| Err(AttuneError::InvalidArgument(format!("matmul: {msg}")));
    if m.checked_mul(k) != Some(x.len()) {
        return bad(format!("x has {} values, not {m} x {k}", x.len()));
    }
    if k % wty.block_elems() != 0 {
        return bad(format!(
            "k = {k} is not a multiple of the {} block size {}",
            wty.name(),
            wty.block_elems()
        ));
    }
    let row_bytes = wty.bytes_for(k)?;
    if row_bytes.checked_mul(n) != Some(w.len()) {
        return bad(format!("weight has {} bytes, not {n} rows of {k} {}", w.len(), wty.name()));
    }
    if let Some(b) = bias {
        if b.len() != n {
            return bad(format!("bias has {} values, expected {n}", b.len()));
        }
    }
    let out_len = m.checked_mul(n).ok_or_else(|| AttuneError::InputTooLarge("matmul output".into()))?;
    let mut out = vec![0f32; out_len];
    if out_len > 0 {
        let kb = k / QK;
        match wty {
            GgmlType::F32 => match bytemuck::try_cast_slice::<u8, f32>(w) {
                Ok(wf) => tiled(&mut out, m, n, |i, j| (kern.dot_f32)(&x[i * k..][..k], &wf[j * k..][..k])),
                // A weight not 4-byte aligned in the file: convert row by row instead.
                Err(_) => via_f32_rows(kern, &mut out, x, m, k, wty, w, n)?,
            },
            GgmlType::F16 if m < F16_DIRECT_ROWS => tiled(&mut out, m, n, |i, j| {
                (kern.dot_f16_f32)(&w[j * row_bytes..][..row_bytes], &x[i * k..][..k])
            }),
            GgmlType::Q8_0 => match kern.tile_q8_0 {
                Some(tile) if m >= 2 => tiled_q8_0(&mut out, x, m, kb, w, n, tile),
                _ => quantized(&mut out, x, m, kb, w, n, ActQ8_0::quantize, kern.dot_q8_0, kern.dot4_q8_0),
            },
            GgmlType::Q4_0 => {
                quantized(&mut out, x, m, kb, w, n, ActQ8_0::quantize, kern.dot_q4_0, kern.dot4_q4_0)
            }
            GgmlType::Q4_1 => {
                quantized(&mut out, x, m, kb, w, n, ActQ8_1::quantize, kern.dot_q4_1, kern.dot4_q4_1)
            }
            GgmlType::F16 | GgmlType::Q8_1 => via_f32_rows(kern, &mut out, x, m, k, wty, w, n)?,
        }
    }
    if let Some(b) = bias {
        for row in out.chunks_exact_mut(n.max(1)) {
            row.iter_mut().zip(b).for_each(|(o, b)| *o += b);
        }
    }
    Ok(out)
}

/// As [`matmul`], but activations stay f32 for every weight type: each weight row is
/// dequantized and dotted in f32 (no Q8_0/Q8_1 rounding of `x`). Slower; for checking a model
/// against float references.
#[allow(clippy::too_many_arguments)]
pub fn matmul_float_activations(
    kern: &Kernels,
    x: &[f32],
    m: usize,
    k: usize,
    wty: GgmlType,
    w: &[u8],
    n: usize,
    bias: Option<&[f32]>,
) -> Result<Vec<f32>> {
    if matches!(wty, GgmlType::F32 | GgmlType::F16) {
        return matmul(kern, x, m, k, wty, w, n, bias);
    }
    // Shape checks: the regular kernel on no rows.
    matmul(kern, &[], 0, k, wty, w, n, bias)?;
    if m.checked_mul(k) != Some(x.len()) {
        return Err(AttuneError::InvalidArgument(format!("matmul: x has {} values, not {m} x {k}", x.len())));
    }
    let mut out = vec![0f32; m.checked_mul(n).ok_or_else(|| AttuneError::InputTooLarge("matmul output".into()))?];
    if !out.is_empty() {
        via_f32_rows(kern, &mut out, x, m, k, wty, w, n)?;
    }
    if let Some(b) = bias {
        for row in out.chunks_exact_mut(n.max(1)) {
            row.iter_mut().zip(b).for_each(|(o, b)| *o += b);
        }
    }
    Ok(out)
}

/// Quantizes `x` (a multiple of 32 values) into blocks.
pub fn quantize_rows<B>(x: &[f32], f: fn(&[f32; QK]) -> B) -> Vec<B> {
    x.chunks_exact(QK).map(|c| f(c.try_into().expect("chunks_exact yields QK values"))).collect()
}

#[inline(always)]
/// A quantized-weight matmul: each activation row is quantized once (`quant`), then every
/// weight row (`kb` blocks of `W`) is dotted against four activation rows at a time.
#[allow(clippy::too_many_arguments)]
fn quantized<W: bytemuck::Pod + Sync, A: Sync>(
    out: &mut [f32],
    x: &[f32],
    m: usize,
    kb: usize,
    w: &[u8],
    n: usize,
    quant: fn(&[f32; QK]) -> A,
    dot: fn(&[W], &[A]) -> f32,
    dot4: fn(&[W], [&[A]; 4]) -> [f32; 4],
) {
    let xq = quantize_rows(x, quant);
    let wb = as_blocks::<W>(w);
    let xr = |i: usize| &xq[i * kb..][..kb];
    let wr = |j: usize| &wb[j * kb..][..kb];
    tiled4(out, m, n, |i, j| dot(wr(j), xr(i)), |i, j| dot4(wr(j), [xr(i), xr(i + 1), xr(i + 2), xr(i + 3)]));
}

/// A Q8_0 matmul through a tile kernel: activation rows are quantized once and laid out four
/// at a time ([`ActQ8_0x4`], the last tile padded with zero rows, whose results are dropped).
fn tiled_q8_0(
    out: &mut [f32],
    x: &[f32],
    m: usize,
    kb: usize,
    w: &[u8],
    n: usize,
    tile: fn([&[BlockQ8_0]; 2], &[ActQ8_0x4]) -> [[f32; 4]; 2],
) {
    let tiles = m.div_ceil(4);
    let mut xt = vec![ActQ8_0x4::zeroed(); tiles * kb];
    let tiled = SharedOut::new(&mut xt);
    // Each tile's four rows quantized and laid out by one thread (where the build has them).
    for_ranges(tiles, 2, |ts| {
        for t in ts {
            // SAFETY: tile t's blocks are this call's alone.
            let out = unsafe { tiled.slice(t * kb..(t + 1) * kb) };
            for (b, o) in out.iter_mut().enumerate() {
                let blocks: [Option<ActQ8_0>; 4] = std::array::from_fn(|r| {
                    let at = ((4 * t + r) * kb + b) * QK;
                    (4 * t + r < m).then_some(()).and_then(|()| x[at..].first_chunk::<QK>()).map(ActQ8_0::quantize)
                });
                *o = ActQ8_0x4::from_rows(blocks.each_ref().map(Option::as_ref));
            }
        }
    });
    let wb = as_blocks::<BlockQ8_0>(w);
    let wr = |j: usize| &wb[j * kb..][..kb];
    let shared = SharedOut::new(out);
    // Threads (where the build has them) take ranges of weight rows, i.e. output columns.
    for_ranges(n.div_ceil(2), MIN_SPLIT_ROWS / 2, |pairs| {
        for t0 in (0..tiles).step_by(ROW_TILE / 4) {
            let t1 = (t0 + ROW_TILE / 4).min(tiles);
            for j in pairs.clone().map(|p| 2 * p) {
                // An odd last weight row is paired with itself and its copy dropped.
                let j1 = (j + 1).min(n - 1);
                for t in t0..t1 {
                    let r = tile([wr(j), wr(j1)], &xt[t * kb..][..kb]);
                    for (jj, r) in [j, j1].into_iter().zip(r).take(j1 + 1 - j) {
                        for (u, v) in r.into_iter().enumerate().take(m - 4 * t) {
                            // SAFETY: this range of weight rows is this call's alone, so the
                            // output columns jj are too.
                            unsafe { shared.set((4 * t + u) * n + jj, v) };
                        }
                    }
                }
            }
        }
    });
}

/// `out[i, j] = dot(i, j)`, tiles of activation rows outside, weight rows inside.
fn tiled(out: &mut [f32], m: usize, n: usize, dot: impl Fn(usize, usize) -> f32) {
    for i0 in (0..m).step_by(ROW_TILE) {
        let i1 = (i0 + ROW_TILE).min(m);
        for j in 0..n {
            for i in i0..i1 {
                out[i * n + j] = dot(i, j);
            }
        }
    }
}

/// As [`tiled`], four activation rows per kernel call where the tile has four left; threads
/// (where the build has them) take ranges of weight rows.
#[inline(always)]
fn tiled4(
    out: &mut [f32],
    m: usize,
    n: usize,
    dot: impl Fn(usize, usize) -> f32 + Sync,
    dot4: impl Fn(usize, usize) -> [f32; 4] + Sync,
) {
    let shared = SharedOut::new(out);
    for_ranges(n, MIN_SPLIT_ROWS, |js| {
        // SAFETY (every `set` below): this range of weight rows, so of output columns, is
        // this call's alone.
        for i0 in (0..m).step_by(ROW_TILE) {
            let i1 = (i0 + ROW_TILE).min(m);
            for j in js.clone() {
                let mut i = i0;
                while i + 4 <= i1 {
                    let r = dot4(i, j);
                    for (u, v) in r.into_iter().enumerate() {
                        unsafe { shared.set((i + u) * n + j, v) };
                    }
                    i += 4;
                }
                while i < i1 {
                    unsafe { shared.set(i * n + j, dot(i, j)) };
                    i += 1;
                }
            }
        }
    });
}

/// Any weight type: each weight row is dequantized to f32 once per tile of activation rows.
#[allow(clippy::too_many_arguments)]
fn via_f32_rows(
    kern: &Kernels,
    out: &mut [f32],
    x: &[f32],
    m: usize,
    k: usize,
    wty: GgmlType,
    w: &[u8],
    n: usize,
) -> Result<()> {
    let row_bytes = wty.bytes_for(k)?;
    let mut row = vec![0f32; k];
    for i0 in (0..m).step_by(ROW_TILE) {
        let i1 = (i0 + ROW_TILE).min(m);
        for j in 0..n {
            dequantize(wty, &w[j * row_bytes..][..row_bytes], &mut row)?;
            for i in i0..i1 {
                out[i * n + j] = (kern.dot_f32)(&x[i * k..][..k], &row);
            }
        }
    }
    Ok(())
}
