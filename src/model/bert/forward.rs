//! The BERT forward pass as a recording of backend ops: embeddings, `layers` post-norm
//! transformer blocks, mean pooling over real tokens, optional L2 normalization. Nothing here
//! knows which backend runs it; intermediates are released as soon as they are consumed.

use super::config::BertConfig;
use super::weights::{BertWeights, Linear, Norm};
use crate::compute::{AttentionSpec, Backend, Tensor};
use crate::error::Result;

/// A batch of token-id sequences packed back to back, without padding: row-wise ops (all
/// matmuls, norms, activations) do no wasted work, and attention and pooling keep each
/// sequence to itself through `bounds`.
pub struct PackedBatch {
    /// Every sequence's ids, concatenated.
    pub ids: Vec<u32>,
    /// Position of each id within its own sequence.
    pub positions: Vec<u32>,
    /// Sequence `b` is `ids[bounds[b]..bounds[b + 1]]`.
    pub bounds: Vec<u32>,
}

impl PackedBatch {
    pub fn new(seqs: &[&[u32]]) -> Self {
        let total = seqs.iter().map(|s| s.len()).sum();
        let mut ids = Vec::with_capacity(total);
        let mut positions = Vec::with_capacity(total);
        let mut bounds = Vec::with_capacity(seqs.len() + 1);
        bounds.push(0);
        for s in seqs {
            ids.extend_from_slice(s);
            positions.extend(0..s.len() as u32);
            bounds.push(ids.len() as u32);
        }
        PackedBatch { ids, positions, bounds }
    }
}

/// Records the forward pass and returns the pooled `[batch, hidden]` tensor.
pub fn encode(
    be: &mut dyn Backend,
    cfg: &BertConfig,
    w: &BertWeights,
    input: &PackedBatch,
) -> Result<Tensor> {
    let types = vec![0u32; input.ids.len()];

    let tok = be.gather(w.token_embd, &input.ids)?;
    let pos = be.gather(w.position_embd, &input.positions)?;
    let typ = be.gather(w.token_types, &types)?;
    let sum = add_release(be, tok, pos)?;
    let sum = add_release(be, sum, typ)?;
    let mut x = norm_release(be, sum, &w.embd_norm, cfg.layer_norm_eps)?;

    let spec = AttentionSpec {
        bounds: input.bounds.clone(),
        heads: cfg.heads,
        head_dim: cfg.head_dim(),
        causal: false,
        scale: 1.0 / (cfg.head_dim() as f32).sqrt(),
    };
    for layer in &w.layers {
        let q = linear(be, x, &layer.q)?;
        let k = linear(be, x, &layer.k)?;
        let v = linear(be, x, &layer.v)?;
        let ctx = be.attention(q, k, v, &spec)?;
        for t in [q, k, v] {
            be.release(t);
        }
        let proj = linear(be, ctx, &layer.out)?;
        be.release(ctx);
        let res = add_release(be, proj, x)?;
        let h = norm_release(be, res, &layer.attn_norm, cfg.layer_norm_eps)?;

        let up = linear(be, h, &layer.up)?;
        let act = be.gelu(up)?;
        be.release(up);
        let down = linear(be, act, &layer.down)?;
        be.release(act);
        let res = add_release(be, down, h)?;
        x = norm_release(be, res, &layer.out_norm, cfg.layer_norm_eps)?;
    }

    let pooled = be.mean_pool(x, &input.bounds)?;
    be.release(x);
    if !cfg.normalize {
        return Ok(pooled);
    }
    let unit = be.l2_normalize(pooled)?;
    be.release(pooled);
    Ok(unit)
}

fn linear(be: &mut dyn Backend, x: Tensor, l: &Linear) -> Result<Tensor> {
    be.matmul(x, l.w, Some(l.b))
}

/// `a + b`, releasing both inputs.
fn add_release(be: &mut dyn Backend, a: Tensor, b: Tensor) -> Result<Tensor> {
    let s = be.add(a, b)?;
    be.release(a);
    be.release(b);
    Ok(s)
}

/// Layer norm of `x`, releasing `x`.
fn norm_release(be: &mut dyn Backend, x: Tensor, n: &Norm, eps: f32) -> Result<Tensor> {
    let y = be.layer_norm(x, n.gamma, n.beta, eps)?;
    be.release(x);
    Ok(y)
}
