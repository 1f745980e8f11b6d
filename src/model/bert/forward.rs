//! The BERT forward pass as a recording of backend ops: embeddings, `layers` post-norm
//! transformer blocks, mean pooling over real tokens, optional L2 normalization. Nothing here
//! knows which backend runs it; intermediates are released as soon as they are consumed.

use super::config::BertConfig;
use super::weights::{BertWeights, Linear, Norm};
use crate::compute::{AttentionSpec, Backend, Tensor};
use crate::error::Result;

/// A batch of token-id sequences padded to one length.
pub struct PaddedBatch {
    /// `batch * seq` ids, row-major, padding filled with id 0.
    pub ids: Vec<u32>,
    /// Real length of each sequence.
    pub lens: Vec<u32>,
    pub seq: usize,
}

impl PaddedBatch {
    pub fn new(seqs: &[&[u32]]) -> Self {
        let seq = seqs.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
        let mut ids = vec![0u32; seqs.len() * seq];
        for (row, s) in ids.chunks_exact_mut(seq).zip(seqs) {
            row[..s.len()].copy_from_slice(s);
        }
        let lens = seqs.iter().map(|s| s.len() as u32).collect();
        PaddedBatch { ids, lens, seq }
    }

    pub fn batch(&self) -> usize {
        self.lens.len()
    }
}

/// Records the forward pass and returns the pooled `[batch, hidden]` tensor.
pub fn encode(
    be: &mut dyn Backend,
    cfg: &BertConfig,
    w: &BertWeights,
    input: &PaddedBatch,
) -> Result<Tensor> {
    let (batch, seq) = (input.batch(), input.seq);
    let positions: Vec<u32> = (0..batch).flat_map(|_| 0..seq as u32).collect();
    let types = vec![0u32; batch * seq];

    let tok = be.gather(w.token_embd, &input.ids)?;
    let pos = be.gather(w.position_embd, &positions)?;
    let typ = be.gather(w.token_types, &types)?;
    let sum = add_release(be, tok, pos)?;
    let sum = add_release(be, sum, typ)?;
    let mut x = norm_release(be, sum, &w.embd_norm, cfg.layer_norm_eps)?;

    let spec = AttentionSpec {
        batch,
        seq,
        heads: cfg.heads,
        head_dim: cfg.head_dim(),
        lens: input.lens.clone(),
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

    let pooled = be.mean_pool(x, seq, &input.lens)?;
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
