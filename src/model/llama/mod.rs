//! The Llama decoder (SmolLM2 and kin) from a GGUF: weights on a backend, one key and one
//! value cache per layer, and the bookkeeping of which tokens the caches hold.
//!
//! [`Decoder::feed`] makes the cached sequence equal to the ids it is given, reusing the
//! longest common prefix with what is already cached (a chat's earlier turns are not
//! recomputed) and running only the rest, in passes of at most [`MAX_PASS_TOKENS`]; it returns
//! the logits after the last id. Only those logits are read back.
//!
//! On a GPU, a failure during a pass (lost device, failed allocation) moves the decoder to the
//! CPU for good: the weights are registered again from the same bytes, the caches are rebuilt
//! by running the whole sequence again, and the call still returns its logits.

mod config;
mod forward;
mod weights;

pub use config::LlamaConfig;

use crate::compute::device::{self, DeviceChoice, DeviceReport};
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
    /// What the backend is and why (kept current when a GPU failure moves the model to the CPU).
    device: DeviceReport,
    /// The file, kept (shared, not copied) to register the weights again on the CPU.
    bytes: SharedBytes,
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
        backend: Box<dyn Backend>,
        context: Option<usize>,
    ) -> Result<Self> {
        let report = DeviceReport::of(backend.as_ref());
        Self::with_report(file, bytes, backend, report, context)
    }

    /// As [`from_gguf`](Self::from_gguf), onto the device `choice` asks for
    /// ([`device::load_on`]: under `auto`, a GPU that cannot hold the model leaves it on the CPU).
    pub async fn from_gguf_on(
        file: &GgufFile<'_>,
        bytes: &SharedBytes,
        choice: DeviceChoice,
        context: Option<usize>,
    ) -> Result<Self> {
        device::load_on(choice, |backend, report| Self::with_report(file, bytes, backend, report, context)).await
    }

    fn with_report(
        file: &GgufFile<'_>,
        bytes: &SharedBytes,
        mut backend: Box<dyn Backend>,
        device: DeviceReport,
        context: Option<usize>,
    ) -> Result<Self> {
        let config = LlamaConfig::from_gguf(file)?;
        let context = context.unwrap_or(DEFAULT_CONTEXT).min(config.context_length);
        if context == 0 {
            return Err(AttuneError::InvalidArgument("context must be at least one token".into()));
        }
        let weights = LlamaWeights::register(file, bytes, &config, backend.as_mut())?;
        let caches = new_caches(backend.as_mut(), &config, context)?;
        Ok(Decoder { config, weights, backend, caches, tokens: Vec::new(), context, device, bytes: bytes.clone() })
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

    /// The backend in use and the reason for any fallback to the CPU.
    pub fn device(&self) -> &DeviceReport {
        &self.device
    }

    /// The GPU backend's work counters (`None` on the CPU), for benchmarks.
    pub fn gpu_stats(&self) -> Option<crate::compute::gpu::GpuStats> {
        self.backend.gpu_stats()
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
        match self.feed_cached(ids).await {
            Err(e @ AttuneError::Compute(_)) if self.backend.name() != "cpu" => {
                self.move_to_cpu(&e)?;
                self.feed_cached(ids).await
            }
            r => r,
        }
    }

    /// [`feed`](Self::feed) on the current backend, from the longest prefix already cached.
    async fn feed_cached(&mut self, ids: &[u32]) -> Result<Vec<f32>> {
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

impl Decoder {
    /// Registers the weights again on a CPU backend (from the same file bytes) with empty
    /// caches, and drops the GPU backend; the next pass runs the whole sequence.
    fn move_to_cpu(&mut self, cause: &AttuneError) -> Result<()> {
        let mut cpu = device::fallback_backend();
        let file = GgufFile::parse(&self.bytes)?;
        let weights = LlamaWeights::register(&file, &self.bytes, &self.config, cpu.as_mut())?;
        let caches = new_caches(cpu.as_mut(), &self.config, self.context)?;
        self.free_caches();
        (self.weights, self.caches, self.backend) = (weights, caches, cpu);
        self.tokens.clear();
        self.device = self.device.fell_back(cause);
        Ok(())
    }

    fn free_caches(&mut self) {
        for &(k, v) in &self.caches {
            self.backend.free_cache(k);
            self.backend.free_cache(v);
        }
    }
}

/// One key and one value cache of `context` rows per layer.
fn new_caches(
    be: &mut dyn Backend,
    cfg: &LlamaConfig,
    context: usize,
) -> Result<Vec<(KvCache, KvCache)>> {
    (0..cfg.layers)
        .map(|_| {
            Ok((
                be.kv_cache(context, cfg.kv_width())?,
                be.kv_cache(context, cfg.kv_width())?,
            ))
        })
        .collect()
}

impl Drop for Decoder {
    fn drop(&mut self) {
        self.free_caches();
    }
}
