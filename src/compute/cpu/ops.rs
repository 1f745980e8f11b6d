//! Row-wise and elementwise ops on host f32 matrices. Shapes are validated by the backend
//! before these run; here the functions only rely on `x.len() == rows * cols`.

use super::vmath;
use crate::error::{AttuneError, Result};

fn invalid<T>(msg: String) -> Result<T> {
    Err(AttuneError::InvalidArgument(msg))
}

/// Numerically stable softmax in place (subtracts the max). An empty slice is left as is;
/// a row of `-inf` everywhere becomes all zeros rather than NaN. libm's `expf`, summed in
/// order: the decoder's attention uses it, and its greedy outputs are pinned by fixtures.
pub fn softmax(x: &mut [f32]) {
    softmax_with(x, f32::exp, |x| x.iter().sum());
}

/// [`softmax`] with [`vmath::exp`] and eight-lane sums: the loops vectorize (libm's `expf` is
/// a call per element in wasm). Same edge cases; values within a few ulp of [`softmax`]. The
/// encoder's attention uses it.
pub fn softmax_vectorized(x: &mut [f32]) {
    softmax_with(x, vmath::exp, sum8);
}

#[inline(always)]
fn softmax_with(x: &mut [f32], exp: impl Fn(f32) -> f32, sum: impl Fn(&[f32]) -> f32) {
    // A compare-and-select maximum (NaN skipped, as `f32::max` does) that vectorizes.
    let max = x.iter().fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    if max == f32::NEG_INFINITY {
        x.iter_mut().for_each(|v| *v = 0.0);
        return;
    }
    x.iter_mut().for_each(|v| *v = exp(*v - max));
    let inv = 1.0 / sum(x);
    x.iter_mut().for_each(|v| *v *= inv);
}

/// Sum of a slice with eight independent partial sums (vectorizes, and rounds less than a
/// single running sum).
#[inline]
fn sum8(x: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let c = x.chunks_exact(8);
    let tail: f32 = c.remainder().iter().sum();
    for ch in c {
        for l in 0..8 {
            acc[l] += ch[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Sum of squares, same lane layout as [`sum8`].
#[inline]
fn sum_sq8(x: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let c = x.chunks_exact(8);
    let tail: f32 = c.remainder().iter().map(|v| v * v).sum();
    for ch in c {
        for l in 0..8 {
            acc[l] += ch[l] * ch[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `a + b`, same lengths.
pub fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// Layer normalization of each `cols`-wide row (two-pass mean and biased variance in f32),
/// then `* gamma + beta`.
pub fn layer_norm(x: &[f32], cols: usize, gamma: &[f32], beta: &[f32], eps: f32) -> Result<Vec<f32>> {
    if gamma.len() != cols || beta.len() != cols {
        return invalid(format!(
            "layer_norm: gamma has {} and beta {} values for rows of {cols}",
            gamma.len(),
            beta.len()
        ));
    }
    if !(eps >= 0.0 && eps.is_finite()) {
        return invalid(format!("layer_norm: eps {eps} must be finite and >= 0"));
    }
    let mut out = vec![0f32; x.len()];
    if cols == 0 {
        return Ok(out);
    }
    let mut centered = vec![0f32; cols];
    for (row, o) in x.chunks_exact(cols).zip(out.chunks_exact_mut(cols)) {
        let mean = sum8(row) / cols as f32;
        centered.iter_mut().zip(row).for_each(|(c, v)| *c = v - mean);
        let var = sum_sq8(&centered) / cols as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for (((o, c), g), b) in o.iter_mut().zip(&centered).zip(gamma).zip(beta) {
            *o = c * inv * g + b;
        }
    }
    Ok(out)
}

/// GELU, the exact (erf) form: `x/2 · (1 + erf(x/√2))` ([`vmath::one_plus_erf`], the
/// formula of the GPU kernel).
#[inline(always)]
pub fn gelu_scalar(x: f32) -> f32 {
    0.5 * x * vmath::one_plus_erf(x * std::f32::consts::FRAC_1_SQRT_2)
}

/// GELU of every element in place.
pub fn gelu(x: &mut [f32]) {
    // Element-wise, so split across threads (where there are) in pieces of at least 4096.
    super::parallel::for_pieces(x, 4096, |x| x.iter_mut().for_each(|v| *v = gelu_scalar(*v)));
}

/// Mean of each sequence's rows, sequence `b` being rows `bounds[b]..bounds[b + 1]`:
/// `[rows, d]` → `[bounds.len() - 1, d]`. The caller has checked `bounds` against the rows.
pub fn mean_pool(x: &[f32], d: usize, bounds: &[u32]) -> Vec<f32> {
    let seqs = bounds.len().saturating_sub(1);
    let mut out = vec![0f32; seqs * d];
    if d == 0 {
        return out;
    }
    for (o, w) in out.chunks_exact_mut(d).zip(bounds.windows(2)) {
        let (start, len) = (w[0] as usize, (w[1] - w[0]) as usize);
        if len == 0 {
            continue;
        }
        for row in x[start * d..][..len * d].chunks_exact(d) {
            o.iter_mut().zip(row).for_each(|(o, v)| *o += v);
        }
        let inv = 1.0 / len as f32;
        o.iter_mut().for_each(|v| *v *= inv);
    }
    out
}

/// Scales every `cols`-wide row to unit L2 norm in place; a zero row stays zero.
pub fn l2_normalize(x: &mut [f32], cols: usize) {
    if cols == 0 {
        return;
    }
    for row in x.chunks_exact_mut(cols) {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|v| *v /= norm);
        }
    }
}

/// RMS normalization of each `cols`-wide row: `x / sqrt(mean(x²) + eps) * gamma`.
pub fn rms_norm(x: &[f32], cols: usize, gamma: &[f32], eps: f32) -> Result<Vec<f32>> {
    if gamma.len() != cols {
        return invalid(format!("rms_norm: gamma has {} values for rows of {cols}", gamma.len()));
    }
    if !(eps >= 0.0 && eps.is_finite()) {
        return invalid(format!("rms_norm: eps {eps} must be finite and >= 0"));
    }
    let mut out = vec![0f32; x.len()];
    if cols == 0 {
        return Ok(out);
    }
    for (row, o) in x.chunks_exact(cols).zip(out.chunks_exact_mut(cols)) {
        let ms = sum_sq8(row) / cols as f32;
        let inv = 1.0 / (ms + eps).sqrt();
        for ((o, v), g) in o.iter_mut().zip(row).zip(gamma) {
            *o = v * inv * g;
        }
    }
    Ok(out)
}

/// `silu(g) * u = g / (1 + e^-g) * u`, equal lengths.
pub fn swiglu(gate: &[f32], up: &[f32]) -> Vec<f32> {
    gate.iter().zip(up).map(|(&g, &u)| g / (1.0 + (-g).exp()) * u).collect()
}

/// Rotary embedding in place of `[positions.len(), heads * head_dim]` (spec checked by the
/// caller). Angles are computed in f64, so long positions lose no precision.
pub fn rope(x: &mut [f32], positions: &[u32], spec: &crate::compute::RopeSpec) {
    use crate::compute::RopeStyle;
    let (hd, half) = (spec.head_dim, spec.rot_dims / 2);
    let cols = spec.heads * hd;
    if cols == 0 || half == 0 {
        return;
    }
    let inv_freq: Vec<f64> = (0..half)
        .map(|i| (spec.freq_base as f64).powf(-2.0 * i as f64 / spec.rot_dims as f64))
        .collect();
    let mut cs = vec![(0f32, 0f32); half];
    for (row, &p) in x.chunks_exact_mut(cols).zip(positions) {
        for (c, f) in cs.iter_mut().zip(&inv_freq) {
            let a = p as f64 * f;
            *c = (a.cos() as f32, a.sin() as f32);
        }
        for head in row.chunks_exact_mut(hd) {
            for (i, &(c, s)) in cs.iter().enumerate() {
                let (a, b) = match spec.style {
                    RopeStyle::Adjacent => (2 * i, 2 * i + 1),
                    RopeStyle::Halves => (i, i + half),
                };
                let (x0, x1) = (head[a], head[b]);
                head[a] = x0 * c - x1 * s;
                head[b] = x0 * s + x1 * c;
            }
        }
    }
}
