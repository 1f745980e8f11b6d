//! Sentence embeddings from a BERT-family GGUF (all-MiniLM-L6-v2 and kin): tokenize, pad into
//! batches, run the forward pass on whichever backend the caller gave, pool, normalize.

mod config;
mod forward;
mod weights;

pub use config::BertConfig;
pub use forward::PackedBatch;

use crate::compute::device::{self, DeviceChoice, DeviceReport};
use crate::compute::{Backend, SharedBytes};
use crate::error::{AttuneError, Result};
use crate::model::gguf::GgufFile;
use crate::model::tokenizer::TextTokenizer;
use weights::BertWeights;

/// Most tokens one forward pass takes (32 full-length texts); larger requests run in several
/// passes, which bounds the memory of the activations.
pub const MAX_BATCH_TOKENS: usize = 32 * 256;

pub struct Encoder {
    config: BertConfig,
    weights: BertWeights,
    tokenizer: TextTokenizer,
    backend: Box<dyn Backend>,
    /// What the backend is and why (kept current when a GPU failure moves the model to the CPU).
    device: DeviceReport,
    /// The file, kept (shared, not copied) so the weights can be registered again on the CPU
    /// if the GPU fails.
    bytes: SharedBytes,
    /// `general.name` of the file, for reports.
    name: String,
    /// Names the vector space: vectors of two encoders are comparable only if these match.
    /// Quantizations of one model share it (their vectors agree to a cosine of 0.98 or more).
    model_id: String,
}

impl Encoder {
    /// Loads a `bert` GGUF from `bytes` (kept shared, not copied) onto `backend`.
    pub fn load(bytes: SharedBytes, backend: Box<dyn Backend>) -> Result<Self> {
        let device = DeviceReport::of(backend.as_ref());
        Self::load_with_report(bytes, backend, device)
    }

    /// Loads onto the device `choice` asks for ([`device::open`]). Under `auto`, a GPU that
    /// cannot hold the weights (allocation failure, limits) leaves the model on the CPU.
    pub async fn load_on(bytes: SharedBytes, choice: DeviceChoice) -> Result<Self> {
        device::load_on(choice, |backend, report| {
            Self::load_with_report(bytes.clone(), backend, report)
        })
        .await
    }

    fn load_with_report(bytes: SharedBytes, mut backend: Box<dyn Backend>, device: DeviceReport) -> Result<Self> {
        let file = GgufFile::parse(&bytes)?;
        let config = BertConfig::from_gguf(&file)?;
        let tokenizer = TextTokenizer::from_bert_gguf(&file, config.max_seq_len)?;
        let weights = BertWeights::register(&file, &bytes, &config, backend.as_mut())?;
        let name = file.str("general.name").unwrap_or("bert").to_string();
        let model_id = format!("{name}/{}", config.hidden);
        Ok(Encoder { config, weights, tokenizer, backend, device, bytes, name, model_id })
    }

    /// The backend in use and the reason for any fallback to the CPU.
    pub fn device(&self) -> &DeviceReport {
        &self.device
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

    /// Identifies the vector space (model and width), e.g. to key cached vectors.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// The GPU backend's work counters (`None` on the CPU), for benchmarks.
    pub fn gpu_stats(&self) -> Option<crate::compute::gpu::GpuStats> {
        self.backend.gpu_stats()
    }

    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// Token ids of `text` as the model sees it (truncated, special tokens added).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>> {
        self.tokenizer.encode(text)
    }

    /// One unit-length embedding per text, in order. Texts are packed into passes of at most
    /// [`MAX_BATCH_TOKENS`] tokens; every text is embedded exactly as it would be alone.
    pub async fn embed(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let ids = texts.iter().map(|t| self.tokenizer.encode(t)).collect::<Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(ids.len());
        let mut start = 0;
        while start < ids.len() {
            let mut end = start;
            let mut tokens = 0;
            while end < ids.len() && (end == start || tokens + ids[end].len() <= MAX_BATCH_TOKENS) {
                tokens += ids[end].len();
                end += 1;
            }
            let seqs: Vec<&[u32]> = ids[start..end].iter().map(Vec::as_slice).collect();
            let rows = self.run(&PackedBatch::new(&seqs)).await?;
            out.extend(rows.chunks_exact(self.config.hidden).map(<[f32]>::to_vec));
            start = end;
        }
        Ok(out)
    }

    /// One forward pass; the backend's activations are freed whatever happens. A GPU failure
    /// (lost device, failed allocation, a limit) moves the model to the CPU for good and runs
    /// the pass again there, so the call still returns its result.
    async fn run(&mut self, batch: &PackedBatch) -> Result<Vec<f32>> {
        match self.run_once(batch).await {
            Err(e @ AttuneError::Compute(_)) if self.backend.name() != "cpu" => {
                self.move_to_cpu(&e)?;
                self.run_once(batch).await
            }
            r => r,
        }
    }

    async fn run_once(&mut self, batch: &PackedBatch) -> Result<Vec<f32>> {
        let be = self.backend.as_mut();
        let result = match forward::encode(be, &self.config, &self.weights, batch) {
            Ok(t) => be.read(t).await,
            Err(e) => Err(e),
        };
        self.backend.release_all();
        result
    }

    /// Registers the weights again on a CPU backend (from the same file bytes) and drops the
    /// GPU backend.
    fn move_to_cpu(&mut self, cause: &AttuneError) -> Result<()> {
        let mut cpu = device::fallback_backend();
        let file = GgufFile::parse(&self.bytes)?;
        self.weights = BertWeights::register(&file, &self.bytes, &self.config, cpu.as_mut())?;
        self.backend = cpu;
        self.device = self.device.fell_back(cause);
        Ok(())
    }
}
