//! The CPU backend: the reference every GPU kernel is tested against, and the browser's path
//! where WebGPU is missing. Every op runs eagerly; `read` is an already-resolved future.
//!
//! Weights stay in the model bytes they came from ([`WeightSource`], no copy). Activations
//! live in an arena of slots; a [`Tensor`] id is `generation << SLOT_BITS | slot`, so a handle
//! that was released (even if its slot was reused since) is detected and refused.

pub mod attention;
pub mod matmul;
pub mod ops;
pub mod parallel;
pub mod simd;
pub mod vmath;

pub use ops::softmax;
pub use simd::Kernels;

use super::{
    check_bounds, checks, check_cached_attention, check_rope, AttentionSpec, Backend, CachedAttentionSpec, KvCache,
    ReadFuture, RopeSpec, Tensor, Weight, WeightSource,
};
use crate::error::{AttuneError, Result};
use crate::quant::dequantize;

const SLOT_BITS: u32 = 20;
const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;
const GEN_MASK: u32 = u32::MAX >> SLOT_BITS;

fn invalid<T>(msg: String) -> Result<T> {
    Err(AttuneError::InvalidArgument(msg))
}

struct Slot {
    generation: u32,
    data: Option<Vec<f32>>,
    rows: usize,
    cols: usize,
}

/// A key/value cache: `data` holds the valid rows only (it grows as rows are written, so
/// memory follows the conversation, not the capacity).
struct CacheSlot {
    data: Vec<f32>,
    capacity: usize,
    cols: usize,
}

/// CPU implementation of [`Backend`].
pub struct CpuBackend {
    kernels: &'static Kernels,
    weights: Vec<WeightSource>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Caches by id; a freed cache leaves `None` (ids are never reused).
    caches: Vec<Option<CacheSlot>>,
    /// Keep matmul activations in f32 for quantized weights (see [`Self::float_activations`]).
    float_activations: bool,
}

impl Default for CpuBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl CpuBackend {
    /// A backend using the fastest kernels this machine supports.
    pub fn new() -> Self {
        Self::with_kernels(simd::best())
    }

    /// A backend using the given kernel set (e.g. [`simd::portable`] for comparisons).
    pub fn with_kernels(kernels: &'static Kernels) -> Self {
        CpuBackend { kernels, weights: Vec::new(), slots: Vec::new(), free: Vec::new(), caches: Vec::new(), float_activations: false }
    }

    /// This backend with matmuls against quantized weights done on f32 activations (weights
    /// dequantized row by row) instead of Q8_0/Q8_1-quantized ones: several times slower, no
    /// activation rounding. For comparisons with float references.
    pub fn float_activations(mut self, on: bool) -> Self {
        self.float_activations = on;
        self
    }

    /// Name of the kernel set in use ("avx2", "simd128", "portable").
    pub fn kernels_name(&self) -> &'static str {
        self.kernels.name
    }

    /// Number of activations currently held (not yet released).
    pub fn live_tensors(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// The values of a live activation, synchronously (the CPU needs no readback).
    pub fn get(&self, t: Tensor) -> Result<&[f32]> {
        let slot = (t.id & SLOT_MASK) as usize;
        match self.slots.get(slot) {
            Some(s) if s.generation == t.id >> SLOT_BITS && s.rows == t.rows && s.cols == t.cols => {
                s.data.as_deref().ok_or_else(|| stale(t))
            }
            _ => Err(stale(t)),
        }
    }

    /// Valid rows of a cache (what `cache_write` has written).
    pub fn cache_rows(&self, c: KvCache) -> Result<usize> {
        self.cache(c).map(|s| if s.cols == 0 { 0 } else { s.data.len() / s.cols })
    }

    fn cache(&self, c: KvCache) -> Result<&CacheSlot> {
        match self.caches.get(c.id as usize) {
            Some(Some(s)) if s.capacity == c.capacity && s.cols == c.cols => Ok(s),
            _ => invalid(format!("cache {c:?} was freed or never existed")),
        }
    }

    /// The registered source of a weight handle, checked against the handle.
    fn source(&self, w: Weight) -> Result<&WeightSource> {
        match self.weights.get(w.id as usize) {
            Some(s) if s.dtype == w.dtype && s.rows == w.rows && s.cols == w.cols => Ok(s),
            _ => invalid(format!("unknown weight handle {w:?}")),
        }
    }

    /// A small weight (bias, gamma, beta) dequantized to f32, checked to hold `n` values.
    fn vector(&self, w: Weight, n: usize, what: &str) -> Result<Vec<f32>> {
        let src = self.source(w)?;
        if w.rows.checked_mul(w.cols) != Some(n) {
            return invalid(format!("{what} {} is {} x {}, expected {n} values", src.name, w.rows, w.cols));
        }
        let mut v = vec![0f32; n];
        dequantize(src.dtype, src.data()?, &mut v)?;
        Ok(v)
    }

    fn alloc(&mut self, data: Vec<f32>, rows: usize, cols: usize) -> Result<Tensor> {
        debug_assert_eq!(data.len(), rows * cols);
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                let s = self.slots.len() as u32;
                if s > SLOT_MASK {
                    return Err(AttuneError::Compute(format!(
                        "more than {} live activations (are tensors being released?)",
                        SLOT_MASK + 1
                    )));
                }
                self.slots.push(Slot { generation: 0, data: None, rows: 0, cols: 0 });
                s
            }
        };
        let s = &mut self.slots[slot as usize];
        s.data = Some(data);
        s.rows = rows;
        s.cols = cols;
        Ok(Tensor { id: (s.generation << SLOT_BITS) | slot, rows, cols })
    }
}

fn stale(t: Tensor) -> AttuneError {
    AttuneError::InvalidArgument(format!("tensor {t:?} was released or never existed"))
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn weight(&mut self, src: &WeightSource) -> Result<Weight> {
        src.data()?;
        let id = u32::try_from(self.weights.len())
            .map_err(|_| AttuneError::InvalidArgument("too many weights".into()))?;
        self.weights.push(src.clone());
        Ok(Weight { id, dtype: src.dtype, rows: src.rows, cols: src.cols })
    }

    fn input(&mut self, data: &[f32], rows: usize, cols: usize) -> Result<Tensor> {
        checks::input(data.len(), rows, cols)?;
        self.alloc(data.to_vec(), rows, cols)
    }

    fn gather(&mut self, table: Weight, ids: &[u32]) -> Result<Tensor> {
        let src = self.source(table)?;
        let (rows, cols, ty) = (src.rows, src.cols, src.dtype);
        checks::gather(&src.name, rows, cols, ty, ids)?;
        let row_bytes = ty.bytes_for(cols)?;
        let data = src.data()?;
        let len = ids.len().checked_mul(cols).ok_or_else(|| AttuneError::InputTooLarge("gather".into()))?;
        let mut out = vec![0f32; len];
        if cols > 0 {
            for (o, &id) in out.chunks_exact_mut(cols).zip(ids) {
                dequantize(ty, &data[id as usize * row_bytes..][..row_bytes], o)?;
            }
        }
        self.alloc(out, ids.len(), cols)
    }

    fn matmul(&mut self, x: Tensor, w: Weight, bias: Option<Weight>) -> Result<Tensor> {
        checks::matmul(x, w)?;
        let bias = bias.map(|b| self.vector(b, w.rows, "matmul bias")).transpose()?;
        let src = self.source(w)?;
        let f = if self.float_activations { matmul::matmul_float_activations } else { matmul::matmul };
        let out = f(
            self.kernels,
            self.get(x)?,
            x.rows,
            x.cols,
            src.dtype,
            src.data()?,
            w.rows,
            bias.as_deref(),
        )?;
        self.alloc(out, x.rows, w.rows)
    }

    fn add(&mut self, a: Tensor, b: Tensor) -> Result<Tensor> {
        checks::same_shape("add", a, b)?;
        let out = ops::add(self.get(a)?, self.get(b)?);
        self.alloc(out, a.rows, a.cols)
    }

    fn layer_norm(&mut self, x: Tensor, gamma: Weight, beta: Weight, eps: f32) -> Result<Tensor> {
        let g = self.vector(gamma, x.cols, "layer_norm gamma")?;
        let b = self.vector(beta, x.cols, "layer_norm beta")?;
        let out = ops::layer_norm(self.get(x)?, x.cols, &g, &b, eps)?;
        self.alloc(out, x.rows, x.cols)
    }

    fn gelu(&mut self, x: Tensor) -> Result<Tensor> {
        let mut out = self.get(x)?.to_vec();
        ops::gelu(&mut out);
        self.alloc(out, x.rows, x.cols)
    }

    fn attention(&mut self, q: Tensor, k: Tensor, v: Tensor, spec: &AttentionSpec) -> Result<Tensor> {
        for (name, t) in [("k", k), ("v", v)] {
            if (t.rows, t.cols) != (q.rows, q.cols) {
                return invalid(format!(
                    "attention: {name} is {} x {}, q is {} x {}",
                    t.rows, t.cols, q.rows, q.cols
                ));
            }
        }
        attention::validate(spec, q.rows, q.cols)?;
        let out = attention::attention(self.kernels, self.get(q)?, self.get(k)?, self.get(v)?, spec);
        self.alloc(out, q.rows, q.cols)
    }

    fn mean_pool(&mut self, x: Tensor, bounds: &[u32]) -> Result<Tensor> {
        check_bounds(bounds, x.rows)?;
        let out = ops::mean_pool(self.get(x)?, x.cols, bounds);
        self.alloc(out, bounds.len() - 1, x.cols)
    }

    fn l2_normalize(&mut self, x: Tensor) -> Result<Tensor> {
        let mut out = self.get(x)?.to_vec();
        ops::l2_normalize(&mut out, x.cols);
        self.alloc(out, x.rows, x.cols)
    }

    fn rms_norm(&mut self, x: Tensor, gamma: Weight, eps: f32) -> Result<Tensor> {
        let g = self.vector(gamma, x.cols, "rms_norm gamma")?;
        let out = ops::rms_norm(self.get(x)?, x.cols, &g, eps)?;
        self.alloc(out, x.rows, x.cols)
    }

    fn rope(&mut self, x: Tensor, positions: &[u32], spec: &RopeSpec) -> Result<Tensor> {
        check_rope(spec, x.rows, x.cols, positions)?;
        let mut out = self.get(x)?.to_vec();
        ops::rope(&mut out, positions, spec);
        self.alloc(out, x.rows, x.cols)
    }

    fn swiglu(&mut self, gate: Tensor, up: Tensor) -> Result<Tensor> {
        checks::same_shape("swiglu", gate, up)?;
        let out = ops::swiglu(self.get(gate)?, self.get(up)?);
        self.alloc(out, gate.rows, gate.cols)
    }

    fn slice_rows(&mut self, x: Tensor, start: usize, rows: usize) -> Result<Tensor> {
        checks::slice_rows(x, start, rows)?;
        let out = self.get(x)?[start * x.cols..(start + rows) * x.cols].to_vec();
        self.alloc(out, rows, x.cols)
    }

    fn kv_cache(&mut self, capacity: usize, cols: usize) -> Result<KvCache> {
        if capacity.checked_mul(cols).and_then(|n| n.checked_mul(4)).is_none_or(|b| b > isize::MAX as usize) {
            return Err(AttuneError::InputTooLarge(format!("kv_cache of {capacity} x {cols}")));
        }
        let id = u32::try_from(self.caches.len())
            .map_err(|_| AttuneError::InvalidArgument("too many caches".into()))?;
        self.caches.push(Some(CacheSlot { data: Vec::new(), capacity, cols }));
        Ok(KvCache { id, capacity, cols })
    }

    fn cache_write(&mut self, cache: KvCache, x: Tensor, at_row: usize) -> Result<()> {
        checks::cache_write(cache, x, at_row, self.cache_rows(cache)?)?;
        let src = self.get(x)?.to_vec();
        let slot = self.caches[cache.id as usize].as_mut().expect("checked by cache_rows");
        slot.data.truncate(at_row * cache.cols);
        slot.data.extend_from_slice(&src);
        Ok(())
    }

    fn attention_cached(
        &mut self,
        q: Tensor,
        k: KvCache,
        v: KvCache,
        spec: &CachedAttentionSpec,
    ) -> Result<Tensor> {
        let (kl, vl) = (self.cache_rows(k)?, self.cache_rows(v)?);
        check_cached_attention(spec, q.rows, q.cols, (k.cols, kl), (v.cols, vl))?;
        let out = attention::attention_cached(
            self.kernels,
            self.get(q)?,
            &self.cache(k)?.data,
            &self.cache(v)?.data,
            spec,
        );
        self.alloc(out, q.rows, q.cols)
    }

    fn free_cache(&mut self, cache: KvCache) {
        if self.cache(cache).is_ok() {
            self.caches[cache.id as usize] = None;
        }
    }

    fn release(&mut self, x: Tensor) {
        if self.get(x).is_err() {
            return; // unknown or already released: nothing to free
        }
        let slot = x.id & SLOT_MASK;
        let s = &mut self.slots[slot as usize];
        s.data = None;
        s.generation = (s.generation + 1) & GEN_MASK;
        self.free.push(slot);
    }

    fn release_all(&mut self) {
        for (i, s) in self.slots.iter_mut().enumerate() {
            if s.data.take().is_some() {
                s.generation = (s.generation + 1) & GEN_MASK;
                self.free.push(i as u32);
            }
        }
    }

    fn read(&mut self, x: Tensor) -> ReadFuture<'_> {
        let r = self.get(x).map(<[f32]>::to_vec);
        Box::pin(std::future::ready(r))
    }
}

#[cfg(test)]
mod bench;
#[cfg(test)]
mod tests;
