//! The encoder's weights, registered with a backend under llama.cpp's `bert` tensor names.

use super::config::BertConfig;
use crate::compute::{Backend, SharedBytes, Weight};
use crate::error::{AttuneError, Result};
use crate::model::gguf::GgufFile;

pub struct Norm {
    pub gamma: Weight,
    pub beta: Weight,
}

pub struct Linear {
    pub w: Weight,
    pub b: Weight,
}

pub struct Layer {
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub out: Linear,
    pub attn_norm: Norm,
    pub up: Linear,
    pub down: Linear,
    pub out_norm: Norm,
}

pub struct BertWeights {
    pub token_embd: Weight,
    pub position_embd: Weight,
    pub token_types: Weight,
    pub embd_norm: Norm,
    pub layers: Vec<Layer>,
}

/// Looks tensors up and checks their shapes (`[rows, cols]` = `[out, in]`).
struct Loader<'f, 'b> {
    file: &'f GgufFile<'b>,
    bytes: &'f SharedBytes,
    backend: &'f mut dyn Backend,
}

impl Loader<'_, '_> {
    fn weight(&mut self, name: &str, rows: usize, cols: usize) -> Result<Weight> {
        let src = self.file.weight(name, self.bytes)?;
        if (src.rows, src.cols) != (rows, cols) {
            return Err(AttuneError::ModelFormat(format!(
                "tensor {name} is {}x{}, expected {rows}x{cols}",
                src.rows, src.cols
            )));
        }
        self.backend.weight(&src)
    }

    fn linear(&mut self, prefix: &str, out: usize, inp: usize) -> Result<Linear> {
        Ok(Linear {
            w: self.weight(&format!("{prefix}.weight"), out, inp)?,
            b: self.weight(&format!("{prefix}.bias"), 1, out)?,
        })
    }

    fn norm(&mut self, prefix: &str, width: usize) -> Result<Norm> {
        Ok(Norm {
            gamma: self.weight(&format!("{prefix}.weight"), 1, width)?,
            beta: self.weight(&format!("{prefix}.bias"), 1, width)?,
        })
    }
}

impl BertWeights {
    pub fn register(
        file: &GgufFile<'_>,
        bytes: &SharedBytes,
        cfg: &BertConfig,
        backend: &mut dyn Backend,
    ) -> Result<Self> {
        let h = cfg.hidden;
        let vocab = file
            .tensor("token_embd.weight")
            .map(|t| t.rows())
            .ok_or_else(|| AttuneError::ModelFormat("missing tensor token_embd.weight".into()))?;
        let mut ld = Loader { file, bytes, backend };
        let token_embd = ld.weight("token_embd.weight", vocab, h)?;
        let position_embd = ld.weight("position_embd.weight", cfg.max_positions, h)?;
        let types = file.tensor("token_types.weight").map(|t| t.rows()).unwrap_or(0).max(1);
        let token_types = ld.weight("token_types.weight", types, h)?;
        let embd_norm = ld.norm("token_embd_norm", h)?;
        let layers = (0..cfg.layers)
            .map(|i| {
                let p = format!("blk.{i}");
                Ok(Layer {
                    q: ld.linear(&format!("{p}.attn_q"), h, h)?,
                    k: ld.linear(&format!("{p}.attn_k"), h, h)?,
                    v: ld.linear(&format!("{p}.attn_v"), h, h)?,
                    out: ld.linear(&format!("{p}.attn_output"), h, h)?,
                    attn_norm: ld.norm(&format!("{p}.attn_output_norm"), h)?,
                    up: ld.linear(&format!("{p}.ffn_up"), cfg.ffn, h)?,
                    down: ld.linear(&format!("{p}.ffn_down"), h, cfg.ffn)?,
                    out_norm: ld.norm(&format!("{p}.layer_output_norm"), h)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(BertWeights { token_embd, position_embd, token_types, embd_norm, layers })
    }
}
