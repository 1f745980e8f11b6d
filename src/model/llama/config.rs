//! Llama hyper-parameters from the GGUF metadata keys llama.cpp's `llama` architecture uses.

use crate::compute::RopeStyle;
use crate::error::{AttuneError, Result};
use crate::model::gguf::GgufFile;

#[derive(Clone, Debug, PartialEq)]
pub struct LlamaConfig {
    pub hidden: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub layers: usize,
    pub ffn: usize,
    pub rms_eps: f32,
    /// Positions the model was trained for (`llama.context_length`).
    pub context_length: usize,
    pub rope_base: f32,
    /// Values of each head that are rotated (`llama.rope.dimension_count`, default head_dim).
    pub rope_dims: usize,
    /// GGUF `llama` q/k weights are stored for adjacent-pair rotation.
    pub rope_style: RopeStyle,
    pub vocab: usize,
}

impl LlamaConfig {
    pub fn from_gguf(file: &GgufFile<'_>) -> Result<Self> {
        let arch = file.architecture()?;
        if arch != "llama" {
            return Err(AttuneError::ModelUnsupported(format!(
                "the decoder needs a `llama` model, this file is `{arch}`"
            )));
        }
        let key = |k: &str| format!("llama.{k}");
        let hidden = file.usize(&key("embedding_length"))?;
        let heads = file.usize(&key("attention.head_count"))?;
        let kv_heads = file.opt::<usize>(&key("attention.head_count_kv"))?.unwrap_or(heads);
        if heads == 0 || kv_heads == 0 || hidden % heads != 0 || heads % kv_heads != 0 {
            return Err(AttuneError::ModelFormat(format!(
                "{heads} heads / {kv_heads} kv heads do not fit width {hidden}"
            )));
        }
        let head_dim = hidden / heads;
        let rope_dims = file.opt::<usize>(&key("rope.dimension_count"))?.unwrap_or(head_dim);
        if rope_dims % 2 != 0 || rope_dims > head_dim {
            return Err(AttuneError::ModelFormat(format!(
                "rope.dimension_count {rope_dims} must be even and at most head size {head_dim}"
            )));
        }
        if let Some(scaling) = file.opt::<&str>(&key("rope.scaling.type"))? {
            if scaling != "none" {
                return Err(AttuneError::ModelUnsupported(format!("rope scaling `{scaling}`")));
            }
        }
        let rope_base = file.opt::<f32>(&key("rope.freq_base"))?.unwrap_or(10_000.0);
        let rms_eps = file.f32(&key("attention.layer_norm_rms_epsilon"))?;
        if !(rope_base.is_finite() && rope_base > 0.0 && rms_eps.is_finite() && rms_eps >= 0.0) {
            return Err(AttuneError::ModelFormat(format!("rope base {rope_base} / rms eps {rms_eps}")));
        }
        let vocab = file
            .require_tensor("token_embd.weight")
            .map(|t| t.rows())?;
        let context_length = file.usize(&key("context_length"))?;
        if context_length == 0 {
            return Err(AttuneError::ModelFormat("context_length 0".into()));
        }
        Ok(LlamaConfig {
            hidden,
            heads,
            kv_heads,
            head_dim,
            layers: file.usize(&key("block_count"))?,
            ffn: file.usize(&key("feed_forward_length"))?,
            rms_eps,
            context_length,
            rope_base,
            rope_dims,
            rope_style: RopeStyle::Adjacent,
            vocab,
        })
    }

    /// Width of a key or value row: `kv_heads * head_dim`.
    pub fn kv_width(&self) -> usize {
        self.kv_heads * self.head_dim
    }
}
