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

pub mod checks;
pub mod cpu;
pub mod device;
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

/// A handle to a key or value cache held by a backend: up to `capacity` rows of `cols` values,
/// written a few rows at a time by [`Backend::cache_write`] and read by
/// [`Backend::attention_cached`]. Unlike a [`Tensor`] it survives [`Backend::release_all`]
/// (it outlives the pass that wrote it) and is freed only by [`Backend::free_cache`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KvCache {
    pub id: u32,
    pub capacity: usize,
    pub cols: usize,
}

/// Which pairs of a head's values a rotary embedding rotates together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeStyle {
    /// Adjacent pairs `(2i, 2i + 1)`: llama.cpp's "normal" rope, right for GGUF `llama` q/k
    /// (the converter permutes the Hugging Face weights for it).
    Adjacent,
    /// Pairs `(i, i + rot_dims / 2)`: the GPT-NeoX / Hugging Face layout.
    Halves,
}

/// Rotary position embedding of a `[rows, heads * head_dim]` activation: in every head the
/// first `rot_dims` values are rotated in pairs by `position · freq_base^(-2i / rot_dims)`
/// (pair `i`); values past `rot_dims` pass through.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RopeSpec {
    pub heads: usize,
    pub head_dim: usize,
    /// Even, at most `head_dim`.
    pub rot_dims: usize,
    pub freq_base: f32,
    pub style: RopeStyle,
}

/// Causal attention of new query rows against a key/value cache (decoders).
///
/// Query row `i` sits at absolute position `past + i` and sees cache rows `0..=past + i`.
/// Queries have `heads` heads, the caches `kv_heads` (grouped-query attention: query head `h`
/// reads kv head `h / (heads / kv_heads)`); `heads % kv_heads == 0`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CachedAttentionSpec {
    /// Cache rows before the first query row.
    pub past: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
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

/// Validates a [`CachedAttentionSpec`] for `n` query rows of `q_cols` against caches of
/// `k_cols`/`v_cols` columns holding `k_len`/`v_len` rows. Shared by every backend.
pub fn check_cached_attention(
    spec: &CachedAttentionSpec,
    n: usize,
    q_cols: usize,
    (k_cols, k_len): (usize, usize),
    (v_cols, v_len): (usize, usize),
) -> Result<()> {
    let bad = |msg: String| Err(AttuneError::InvalidArgument(format!("attention_cached: {msg}")));
    if spec.head_dim == 0 || spec.kv_heads == 0 || spec.heads == 0 {
        return bad("heads, kv_heads and head_dim must be positive".into());
    }
    if spec.heads % spec.kv_heads != 0 {
        return bad(format!("{} heads are not a multiple of {} kv heads", spec.heads, spec.kv_heads));
    }
    if spec.heads.checked_mul(spec.head_dim) != Some(q_cols) {
        return bad(format!("q has {q_cols} cols, expected {} x {}", spec.heads, spec.head_dim));
    }
    let kv_cols = spec.kv_heads * spec.head_dim;
    if k_cols != kv_cols || v_cols != kv_cols {
        return bad(format!("caches have {k_cols}/{v_cols} cols, expected {kv_cols}"));
    }
    let need = spec.past.checked_add(n);
    if need.is_none_or(|need| need > k_len || need > v_len) {
        return bad(format!(
            "past {} + {n} query rows, but the caches hold {k_len}/{v_len} rows",
            spec.past
        ));
    }
    if !spec.scale.is_finite() {
        return bad(format!("scale {} is not finite", spec.scale));
    }
    Ok(())
}

/// Validates a [`RopeSpec`] for `[rows, cols]` with `positions`. Shared by every backend.
pub fn check_rope(spec: &RopeSpec, rows: usize, cols: usize, positions: &[u32]) -> Result<()> {
    let bad = |msg: String| Err(AttuneError::InvalidArgument(format!("rope: {msg}")));
    if positions.len() != rows {
        return bad(format!("{} positions for {rows} rows", positions.len()));
    }
    if spec.heads.checked_mul(spec.head_dim) != Some(cols) {
        return bad(format!("{cols} cols, expected heads {} x head_dim {}", spec.heads, spec.head_dim));
    }
    if spec.rot_dims % 2 != 0 || spec.rot_dims > spec.head_dim {
        return bad(format!("rot_dims {} must be even and at most head_dim {}", spec.rot_dims, spec.head_dim));
    }
    if !(spec.freq_base.is_finite() && spec.freq_base > 0.0) {
        return bad(format!("freq_base {} must be finite and positive", spec.freq_base));
    }
    Ok(())
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

    /// RMS normalization of each row (`x / sqrt(mean(x²) + eps)`), then `* gamma` (`[1, cols]`).
    fn rms_norm(&mut self, x: Tensor, gamma: Weight, eps: f32) -> Result<Tensor>;

    /// Rotary position embedding ([`RopeSpec`]); `positions[r]` is row `r`'s position.
    fn rope(&mut self, x: Tensor, positions: &[u32], spec: &RopeSpec) -> Result<Tensor>;

    /// `silu(gate) * up` elementwise (SwiGLU), equal shapes.
    fn swiglu(&mut self, gate: Tensor, up: Tensor) -> Result<Tensor>;

    /// Rows `start..start + rows` of `x` as a new activation.
    fn slice_rows(&mut self, x: Tensor, start: usize, rows: usize) -> Result<Tensor>;

    /// A new, empty cache of up to `capacity` rows of `cols` values. A backend may allocate
    /// the rows as they are written.
    fn kv_cache(&mut self, capacity: usize, cols: usize) -> Result<KvCache>;

    /// Writes the rows of `x` (`cols` equal to the cache's) to cache rows
    /// `at_row..at_row + x.rows`. The cache then holds exactly `at_row + x.rows` valid rows:
    /// writing at an earlier row rewinds it (rows after the write are dropped).
    /// `at_row` may not exceed the rows the cache holds, nor the end pass `capacity`.
    fn cache_write(&mut self, cache: KvCache, x: Tensor, at_row: usize) -> Result<()>;

    /// Attention of `q` (`[n, heads * head_dim]`) against caches of `kv_heads * head_dim`
    /// columns holding at least `past + n` rows ([`CachedAttentionSpec`]) → `[n, heads * head_dim]`.
    fn attention_cached(&mut self, q: Tensor, k: KvCache, v: KvCache, spec: &CachedAttentionSpec)
        -> Result<Tensor>;

    /// Frees a cache (an unknown or already freed handle is ignored).
    fn free_cache(&mut self, cache: KvCache);

    /// Frees an activation the model no longer needs.
    fn release(&mut self, x: Tensor);

    /// Frees every activation (weights stay). Called after each pass, so a pass that failed
    /// half-way leaks nothing.
    fn release_all(&mut self);

    /// Runs whatever was recorded and copies `x` to the host (`rows * cols` values).
    fn read(&mut self, x: Tensor) -> ReadFuture<'_>;

    /// Work counters of a GPU backend (submissions, dispatches, readbacks so far), for
    /// benchmarks; `None` for a backend without them (the CPU).
    fn gpu_stats(&self) -> Option<gpu::GpuStats> {
        None
    }
}
