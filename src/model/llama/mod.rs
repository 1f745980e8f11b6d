//! The Llama decoder (SmolLM2 and kin) from a GGUF: weights on a backend, one key and one
//! value cache per layer, and the bookkeeping of which tokens the caches hold.
//!
//! [`Decoder::feed`] makes the cached sequence equal to the ids it is given, reusing the
//! longest common prefix with what is already cached (a chat's earlier turns are not
//! recomputed) and running only the rest, in passes of at most [`MAX_PASS_TOKENS`]; it returns
//! the logits after the last id. Only those logits are read back.

mod config;
mod forward;
mod weights;

pub use config::LlamaConfig;

use crate::compute::{Backend, KvCache, SharedBytes};
use crate::error::{AttuneError, Result};
use crate::model::gguf::GgufFile;
use weights::LlamaWeights;

/// Most tokens one prefill pass takes; longer prompts run in several passes (bounds the memory
/// of the activations, not the context).
pub const MAX_PASS_TOKENS: usize = 512;
/// Context used when the caller asks for none: the cache grows as it is written, so this caps
/// memory (30 layers × 2 × 192 values × 4 bytes = 46 KB per token for SmolLM2-135M).
pub const DEFAULT_CONTEXT: usize = 2048;

pub struct Decoder {
    config: LlamaConfig,
    weights: LlamaWeights,
    backend: Box<dyn Backend>,
    caches: Vec<(KvCache, KvCache)>,
    /// The ids whose keys and values the caches hold, in order.
    tokens: Vec<u32>,
    context: usize,
}

impl Decoder {
    /// Loads a `llama` GGUF from `bytes` onto `backend` with a context of `context` tokens
    /// (`None`: [`DEFAULT_CONTEXT`]; never more than the model's `context_length`).
    pub fn load(bytes: SharedBytes, backend: Box<dyn Backend>, context: Option<usize>) -> Result<Self> {
        let file = GgufFile::parse(&bytes)?;
        Self::from_gguf(&file, &bytes, backend, context)
    }

    /// As [`load`](Self::load), from a file already parsed from `bytes`.
    pub fn from_gguf(
        file: &GgufFile<'_>,
        bytes: &SharedBytes,
        mut backend: Box<dyn Backend>,
        context: Option<usize>,
    ) -> Result<Self> {
        let config = LlamaConfig::from_gguf(file)?;
        let context = context.unwrap_or(DEFAULT_CONTEXT).min(config.context_length);
        if context == 0 {
            return Err(AttuneError::InvalidArgument("context must be at least one token".into()));
        }
        let weights = LlamaWeights::register(file, bytes, &config, backend.as_mut())?;
        let caches = (0..config.layers)
            .map(|_| Ok((backend.kv_cache(context, config.kv_width())?, backend.kv_cache(context, config.kv_width())?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Decoder { config, weights, backend, caches, tokens: Vec::new(), context })
    }

    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// Most tokens the caches hold (prompt and reply together).
    pub fn context(&self) -> usize {
        self.context
    }

    /// The ids the caches hold.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// Whether the output head is the token embedding (no `output.weight` in the file).
    pub fn tied_output(&self) -> bool {
        self.weights.tied_output
    }

    /// Forgets the cached sequence (the caches are overwritten by the next pass).
    pub fn reset(&mut self) {
        self.tokens.clear();
    }

    /// Makes the cached sequence `ids` and returns the logits (`vocab` values) that follow it.
    /// Reuses the longest prefix already cached; at least the last id is always run.
    pub async fn feed(&mut self, ids: &[u32]) -> Result<Vec<f32>> {
        if ids.is_empty() {
            return Err(AttuneError::InvalidArgument("no tokens to feed".into()));
        }
        if ids.len() > self.context {
            return Err(AttuneError::InputTooLarge(format!(
                "{} tokens exceed the context of {}",
                ids.len(),
                self.context
            )));
        }
        if let Some(&bad) = ids.iter().find(|&&id| id as usize >= self.config.vocab) {
            return Err(AttuneError::InvalidArgument(format!("token id {bad} is outside the vocabulary")));
        }
        let common = self.tokens.iter().zip(ids).take_while(|(a, b)| a == b).count();
        let mut start = common.min(ids.len() - 1);
        self.tokens.truncate(start);
        loop {
            let end = (start + MAX_PASS_TOKENS).min(ids.len());
            let logits = self.run(&ids[start..end], start).await?;
            self.tokens.extend_from_slice(&ids[start..end]);
            if end == ids.len() {
                return Ok(logits);
            }
            start = end;
        }
    }

    /// Appends one id and returns the logits that follow it.
    pub async fn step(&mut self, id: u32) -> Result<Vec<f32>> {
        let mut ids = self.tokens.clone();
        ids.push(id);
        self.feed(&ids).await
    }

    /// One pass; activations are freed whatever happens. On failure the cached sequence is
    /// cut back to `past` (rows after it are overwritten by the next pass).
    async fn run(&mut self, ids: &[u32], past: usize) -> Result<Vec<f32>> {
        let be = self.backend.as_mut();
        let result = match forward::pass(be, &self.config, &self.weights, &self.caches, ids, past) {
            Ok(t) => be.read(t).await,
            Err(e) => Err(e),
        };
        self.backend.release_all();
        if result.is_err() {
            self.tokens.truncate(past);
        }
        result
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        for &(k, v) in &self.caches {
            self.backend.free_cache(k);
            self.backend.free_cache(v);
        }
    }
}
