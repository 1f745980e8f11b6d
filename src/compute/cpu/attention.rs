//! Scaled dot-product attention over a padded batch, per [`AttentionSpec`].

use super::ops::softmax;
use super::simd::Kernels;
use crate::compute::AttentionSpec;
use crate::error::{AttuneError, Result};

/// Checks `spec` against q/k/v of shape `[rows, cols]`.
pub fn validate(spec: &AttentionSpec, rows: usize, cols: usize) -> Result<()> {
    let bad = |msg: String| Err(AttuneError::InvalidArgument(format!("attention: {msg}")));
    if spec.lens.len() != spec.batch {
        return bad(format!("{} lens for a batch of {}", spec.lens.len(), spec.batch));
    }
    if spec.batch.checked_mul(spec.seq) != Some(rows) {
        return bad(format!("{rows} rows, expected batch {} x seq {}", spec.batch, spec.seq));
    }
    if spec.heads.checked_mul(spec.head_dim) != Some(cols) {
        return bad(format!("{cols} cols, expected heads {} x head_dim {}", spec.heads, spec.head_dim));
    }
    if let Some(l) = spec.lens.iter().find(|&&l| l as usize > spec.seq) {
        return bad(format!("length {l} exceeds seq {}", spec.seq));
    }
    if !spec.scale.is_finite() {
        return bad(format!("scale {} is not finite", spec.scale));
    }
    Ok(())
}

/// `softmax(q·kᵀ · scale + mask) · v` for every sequence and head. Keys `j >= lens[b]` (and
/// `j > i` when causal) are masked; padded query rows (`i >= lens[b]`) come out as zeros.
/// q, k, v are `[batch * seq, heads * head_dim]` and already validated with [`validate`].
pub fn attention(kern: &Kernels, q: &[f32], k: &[f32], v: &[f32], spec: &AttentionSpec) -> Vec<f32> {
    let (seq, hd) = (spec.seq, spec.head_dim);
    let cols = spec.heads * hd;
    let mut out = vec![0f32; q.len()];
    let mut scores = vec![0f32; seq];
    for (b, &len) in spec.lens.iter().enumerate() {
        let len = len as usize;
        let base = b * seq;
        for h in 0..spec.heads {
            let at = |t: usize| (base + t) * cols + h * hd;
            for i in 0..len {
                let qi = &q[at(i)..][..hd];
                let keys = if spec.causal { i + 1 } else { len };
                let s = &mut scores[..keys];
                for (j, s) in s.iter_mut().enumerate() {
                    *s = (kern.dot_f32)(qi, &k[at(j)..][..hd]) * spec.scale;
                }
                softmax(s);
                let o = &mut out[at(i)..][..hd];
                for (j, &p) in s.iter().enumerate() {
                    o.iter_mut().zip(&v[at(j)..][..hd]).for_each(|(o, v)| *o += p * v);
                }
            }
        }
    }
    out
}
