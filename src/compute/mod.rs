//! One op set, many backends. Model code builds its forward pass out of these ops and names no
//! backend; `cpu` is the portable reference, a GPU backend implements the same trait.
//!
//! The ops *record* work and hand back handles; only [`Backend::read`] produces host data. A
//! GPU backend can therefore encode a whole forward pass and read back once at the end, while
//! the CPU backend simply computes eagerly. `read` is async because GPU readback is.
//!
//! Shapes: every activation is a row-major f32 matrix `[rows, cols]`. A batch of sequences is
//! packed without padding: sequence `b` is rows `bounds[b]..bounds[b + 1]`. Row-wise ops never
//! see the boundaries; only attention and pooling take them.
//! Weights are `[rows, cols]` = `[out_features, in_features]` as GGUF stores them (ne0 = cols),
//! and stay in their file type (F32, F16, Q8_0, Q4_0, Q4_1); kernels dequantize on the fly.

pub mod cpu;
pub mod gpu;

use crate::error::{AttuneError, Result};
use crate::quant::GgmlType;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A handle to an activation held by a backend. Cheap to copy; valid until released.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tensor {
    pub id: u32,
    pub rows: usize,
    pub cols: usize,
}

/// A handle to a weight registered with a backend. Valid for the backend's lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Weight {
    pub id: u32,
    pub dtype: GgmlType,
    pub rows: usize,
    pub cols: usize,
}

/// Bytes of a model file shared between the loader and the backends, so weights are used in
/// place (no copy) for as long as any backend holds them.
pub type SharedBytes = Arc<Vec<u8>>;

/// A weight as it lies in a model file: `bytes[offset..offset + len]`, `rows x cols` of `dtype`.
#[derive(Clone, Debug)]
pub struct WeightSource {
    pub name: String,
    pub dtype: GgmlType,
    pub rows: usize,
    pub cols: usize,
    pub bytes: SharedBytes,
    pub offset: usize,
}

impl WeightSource {
    /// The weight's raw bytes, checked against the shared buffer's bounds.
    pub fn data(&self) -> Result<&[u8]> {
        let bad = || AttuneError::ModelFormat(format!("tensor {} lies outside the file", self.name));
        let elems = self.rows.checked_mul(self.cols).ok_or_else(bad)?;
        let len = self.dtype.bytes_for(elems)?;
        let end = self.offset.checked_add(len).ok_or_else(bad)?;
        self.bytes.get(self.offset..end).ok_or_else(bad)
    }
}

/// Scaled dot-product attention over a packed batch.
#[derive(Clone, Debug, PartialEq)]
pub struct AttentionSpec {
    /// Row boundaries: sequence `b` is rows `bounds[b]..bounds[b + 1]`; `bounds[0] == 0` and the
    /// last entry is the row count. A token attends only to tokens of its own sequence.
    pub bounds: Vec<u32>,
    pub heads: usize,
    pub head_dim: usize,
    /// Mask keys after the query position (decoders).
    pub causal: bool,
    /// Multiplier of q·k, usually `1 / sqrt(head_dim)`.
    pub scale: f32,
}

/// Checks that `bounds` splits `rows` rows into sequences: starts at 0, never decreases, ends
/// at `rows`. Shared by every backend so they refuse the same inputs.
pub fn check_bounds(bounds: &[u32], rows: usize) -> Result<()> {
    let ok = bounds.first() == Some(&0)
        && bounds.last().map(|&l| l as usize) == Some(rows)
        && bounds.windows(2).all(|w| w[0] <= w[1]);
    if ok {
        Ok(())
    } else {
        Err(AttuneError::InvalidArgument(format!(
            "sequence bounds must run from 0 up to {rows} rows without decreasing"
        )))
    }
}

/// Future returned by [`Backend::read`].
pub type ReadFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<f32>>> + 'a>>;

/// The op set. Every op checks its shapes and returns `InvalidArgument` on mismatch.
pub trait Backend {
    /// Short name for reports ("cpu", "webgpu", ...).
    fn name(&self) -> &'static str;

    /// Registers a weight. The backend may keep the bytes in place (CPU) or upload them once (GPU).
    fn weight(&mut self, src: &WeightSource) -> Result<Weight>;

    /// An activation from host data, `data.len() == rows * cols`.
    fn input(&mut self, data: &[f32], rows: usize, cols: usize) -> Result<Tensor>;

    /// Rows `ids` of a table weight, dequantized: `[ids.len(), table.cols]`.
    fn gather(&mut self, table: Weight, ids: &[u32]) -> Result<Tensor>;

    /// `x · wᵀ (+ bias)`: x `[m, k]`, w `[n, k]`, bias `[1, n]` → `[m, n]`.
    fn matmul(&mut self, x: Tensor, w: Weight, bias: Option<Weight>) -> Result<Tensor>;

    /// Elementwise `a + b` of equal shapes.
    fn add(&mut self, a: Tensor, b: Tensor) -> Result<Tensor>;

    /// Layer normalization of each row, then `* gamma + beta` (both `[1, cols]`).
    fn layer_norm(&mut self, x: Tensor, gamma: Weight, beta: Weight, eps: f32) -> Result<Tensor>;

    /// GELU (the exact erf form BERT uses).
    fn gelu(&mut self, x: Tensor) -> Result<Tensor>;

    /// Attention: q, k, v `[rows, heads * head_dim]` → same shape.
    fn attention(&mut self, q: Tensor, k: Tensor, v: Tensor, spec: &AttentionSpec) -> Result<Tensor>;

    /// Mean of each sequence's rows (`bounds` as in [`AttentionSpec`]): `[rows, d]` →
    /// `[bounds.len() - 1, d]`. An empty sequence pools to zeros.
    fn mean_pool(&mut self, x: Tensor, bounds: &[u32]) -> Result<Tensor>;

    /// Each row scaled to unit L2 norm (a zero row stays zero).
    fn l2_normalize(&mut self, x: Tensor) -> Result<Tensor>;

    /// Frees an activation the model no longer needs.
    fn release(&mut self, x: Tensor);

    /// Frees every activation (weights stay). Called after each pass, so a pass that failed
    /// half-way leaks nothing.
    fn release_all(&mut self);

    /// Runs whatever was recorded and copies `x` to the host (`rows * cols` values).
    fn read(&mut self, x: Tensor) -> ReadFuture<'_>;
}
