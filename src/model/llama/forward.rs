//! One decoder pass as a recording of backend ops: `ids` appended at positions
//! `past..past + n`, keys and values written to the per-layer caches, logits of the last row
//! only. Prefill (n tokens) and decode (1 token) are the same pass. Intermediates are released
//! as soon as they are consumed; nothing is read back here.

use super::config::LlamaConfig;
use super::weights::LlamaWeights;
use crate::compute::{Backend, CachedAttentionSpec, KvCache, RopeSpec, Tensor};
use crate::error::{AttuneError, Result};

/// Records the pass and returns the `[1, vocab]` logits of the last new token.
pub fn pass(
    be: &mut dyn Backend,
    cfg: &LlamaConfig,
    w: &LlamaWeights,
    caches: &[(KvCache, KvCache)],
    ids: &[u32],
    past: usize,
) -> Result<Tensor> {
    let n = ids.len();
    if n == 0 {
        return Err(AttuneError::InvalidArgument("a decoder pass needs at least one token".into()));
    }
    let positions: Vec<u32> = (past..past + n)
        .map(|p| u32::try_from(p).map_err(|_| AttuneError::InputTooLarge("position".into())))
        .collect::<Result<_>>()?;
    let q_rope = RopeSpec {
        heads: cfg.heads,
        head_dim: cfg.head_dim,
        rot_dims: cfg.rope_dims,
        freq_base: cfg.rope_base,
        style: cfg.rope_style,
    };
    let k_rope = RopeSpec { heads: cfg.kv_heads, ..q_rope };
    let spec = CachedAttentionSpec {
        past,
        heads: cfg.heads,
        kv_heads: cfg.kv_heads,
        head_dim: cfg.head_dim,
        scale: 1.0 / (cfg.head_dim as f32).sqrt(),
    };

    let mut x = be.gather(w.token_embd, ids)?;
    for (layer, &(kc, vc)) in w.layers.iter().zip(caches) {
        // Attention block.
        let h = be.rms_norm(x, layer.attn_norm, cfg.rms_eps)?;
        let q = be.matmul(h, layer.q, None)?;
        let k = be.matmul(h, layer.k, None)?;
        let v = be.matmul(h, layer.v, None)?;
        be.release(h);
        let qr = be.rope(q, &positions, &q_rope)?;
        be.release(q);
        let kr = be.rope(k, &positions, &k_rope)?;
        be.release(k);
        be.cache_write(kc, kr, past)?;
        be.cache_write(vc, v, past)?;
        be.release(kr);
        be.release(v);
        let att = be.attention_cached(qr, kc, vc, &spec)?;
        be.release(qr);
        let o = be.matmul(att, layer.out, None)?;
        be.release(att);
        x = add_release(be, x, o)?;

        // Feed-forward block.
        let h = be.rms_norm(x, layer.ffn_norm, cfg.rms_eps)?;
        let g = be.matmul(h, layer.gate, None)?;
        let u = be.matmul(h, layer.up, None)?;
        be.release(h);
        let a = be.swiglu(g, u)?;
        be.release(g);
        be.release(u);
        let d = be.matmul(a, layer.down, None)?;
        be.release(a);
        x = add_release(be, x, d)?;
    }
    let last = be.slice_rows(x, n - 1, 1)?;
    be.release(x);
    let h = be.rms_norm(last, w.output_norm, cfg.rms_eps)?;
    be.release(last);
    let logits = be.matmul(h, w.output, None)?;
    be.release(h);
    Ok(logits)
}

/// `a + b`, releasing both.
fn add_release(be: &mut dyn Backend, a: Tensor, b: Tensor) -> Result<Tensor> {
    let s = be.add(a, b)?;
    be.release(a);
    be.release(b);
    Ok(s)
}
