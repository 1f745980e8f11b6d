//! BERT hyper-parameters, read from the GGUF metadata keys llama.cpp's `bert` architecture uses,
//! plus the sentence-transformers settings `attune convert` stores beside them.

use crate::error::{AttuneError, Result};
use crate::model::gguf::GgufFile;

#[derive(Clone, Debug, PartialEq)]
pub struct BertConfig {
    pub hidden: usize,
    pub heads: usize,
    pub layers: usize,
    pub ffn: usize,
    pub layer_norm_eps: f32,
    /// Rows of the position table: the hard ceiling on sequence length.
    pub max_positions: usize,
    /// Pieces per text kept by the tokenizer ([CLS]/[SEP] included).
    pub max_seq_len: usize,
    /// L2-normalize the pooled vector (sentence-transformers' Normalize module).
    pub normalize: bool,
}

impl BertConfig {
    pub fn from_gguf(file: &GgufFile<'_>) -> Result<Self> {
        let arch = file.architecture()?;
        if arch != "bert" {
            return Err(AttuneError::ModelUnsupported(format!(
                "the embedder needs a `bert` model, this file is `{arch}`"
            )));
        }
        let hidden = file.u32("bert.embedding_length")? as usize;
        let heads = file.u32("bert.attention.head_count")? as usize;
        let max_positions = file.u32("bert.context_length")? as usize;
        let pooling = file.u32("bert.pooling_type").unwrap_or(1);
        if pooling != 1 {
            return Err(AttuneError::ModelUnsupported(format!(
                "pooling type {pooling} (only mean pooling, 1, is supported)"
            )));
        }
        if heads == 0 || hidden % heads != 0 {
            return Err(AttuneError::ModelFormat(format!("{heads} heads do not divide width {hidden}")));
        }
        let max_seq_len = match file.u32("sentence_transformers.max_seq_length") {
            Ok(n) => (n as usize).min(max_positions),
            Err(_) => max_positions,
        };
        Ok(BertConfig {
            hidden,
            heads,
            layers: file.u32("bert.block_count")? as usize,
            ffn: file.u32("bert.feed_forward_length")? as usize,
            layer_norm_eps: file.f32("bert.attention.layer_norm_epsilon")?,
            max_positions,
            max_seq_len,
            normalize: file.bool("sentence_transformers.normalize").unwrap_or(true),
        })
    }

    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }
}
