//! The WebGPU backend (wgpu): WGSL compute kernels for the op set of [`Backend`].
//!
//! Ops only *record*: each appends a dispatch (kernel, bindings, workgroup count) to a list and
//! takes an output buffer from the pool. Small per-op data (kernel parameters, token ids,
//! sequence bounds, host inputs) goes into one host-side arena. [`Backend::read`] uploads the
//! arena as one buffer, encodes every recorded dispatch into one command encoder (one compute
//! pass, split only where a host input is copied in), copies the requested tensor to a staging
//! buffer, submits once and maps it: one submission and one readback per forward pass.
//!
//! Weights are uploaded once, as their raw ggml blocks (an `array<u32>` in WGSL), and the
//! kernels dequantize them on the fly. Small vectors (bias, gamma, beta) also get an f32 copy
//! on first use.
//!
//! Releasing a tensor returns its buffer to the pool at once, even though the dispatches that
//! read it have not run yet: commands run in recording order, so a later op that reuses the
//! buffer writes it only after the earlier readers are done.

mod context;
mod pipelines;
mod pool;

pub use context::GpuContext;
pub use pool::PoolStats;

use super::{
    check_bounds, checks, check_cached_attention, check_rope, AttentionSpec, Backend, CachedAttentionSpec, KvCache,
    ReadFuture, RopeSpec, RopeStyle, Tensor, Weight, WeightSource,
};
use crate::error::{AttuneError, Result};
use crate::quant::{dequantize, GgmlType};
use pool::BufferPool;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// Columns of y per matmul workgroup (matmul.wgsl's BN).
const MATMUL_TILE_COLS: usize = 64;
const SLOT_BITS: u32 = 20;
const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;
const GEN_MASK: u32 = u32::MAX >> SLOT_BITS;
/// Waits of wgpu's 60 s each before a readback is declared hung (native only).
#[cfg(not(target_arch = "wasm32"))]
const MAX_WAITS: u32 = 10;


fn invalid<T>(msg: String) -> Result<T> {
    Err(AttuneError::InvalidArgument(msg))
}

fn compute<T>(msg: String) -> Result<T> {
    Err(AttuneError::Compute(msg))
}

/// Work counters, cumulative since the backend was made (see [`GpuBackend::reset_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpuStats {
    /// Queue submissions.
    pub submissions: u64,
    /// Compute dispatches.
    pub dispatches: u64,
    /// Buffers mapped back to the host.
    pub readbacks: u64,
    /// Weight uploads (each weight once, plus f32 copies of small vectors).
    pub weight_uploads: u64,
    /// Pool buffers created and reused.
    pub pool: PoolStats,
}

struct GpuWeight {
    src: WeightSource,
    raw: wgpu::Buffer,
    /// f32 copy of a vector weight, made on first use as a bias, gamma or beta.
    vector: Option<wgpu::Buffer>,
}

struct Slot {
    generation: u32,
    buf: Option<wgpu::Buffer>,
    rows: usize,
    cols: usize,
}

enum Bind {
    /// A range of the per-pass arena buffer.
    Arena { offset: u64, size: u64 },
    Buf(wgpu::Buffer),
}

enum Cmd {
    Dispatch { pipeline: wgpu::ComputePipeline, binds: Vec<Bind>, groups: (u32, u32) },
    /// Copy `size` bytes of the arena at `offset` into `dst` (a host input).
    Upload { offset: u64, size: u64, dst: wgpu::Buffer },
    /// Copy `size` bytes between buffers (row slices, key/value cache writes).
    Copy { src: wgpu::Buffer, src_offset: u64, dst: wgpu::Buffer, dst_offset: u64, size: u64 },
}

/// A key or value cache: a buffer of `capacity` rows, allocated whole when made (rows are
/// rewritten in place as decoding moves on), holding `rows` valid rows.
struct GpuCache {
    buf: wgpu::Buffer,
    rows: usize,
}

/// WebGPU implementation of [`Backend`].
pub struct GpuBackend {
    ctx: Arc<GpuContext>,
    weights: Vec<GpuWeight>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    pool: BufferPool,
    cmds: Vec<Cmd>,
    arena: Vec<u8>,
    /// Key/value caches by id; `None` once freed. They survive `release_all`.
    caches: Vec<Option<GpuCache>>,
    /// Bound where a kernel has no bias.
    dummy: wgpu::Buffer,
    align: u64,
    stats: GpuStats,
}

const ACT_USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);
const ARENA_USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::UNIFORM)
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);
const READ_USAGE: wgpu::BufferUsages = wgpu::BufferUsages::MAP_READ.union(wgpu::BufferUsages::COPY_DST);

impl GpuBackend {
    /// A backend on a new context (the best adapter there is).
    pub async fn new() -> Result<Self> {
        Ok(Self::with_context(GpuContext::new().await?))
    }

    /// A backend on an existing context (pipelines are shared with its other backends).
    pub fn with_context(ctx: Arc<GpuContext>) -> Self {
        let dummy = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("attune.dummy"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let align = (ctx.limits.min_uniform_buffer_offset_alignment as u64)
            .max(ctx.limits.min_storage_buffer_offset_alignment as u64)
            .max(4);
        GpuBackend {
            ctx,
            weights: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
            pool: BufferPool::default(),
            cmds: Vec::new(),
            arena: Vec::new(),
            caches: Vec::new(),
            dummy,
            align,
            stats: GpuStats::default(),
        }
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// Submissions, dispatches and readbacks so far.
    pub fn stats(&self) -> GpuStats {
        GpuStats { pool: self.pool.stats, ..self.stats }
    }

    pub fn reset_stats(&mut self) {
        self.stats = GpuStats::default();
        self.pool.stats = PoolStats::default();
    }

    /// Number of activations currently held (not yet released).
    pub fn live_tensors(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Pool buffers waiting for reuse.
    pub fn idle_buffers(&self) -> usize {
        self.pool.idle()
    }

    /// Dispatches recorded and not yet submitted.
    pub fn pending(&self) -> usize {
        self.cmds.len()
    }

    fn check_bytes(&self, bytes: u64, what: &str) -> Result<()> {
        let max = self.ctx.max_binding();
        if bytes > max {
            return compute(format!(
                "{what} needs {bytes} bytes; this adapter binds at most {max} bytes per buffer"
            ));
        }
        Ok(())
    }

    /// A buffer for `elems` f32 values, checked against the limits.
    fn buffer_for(&mut self, elems: usize, what: &str) -> Result<wgpu::Buffer> {
        let bytes = (elems as u64)
            .checked_mul(4)
            .ok_or_else(|| AttuneError::InputTooLarge(format!("{what} output")))?;
        self.check_bytes(bytes, what)?;
        if elems > u32::MAX as usize / 2 {
            return compute(format!("{what}: {elems} values exceed the kernels' 32-bit indexing"));
        }
        Ok(self.pool.get(&self.ctx.device, ACT_USAGE, bytes, self.ctx.max_binding()))
    }

    fn alloc(&mut self, buf: wgpu::Buffer, rows: usize, cols: usize) -> Result<Tensor> {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                let s = self.slots.len() as u32;
                if s > SLOT_MASK {
                    self.pool.put(buf);
                    return compute(format!("more than {} live activations", SLOT_MASK + 1));
                }
                self.slots.push(Slot { generation: 0, buf: None, rows: 0, cols: 0 });
                s
            }
        };
        let s = &mut self.slots[slot as usize];
        s.buf = Some(buf);
        s.rows = rows;
        s.cols = cols;
        Ok(Tensor { id: (s.generation << SLOT_BITS) | slot, rows, cols })
    }

    fn get(&self, t: Tensor) -> Result<&wgpu::Buffer> {
        let slot = (t.id & SLOT_MASK) as usize;
        match self.slots.get(slot) {
            Some(s) if s.generation == t.id >> SLOT_BITS && s.rows == t.rows && s.cols == t.cols => {
                s.buf.as_ref().ok_or_else(|| stale(t))
            }
            _ => Err(stale(t)),
        }
    }

    fn cache_ref(&self, c: KvCache) -> Result<&GpuCache> {
        match self.caches.get(c.id as usize) {
            Some(Some(g)) if (g.buf.size() as usize) >= c.capacity * c.cols * 4 => Ok(g),
            _ => invalid(format!("unknown or freed cache {c:?}")),
        }
    }

    fn weight_ref(&self, w: Weight) -> Result<&GpuWeight> {
        match self.weights.get(w.id as usize) {
            Some(g) if g.src.dtype == w.dtype && g.src.rows == w.rows && g.src.cols == w.cols => Ok(g),
            _ => invalid(format!("unknown weight handle {w:?}")),
        }
    }

    /// The f32 copy of a vector weight holding `n` values (made and uploaded on first use).
    fn vector(&mut self, w: Weight, n: usize, what: &str) -> Result<wgpu::Buffer> {
        let g = self.weight_ref(w)?;
        if w.rows.checked_mul(w.cols) != Some(n) {
            return invalid(format!("{what} {} is {} x {}, expected {n} values", g.src.name, w.rows, w.cols));
        }
        if let Some(b) = &g.vector {
            return Ok(b.clone());
        }
        let mut v = vec![0f32; n];
        dequantize(g.src.dtype, g.src.data()?, &mut v)?;
        let buf = self.upload(bytemuck::cast_slice(&v), &format!("{what} {}", g.src.name))?;
        self.weights[w.id as usize].vector = Some(buf.clone());
        Ok(buf)
    }

    /// A new storage buffer holding `bytes` (padded to 4), written at creation.
    fn upload(&mut self, bytes: &[u8], what: &str) -> Result<wgpu::Buffer> {
        let size = (bytes.len() as u64).max(16).div_ceil(4) * 4;
        self.check_bytes(size, what)?;
        let buf = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("attune.weight"),
            size,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: true,
        });
        buf.slice(..).get_mapped_range_mut()[..bytes.len()].copy_from_slice(bytes);
        buf.unmap();
        self.stats.weight_uploads += 1;
        Ok(buf)
    }

    /// Appends `data` to the arena at the binding alignment; returns its binding.
    fn arena_push(&mut self, data: &[u8]) -> Bind {
        let offset = (self.arena.len() as u64).div_ceil(self.align) * self.align;
        self.arena.resize(offset as usize, 0);
        self.arena.extend_from_slice(data);
        let size = (data.len() as u64).max(4).div_ceil(4) * 4;
        self.arena.resize((offset + size) as usize, 0);
        Bind::Arena { offset, size }
    }

    fn params(&mut self, p: [u32; 8]) -> Bind {
        self.arena_push(bytemuck::cast_slice(&p))
    }

    /// Workgroup grid for `groups` workgroups, folded into two dimensions past the limit.
    fn grid(&self, groups: u64) -> Result<(u32, u32)> {
        let maxd = self.ctx.limits.max_compute_workgroups_per_dimension as u64;
        let x = groups.min(maxd);
        let y = groups.div_ceil(maxd.max(1));
        if y > maxd {
            return compute(format!("{groups} workgroups exceed this adapter's dispatch limits"));
        }
        Ok((x as u32, y.max(1) as u32))
    }

    fn dispatch(&mut self, kernel: &str, wtype: Option<GgmlType>, binds: Vec<Bind>, groups: (u32, u32)) -> Result<()> {
        if groups.0 == 0 || groups.1 == 0 {
            return Ok(());
        }
        let pipeline = self.ctx.pipelines.get(&self.ctx, kernel, wtype)?;
        self.cmds.push(Cmd::Dispatch { pipeline, binds, groups });
        Ok(())
    }

    /// Records an elementwise/row kernel over `n` items with `per_group` per workgroup.
    fn dispatch_n(&mut self, kernel: &str, wtype: Option<GgmlType>, binds: Vec<Bind>, n: usize, per_group: u64) -> Result<()> {
        let g = self.grid((n as u64).div_ceil(per_group))?;
        self.dispatch(kernel, wtype, binds, g)
    }

    /// Encodes and submits everything recorded, then (if `read` is given) copies that buffer's
    /// first `bytes` to a staging buffer and returns it. Clears the recording either way.
    async fn submit(&mut self, read: Option<(wgpu::Buffer, u64)>) -> Result<Option<wgpu::Buffer>> {
        let cmds = std::mem::take(&mut self.cmds);
        let arena = std::mem::take(&mut self.arena);
        self.ctx.take_error()?;
        let device = self.ctx.device.clone();
        device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        device.push_error_scope(wgpu::ErrorFilter::Validation);
        let arena_buf = if arena.is_empty() {
            None
        } else {
            let max = self.ctx.max_binding();
            let buf = self.pool.get(&device, ARENA_USAGE, arena.len() as u64, max.max(arena.len() as u64));
            self.ctx.queue.write_buffer(&buf, 0, &arena);
            Some(buf)
        };
        let mut enc = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("attune.pass") });
        let mut dispatches = 0u64;
        let mut i = 0;
        while i < cmds.len() {
            if let Cmd::Upload { offset, size, dst } = &cmds[i] {
                let src = arena_buf.as_ref().expect("an upload lives in the arena");
                enc.copy_buffer_to_buffer(src, *offset, dst, 0, *size);
                i += 1;
                continue;
            }
            if let Cmd::Copy { src, src_offset, dst, dst_offset, size } = &cmds[i] {
                enc.copy_buffer_to_buffer(src, *src_offset, dst, *dst_offset, *size);
                i += 1;
                continue;
            }
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None });
            while let Some(Cmd::Dispatch { pipeline, binds, groups }) = cmds.get(i) {
                let entries: Vec<wgpu::BindGroupEntry> = binds
                    .iter()
                    .enumerate()
                    .map(|(n, b)| wgpu::BindGroupEntry {
                        binding: n as u32,
                        resource: match b {
                            Bind::Buf(buf) => buf.as_entire_binding(),
                            Bind::Arena { offset, size } => wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                buffer: arena_buf.as_ref().expect("arena bindings need the arena"),
                                offset: *offset,
                                size: wgpu::BufferSize::new(*size),
                            }),
                        },
                    })
                    .collect();
                let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: None,
                    layout: &pipeline.get_bind_group_layout(0),
                    entries: &entries,
                });
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, &group, &[]);
                pass.dispatch_workgroups(groups.0, groups.1, 1);
                dispatches += 1;
                i += 1;
            }
        }
        let staging = match read {
            Some((src, bytes)) if bytes > 0 => {
                let st = self.pool.get(&device, READ_USAGE, bytes, u64::MAX);
                enc.copy_buffer_to_buffer(&src, 0, &st, 0, bytes);
                Some(st)
            }
            _ => None,
        };
        self.ctx.queue.submit([enc.finish()]);
        self.stats.submissions += 1;
        self.stats.dispatches += dispatches;
        let validation = device.pop_error_scope().await;
        let oom = device.pop_error_scope().await;
        if let Some(b) = arena_buf {
            self.pool.put(b);
        }
        if let Some(e) = validation.or(oom) {
            if let Some(st) = staging {
                self.pool.put(st);
            }
            // A lost device shows first as invalid objects; let its callback run so the error
            // names the cause.
            #[cfg(not(target_arch = "wasm32"))]
            let _ = device.poll(wgpu::PollType::Poll);
            self.ctx.take_error()?;
            return compute(format!("GPU pass failed: {e}"));
        }
        self.ctx.take_error()?;
        Ok(staging)
    }

    /// Runs everything recorded without reading anything back.
    pub async fn flush(&mut self) -> Result<()> {
        if !self.cmds.is_empty() {
            self.submit(None).await?;
        }
        Ok(())
    }

    async fn read_impl(&mut self, x: Tensor) -> Result<Vec<f32>> {
        let src = self.get(x)?.clone();
        let n = x.rows * x.cols;
        let bytes = n as u64 * 4;
        let staging = self.submit(Some((src, bytes))).await?;
        let Some(st) = staging else { return Ok(Vec::new()) };
        let state = Arc::new(Mutex::new(MapState::default()));
        let cb_state = state.clone();
        st.slice(..bytes).map_async(wgpu::MapMode::Read, move |r| {
            let mut s = cb_state.lock().unwrap_or_else(|p| p.into_inner());
            s.done = Some(r.map_err(|e| e.to_string()));
            if let Some(w) = s.waker.take() {
                w.wake();
            }
        });
        // wgpu gives up a wait after 60 s; a software device (lavapipe on a busy machine) can
        // take longer over a large pass, so keep waiting, up to a bound.
        #[cfg(not(target_arch = "wasm32"))]
        for waited in 1.. {
            match self.ctx.device.poll(wgpu::PollType::Wait) {
                Ok(_) => break,
                Err(wgpu::PollError::Timeout) if waited < MAX_WAITS => continue,
                Err(e) => return compute(format!("waiting for the GPU: {e}")),
            }
        }
        let mapped = MapFuture { state }.await;
        if let Err(e) = mapped {
            self.ctx.take_error()?;
            return compute(format!("reading back from the GPU: {e}"));
        }
        let out = {
            let view = st.slice(..bytes).get_mapped_range();
            bytemuck::pod_collect_to_vec::<u8, f32>(&view)
        };
        st.unmap();
        self.pool.put(st);
        self.stats.readbacks += 1;
        Ok(out)
    }
}

#[derive(Default)]
struct MapState {
    done: Option<std::result::Result<(), String>>,
    waker: Option<Waker>,
}

/// Resolves when `map_async`'s callback has run.
struct MapFuture {
    state: Arc<Mutex<MapState>>,
}

impl Future for MapFuture {
    type Output = std::result::Result<(), String>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match s.done.take() {
            Some(r) => Poll::Ready(r),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

fn stale(t: Tensor) -> AttuneError {
    AttuneError::InvalidArgument(format!("tensor {t:?} was released or never existed"))
}

fn u32_of(n: usize, what: &str) -> Result<u32> {
    u32::try_from(n).or_else(|_| compute(format!("{what}: {n} exceeds the kernels' 32-bit indexing")))
}

impl Backend for GpuBackend {
    fn name(&self) -> &'static str {
        "webgpu"
    }

    fn weight(&mut self, src: &WeightSource) -> Result<Weight> {
        let data = src.data()?;
        let id = u32::try_from(self.weights.len())
            .map_err(|_| AttuneError::InvalidArgument("too many weights".into()))?;
        // Element indices are u32 in the kernels.
        u32_of(src.rows.saturating_mul(src.cols), &format!("weight {}", src.name))?;
        let raw = self.upload(data, &format!("weight {}", src.name))?;
        self.weights.push(GpuWeight { src: src.clone(), raw, vector: None });
        Ok(Weight { id, dtype: src.dtype, rows: src.rows, cols: src.cols })
    }

    fn input(&mut self, data: &[f32], rows: usize, cols: usize) -> Result<Tensor> {
        checks::input(data.len(), rows, cols)?;
        let buf = self.buffer_for(data.len(), "input")?;
        if !data.is_empty() {
            let Bind::Arena { offset, size } = self.arena_push(bytemuck::cast_slice(data)) else { unreachable!() };
            self.cmds.push(Cmd::Upload { offset, size, dst: buf.clone() });
        }
        self.alloc(buf, rows, cols)
    }

    fn gather(&mut self, table: Weight, ids: &[u32]) -> Result<Tensor> {
        let g = self.weight_ref(table)?;
        let (rows, cols, ty, name) = (g.src.rows, g.src.cols, g.src.dtype, g.src.name.clone());
        let raw = g.raw.clone();
        checks::gather(&name, rows, cols, ty, ids)?;
        let len = ids.len().checked_mul(cols).ok_or_else(|| AttuneError::InputTooLarge("gather".into()))?;
        let out = self.buffer_for(len, "gather")?;
        let p = self.params([u32_of(ids.len(), "gather")?, cols as u32, 0, 0, 0, 0, 0, 0]);
        let idb = self.arena_push(bytemuck::cast_slice(ids));
        self.dispatch_n("gather", Some(ty), vec![p, idb, Bind::Buf(raw), Bind::Buf(out.clone())], len, 256)?;
        self.alloc(out, ids.len(), cols)
    }

    fn matmul(&mut self, x: Tensor, w: Weight, bias: Option<Weight>) -> Result<Tensor> {
        checks::matmul(x, w)?;
        let g = self.weight_ref(w)?;
        let (ty, raw) = (g.src.dtype, g.raw.clone());
        if w.cols % ty.block_elems() != 0 {
            return invalid(format!(
                "matmul: k = {} is not a multiple of the {} block size {}",
                w.cols,
                ty.name(),
                ty.block_elems()
            ));
        }
        let bias_buf = match bias {
            Some(b) => Some(self.vector(b, w.rows, "matmul bias")?),
            None => None,
        };
        let xb = self.get(x)?.clone();
        let (m, n, k) = (x.rows, w.rows, w.cols);
        let len = m.checked_mul(n).ok_or_else(|| AttuneError::InputTooLarge("matmul output".into()))?;
        let out = self.buffer_for(len, "matmul")?;
        if m == 1 {
            // Decoding: 8 outputs per workgroup instead of mostly idle matmul tiles.
            let p = self.params([1, n as u32, k as u32, bias_buf.is_some() as u32, 0, 0, 0, 0]);
            let bb = Bind::Buf(bias_buf.unwrap_or_else(|| self.dummy.clone()));
            let binds = vec![p, Bind::Buf(xb), Bind::Buf(raw), bb, Bind::Buf(out.clone())];
            self.dispatch_n("matvec", Some(ty), binds, n, 8)?;
            return self.alloc(out, m, n);
        }
        let maxd = self.ctx.limits.max_compute_workgroups_per_dimension as usize;
        // Tiles of 64 rows would leave most of a short batch idle: 16 rows up to 32.
        let (kernel, tile_rows) = if m <= 32 { ("matmul_narrow", 16) } else { ("matmul", 64) };
        let groups = (n.div_ceil(MATMUL_TILE_COLS), m.div_ceil(tile_rows));
        if groups.0 > maxd || groups.1 > maxd {
            self.pool.put(out);
            return compute(format!("matmul {m} x {k} · {n}: too many workgroups for this adapter"));
        }
        let p = self.params([m as u32, n as u32, k as u32, bias_buf.is_some() as u32, 0, 0, 0, 0]);
        let bb = Bind::Buf(bias_buf.unwrap_or_else(|| self.dummy.clone()));
        // k = 0 runs too: the kernel's K loop is empty and each output is the bias (or 0).
        self.dispatch(
            kernel,
            Some(ty),
            vec![p, Bind::Buf(xb), Bind::Buf(raw), bb, Bind::Buf(out.clone())],
            (groups.0 as u32, groups.1 as u32),
        )?;
        self.alloc(out, m, n)
    }

    fn add(&mut self, a: Tensor, b: Tensor) -> Result<Tensor> {
        checks::same_shape("add", a, b)?;
        let (ab, bb) = (self.get(a)?.clone(), self.get(b)?.clone());
        let len = a.rows * a.cols;
        let out = self.buffer_for(len, "add")?;
        let p = self.params([len as u32, 0, 0, 0, 0, 0, 0, 0]);
        self.dispatch_n("add", None, vec![p, Bind::Buf(ab), Bind::Buf(bb), Bind::Buf(out.clone())], len, 256)?;
        self.alloc(out, a.rows, a.cols)
    }

    fn layer_norm(&mut self, x: Tensor, gamma: Weight, beta: Weight, eps: f32) -> Result<Tensor> {
        let g = self.vector(gamma, x.cols, "layer_norm gamma")?;
        let b = self.vector(beta, x.cols, "layer_norm beta")?;
        if !(eps >= 0.0 && eps.is_finite()) {
            return invalid(format!("layer_norm: eps {eps} must be finite and >= 0"));
        }
        let xb = self.get(x)?.clone();
        let out = self.buffer_for(x.rows * x.cols, "layer_norm")?;
        let p = self.params([x.rows as u32, x.cols as u32, eps.to_bits(), 0, 0, 0, 0, 0]);
        let rows = if x.cols == 0 { 0 } else { x.rows };
        self.dispatch_n(
            "layer_norm",
            None,
            vec![p, Bind::Buf(xb), Bind::Buf(g), Bind::Buf(b), Bind::Buf(out.clone())],
            rows,
            1,
        )?;
        self.alloc(out, x.rows, x.cols)
    }

    fn gelu(&mut self, x: Tensor) -> Result<Tensor> {
        let xb = self.get(x)?.clone();
        let len = x.rows * x.cols;
        let out = self.buffer_for(len, "gelu")?;
        let p = self.params([len as u32, 0, 0, 0, 0, 0, 0, 0]);
        self.dispatch_n("gelu", None, vec![p, Bind::Buf(xb), Bind::Buf(out.clone())], len, 256)?;
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
        super::cpu::attention::validate(spec, q.rows, q.cols)?;
        let (qb, kb, vb) = (self.get(q)?.clone(), self.get(k)?.clone(), self.get(v)?.clone());
        let out = self.buffer_for(q.rows * q.cols, "attention")?;
        let seqs = u32_of(spec.bounds.len() - 1, "attention sequences")?;
        let p = self.params([
            q.rows as u32,
            spec.heads as u32,
            spec.head_dim as u32,
            spec.causal as u32,
            spec.scale.to_bits(),
            seqs,
            0,
            0,
        ]);
        let bounds = self.arena_push(bytemuck::cast_slice(&spec.bounds));
        let items = if spec.head_dim == 0 { 0 } else { q.rows * spec.heads };
        self.dispatch_n(
            "attention",
            None,
            vec![p, bounds, Bind::Buf(qb), Bind::Buf(kb), Bind::Buf(vb), Bind::Buf(out.clone())],
            items,
            64,
        )?;
        self.alloc(out, q.rows, q.cols)
    }

    fn mean_pool(&mut self, x: Tensor, bounds: &[u32]) -> Result<Tensor> {
        check_bounds(bounds, x.rows)?;
        let seqs = bounds.len() - 1;
        let xb = self.get(x)?.clone();
        let len = seqs * x.cols;
        let out = self.buffer_for(len, "mean_pool")?;
        let p = self.params([u32_of(seqs, "mean_pool")?, x.cols as u32, 0, 0, 0, 0, 0, 0]);
        let bb = self.arena_push(bytemuck::cast_slice(bounds));
        self.dispatch_n("mean_pool", None, vec![p, bb, Bind::Buf(xb), Bind::Buf(out.clone())], len, 256)?;
        self.alloc(out, seqs, x.cols)
    }

    fn l2_normalize(&mut self, x: Tensor) -> Result<Tensor> {
        let xb = self.get(x)?.clone();
        let out = self.buffer_for(x.rows * x.cols, "l2_normalize")?;
        let p = self.params([x.rows as u32, x.cols as u32, 0, 0, 0, 0, 0, 0]);
        let rows = if x.cols == 0 { 0 } else { x.rows };
        self.dispatch_n("l2_normalize", None, vec![p, Bind::Buf(xb), Bind::Buf(out.clone())], rows, 1)?;
        self.alloc(out, x.rows, x.cols)
    }

    fn rms_norm(&mut self, x: Tensor, gamma: Weight, eps: f32) -> Result<Tensor> {
        let g = self.vector(gamma, x.cols, "rms_norm gamma")?;
        if !(eps >= 0.0 && eps.is_finite()) {
            return invalid(format!("rms_norm: eps {eps} must be finite and >= 0"));
        }
        let xb = self.get(x)?.clone();
        let out = self.buffer_for(x.rows * x.cols, "rms_norm")?;
        let p = self.params([x.rows as u32, x.cols as u32, eps.to_bits(), 0, 0, 0, 0, 0]);
        let rows = if x.cols == 0 { 0 } else { x.rows };
        self.dispatch_n("rms_norm", None, vec![p, Bind::Buf(xb), Bind::Buf(g), Bind::Buf(out.clone())], rows, 1)?;
        self.alloc(out, x.rows, x.cols)
    }

    fn rope(&mut self, x: Tensor, positions: &[u32], spec: &RopeSpec) -> Result<Tensor> {
        check_rope(spec, x.rows, x.cols, positions)?;
        let xb = self.get(x)?.clone();
        let out = self.buffer_for(x.rows * x.cols, "rope")?;
        let half = spec.rot_dims / 2;
        // The angles as the CPU backend computes them (f64), so both rotate identically.
        let inv_freq: Vec<f64> =
            (0..half).map(|i| (spec.freq_base as f64).powf(-2.0 * i as f64 / spec.rot_dims as f64)).collect();
        let mut cs = Vec::with_capacity(positions.len() * half * 2);
        for &pos in positions {
            for f in &inv_freq {
                let a = pos as f64 * f;
                cs.extend([a.cos() as f32, a.sin() as f32]);
            }
        }
        if cs.is_empty() {
            cs.extend([1.0, 0.0]); // nothing rotates, but a binding of vec2s needs one
        }
        let per_head = half.max(spec.head_dim - 2 * half);
        let items = x.rows * spec.heads * per_head;
        let halves = (spec.style == RopeStyle::Halves) as u32;
        let p = self.params([x.rows as u32, spec.heads as u32, spec.head_dim as u32, half as u32, halves, 0, 0, 0]);
        let csb = self.arena_push(bytemuck::cast_slice(&cs));
        self.dispatch_n("rope", None, vec![p, csb, Bind::Buf(xb), Bind::Buf(out.clone())], items, 64)?;
        self.alloc(out, x.rows, x.cols)
    }

    fn swiglu(&mut self, gate: Tensor, up: Tensor) -> Result<Tensor> {
        checks::same_shape("swiglu", gate, up)?;
        let (gb, ub) = (self.get(gate)?.clone(), self.get(up)?.clone());
        let len = gate.rows * gate.cols;
        let out = self.buffer_for(len, "swiglu")?;
        let p = self.params([len as u32, 0, 0, 0, 0, 0, 0, 0]);
        self.dispatch_n("swiglu", None, vec![p, Bind::Buf(gb), Bind::Buf(ub), Bind::Buf(out.clone())], len, 256)?;
        self.alloc(out, gate.rows, gate.cols)
    }

    fn slice_rows(&mut self, x: Tensor, start: usize, rows: usize) -> Result<Tensor> {
        checks::slice_rows(x, start, rows)?;
        let src = self.get(x)?.clone();
        let out = self.buffer_for(rows * x.cols, "slice_rows")?;
        let size = (rows * x.cols * 4) as u64;
        if size > 0 {
            let src_offset = (start * x.cols * 4) as u64;
            self.cmds.push(Cmd::Copy { src, src_offset, dst: out.clone(), dst_offset: 0, size });
        }
        self.alloc(out, rows, x.cols)
    }

    fn kv_cache(&mut self, capacity: usize, cols: usize) -> Result<KvCache> {
        let bytes = capacity
            .checked_mul(cols)
            .and_then(|n| n.checked_mul(4))
            .ok_or_else(|| AttuneError::InputTooLarge(format!("kv_cache of {capacity} x {cols}")))?;
        self.check_bytes(bytes as u64, "kv_cache")?;
        u32_of(capacity * cols, "kv_cache")?;
        let id = u32::try_from(self.caches.len()).map_err(|_| AttuneError::InvalidArgument("too many caches".into()))?;
        let buf = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("attune.kv_cache"),
            size: (bytes as u64).max(16),
            usage: ACT_USAGE,
            mapped_at_creation: false,
        });
        self.caches.push(Some(GpuCache { buf, rows: 0 }));
        Ok(KvCache { id, capacity, cols })
    }

    fn cache_write(&mut self, cache: KvCache, x: Tensor, at_row: usize) -> Result<()> {
        checks::cache_write(cache, x, at_row, self.cache_ref(cache)?.rows)?;
        let src = self.get(x)?.clone();
        let slot = self.caches[cache.id as usize].as_mut().expect("checked by cache_ref");
        slot.rows = at_row + x.rows;
        let size = (x.rows * x.cols * 4) as u64;
        if size > 0 {
            let dst = slot.buf.clone();
            let dst_offset = (at_row * cache.cols * 4) as u64;
            self.cmds.push(Cmd::Copy { src, src_offset: 0, dst, dst_offset, size });
        }
        Ok(())
    }

    fn attention_cached(&mut self, q: Tensor, k: KvCache, v: KvCache, spec: &CachedAttentionSpec) -> Result<Tensor> {
        let (kc, vc) = (self.cache_ref(k)?, self.cache_ref(v)?);
        check_cached_attention(spec, q.rows, q.cols, (k.cols, kc.rows), (v.cols, vc.rows))?;
        let (kb, vb) = (kc.buf.clone(), vc.buf.clone());
        let qb = self.get(q)?.clone();
        let out = self.buffer_for(q.rows * q.cols, "attention_cached")?;
        let p = self.params([
            q.rows as u32,
            spec.heads as u32,
            spec.kv_heads as u32,
            spec.head_dim as u32,
            spec.scale.to_bits(),
            u32_of(spec.past, "attention_cached past")?,
            0,
            0,
        ]);
        let binds = vec![p, Bind::Buf(qb), Bind::Buf(kb), Bind::Buf(vb), Bind::Buf(out.clone())];
        self.dispatch_n("attention_cached", None, binds, q.rows * spec.heads, 64)?;
        self.alloc(out, q.rows, q.cols)
    }

    fn free_cache(&mut self, cache: KvCache) {
        if self.cache_ref(cache).is_ok() {
            self.caches[cache.id as usize] = None;
        }
    }

    fn release(&mut self, x: Tensor) {
        if self.get(x).is_err() {
            return;
        }
        let s = &mut self.slots[(x.id & SLOT_MASK) as usize];
        let buf = s.buf.take();
        s.generation = (s.generation + 1) & GEN_MASK;
        self.free.push(x.id & SLOT_MASK);
        if let Some(b) = buf {
            self.pool.put(b);
        }
    }

    fn release_all(&mut self) {
        for (i, s) in self.slots.iter_mut().enumerate() {
            if let Some(b) = s.buf.take() {
                s.generation = (s.generation + 1) & GEN_MASK;
                self.free.push(i as u32);
                self.pool.put(b);
            }
        }
        // Work recorded for tensors nobody will read (a pass that failed half-way) is dropped.
        self.cmds.clear();
        self.arena.clear();
    }

    fn read(&mut self, x: Tensor) -> ReadFuture<'_> {
        Box::pin(self.read_impl(x))
    }

    fn gpu_stats(&self) -> Option<GpuStats> {
        Some(self.stats())
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
