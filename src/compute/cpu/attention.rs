//! Scaled dot-product attention over a packed batch, per [`AttentionSpec`].

use super::ops::{softmax, softmax_vectorized};
use super::simd::Kernels;
use crate::compute::{check_bounds, AttentionSpec, CachedAttentionSpec};
use crate::error::{AttuneError, Result};

/// Checks `spec` against q/k/v of shape `[rows, cols]`.
pub fn validate(spec: &AttentionSpec, rows: usize, cols: usize) -> Result<()> {
    let bad = |msg: String| Err(AttuneError::InvalidArgument(format!("attention: {msg}")));
    check_bounds(&spec.bounds, rows)?;
    if spec.heads.checked_mul(spec.head_dim) != Some(cols) {
        return bad(format!("{cols} cols, expected heads {} x head_dim {}", spec.heads, spec.head_dim));
    }
    if !spec.scale.is_finite() {
        return bad(format!("scale {} is not finite", spec.scale));
    }
    Ok(())
}

/// `softmax(q·kᵀ · scale + mask) · v` for every sequence and head. A query sees the keys of its
/// own sequence only (and, when causal, none after itself). q, k, v are
/// `[rows, heads * head_dim]` and already validated with [`validate`].
pub fn attention(kern: &Kernels, q: &[f32], k: &[f32], v: &[f32], spec: &AttentionSpec) -> Vec<f32> {
    let hd = spec.head_dim;
    let cols = spec.heads * hd;
    let mut out = vec![0f32; q.len()];
    let longest = spec.bounds.windows(2).map(|w| (w[1] - w[0]) as usize).max().unwrap_or(0);
    let mut scores = vec![0f32; longest];
    for w in spec.bounds.windows(2) {
        let (base, len) = (w[0] as usize, (w[1] - w[0]) as usize);
        for h in 0..spec.heads {
            let at = |t: usize| (base + t) * cols + h * hd;
            for i in 0..len {
                let qi = &q[at(i)..][..hd];
                let keys = if spec.causal { i + 1 } else { len };
                let s = &mut scores[..keys];
                for (j, s) in s.iter_mut().enumerate() {
                    *s = (kern.dot_f32)(qi, &k[at(j)..][..hd]) * spec.scale;
                }
                softmax_vectorized(s);
                let o = &mut out[at(i)..][..hd];
                for (j, &p) in s.iter().enumerate() {
                    o.iter_mut().zip(&v[at(j)..][..hd]).for_each(|(o, v)| *o += p * v);
                }
            }
        }
    }
    out
}

/// Causal attention of `q` (`[n, heads * head_dim]`, row `i` at position `past + i`) against
/// the first `past + n` rows of key/value caches of `kv_heads * head_dim` columns, per
/// [`CachedAttentionSpec`] (already validated).
pub fn attention_cached(kern: &Kernels, q: &[f32], k: &[f32], v: &[f32], spec: &CachedAttentionSpec) -> Vec<f32> {
    let hd = spec.head_dim;
    let cols = spec.heads * hd;
    let kv_cols = spec.kv_heads * hd;
    let group = spec.heads / spec.kv_heads;
    let n = if cols == 0 { 0 } else { q.len() / cols };
    let mut out = vec![0f32; q.len()];
    let mut scores = vec![0f32; spec.past + n];
    for i in 0..n {
        let keys = spec.past + i + 1;
        for h in 0..spec.heads {
            let kvh = h / group;
            let qi = &q[i * cols + h * hd..][..hd];
            let s = &mut scores[..keys];
            for (j, s) in s.iter_mut().enumerate() {
                *s = (kern.dot_f32)(qi, &k[j * kv_cols + kvh * hd..][..hd]) * spec.scale;
            }
            softmax(s);
            let o = &mut out[i * cols + h * hd..][..hd];
            for (j, &p) in s.iter().enumerate() {
                o.iter_mut().zip(&v[j * kv_cols + kvh * hd..][..hd]).for_each(|(o, v)| *o += p * v);
            }
        }
    }
    out
}
