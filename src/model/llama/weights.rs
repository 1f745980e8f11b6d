//! The decoder's weights, registered with a backend under llama.cpp's `llama` tensor names.
//! The output head is `output.weight`, or the token embedding when the file has none (tied).

use super::config::LlamaConfig;
use crate::compute::{Backend, SharedBytes, Weight};
use crate::error::{AttuneError, Result};
use crate::model::gguf::GgufFile;

pub struct Layer {
    pub attn_norm: Weight,
    pub q: Weight,
    pub k: Weight,
    pub v: Weight,
    pub out: Weight,
    pub ffn_norm: Weight,
    pub gate: Weight,
    pub up: Weight,
    pub down: Weight,
}

pub struct LlamaWeights {
    pub token_embd: Weight,
    pub layers: Vec<Layer>,
    pub output_norm: Weight,
    /// `[vocab, hidden]`: `output.weight`, else `token_embd.weight`.
    pub output: Weight,
    pub tied_output: bool,
}

impl LlamaWeights {
    pub fn register(
        file: &GgufFile<'_>,
        bytes: &SharedBytes,
        cfg: &LlamaConfig,
        be: &mut dyn Backend,
    ) -> Result<Self> {
        let mut w = |name: &str, rows: usize, cols: usize| -> Result<Weight> {
            let src = file.weight(name, bytes)?;
            if (src.rows, src.cols) != (rows, cols) {
                return Err(AttuneError::ModelFormat(format!(
                    "tensor {name} is {}x{}, expected {rows}x{cols}",
                    src.rows, src.cols
                )));
            }
            be.weight(&src)
        };
        let (h, kv, f) = (cfg.hidden, cfg.kv_width(), cfg.ffn);
        let token_embd = w("token_embd.weight", cfg.vocab, h)?;
        let layers = (0..cfg.layers)
            .map(|i| {
                let n = |s: &str| format!("blk.{i}.{s}.weight");
                Ok(Layer {
                    attn_norm: w(&n("attn_norm"), 1, h)?,
                    q: w(&n("attn_q"), h, h)?,
                    k: w(&n("attn_k"), kv, h)?,
                    v: w(&n("attn_v"), kv, h)?,
                    out: w(&n("attn_output"), h, h)?,
                    ffn_norm: w(&n("ffn_norm"), 1, h)?,
                    gate: w(&n("ffn_gate"), f, h)?,
                    up: w(&n("ffn_up"), f, h)?,
                    down: w(&n("ffn_down"), h, f)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let output_norm = w("output_norm.weight", 1, h)?;
        let tied_output = file.tensor("output.weight").is_none();
        let output = if tied_output { token_embd } else { w("output.weight", cfg.vocab, h)? };
        Ok(LlamaWeights { token_embd, layers, output_norm, output, tied_output })
    }
}
