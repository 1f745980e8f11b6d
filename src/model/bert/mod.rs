//! Sentence embeddings from a BERT-family GGUF (all-MiniLM-L6-v2 and kin): tokenize, pad into
//! batches, run the forward pass on whichever backend the caller gave, pool, normalize.

mod config;
mod forward;
mod weights;

pub use config::BertConfig;
pub use forward::PaddedBatch;

use crate::compute::{Backend, SharedBytes};
use crate::error::{AttuneError, Result};
use crate::model::gguf::GgufFile;
use crate::model::tokenizer::TextTokenizer;
use weights::BertWeights;

/// Most sequences one forward pass takes; larger requests run in several passes.
pub const MAX_BATCH: usize = 32;

pub struct Encoder {
    config: BertConfig,
    weights: BertWeights,
    tokenizer: TextTokenizer,
    backend: Box<dyn Backend>,
    /// `general.name` of the file, for reports.
    name: String,
}

impl Encoder {
    /// Loads a `bert` GGUF from `bytes` (kept shared, not copied) onto `backend`.
    pub fn load(bytes: SharedBytes, mut backend: Box<dyn Backend>) -> Result<Self> {
        let file = GgufFile::parse(&bytes)?;
        let config = BertConfig::from_gguf(&file)?;
        let json = file.str("tokenizer.huggingface.json").map_err(|_| {
            AttuneError::ModelUnsupported(
                "the file carries no tokenizer.huggingface.json (convert it with `attune convert`)".into(),
            )
        })?;
        let tokenizer = TextTokenizer::from_json(json, config.max_seq_len)?;
        let weights = BertWeights::register(&file, &bytes, &config, backend.as_mut())?;
        let name = file.str("general.name").unwrap_or("bert").to_string();
        Ok(Encoder { config, weights, tokenizer, backend, name })
    }

    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// Width of every embedding.
    pub fn dim(&self) -> usize {
        self.config.hidden
    }

    pub fn model_name(&self) -> &str {
        &self.name
    }

    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// Token ids of `text` as the model sees it (truncated, special tokens added).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>> {
        self.tokenizer.encode(text)
    }

    /// One unit-length embedding per text, in order. Texts are grouped by length so a batch
    /// pads little; every text is embedded exactly as it would be alone.
    pub async fn embed(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let ids = texts.iter().map(|t| self.tokenizer.encode(t)).collect::<Result<Vec<_>>>()?;
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let mut out = vec![Vec::new(); ids.len()];
        for group in order.chunks(MAX_BATCH) {
            let seqs: Vec<&[u32]> = group.iter().map(|&i| ids[i].as_slice()).collect();
            let rows = self.run(&PaddedBatch::new(&seqs)).await?;
            for (&i, row) in group.iter().zip(rows.chunks_exact(self.config.hidden)) {
                out[i] = row.to_vec();
            }
        }
        Ok(out)
    }

    /// One forward pass; the backend's activations are freed whatever happens.
    async fn run(&mut self, batch: &PaddedBatch) -> Result<Vec<f32>> {
        let be = self.backend.as_mut();
        let result = match forward::encode(be, &self.config, &self.weights, batch) {
            Ok(t) => be.read(t).await,
            Err(e) => Err(e),
        };
        self.backend.release_all();
        result
    }
}
