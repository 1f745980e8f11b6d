//! Buffers for activations and readback, reused by size class: creating a buffer is costly
//! (in WebGPU especially), and a forward pass frees and needs the same sizes over and over.

use std::collections::HashMap;

/// Counts of buffers created and handed out again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub created: u64,
    pub reused: u64,
}

#[derive(Default)]
pub struct BufferPool {
    free: HashMap<(u32, u64), Vec<wgpu::Buffer>>,
    pub stats: PoolStats,
}

/// Size class of a request: powers of two from 256 bytes, capped at `max` (the largest
/// binding), never below the request itself (rounded up to 4 bytes).
pub fn size_class(bytes: u64, max: u64) -> u64 {
    let exact = bytes.max(16).div_ceil(4) * 4;
    let pow = exact.max(256).next_power_of_two();
    if pow <= max {
        pow
    } else {
        exact
    }
}

impl BufferPool {
    /// A buffer of at least `bytes` with `usage`, reused when one of its class is free.
    /// The caller has checked `bytes` against the device limits.
    pub fn get(&mut self, device: &wgpu::Device, usage: wgpu::BufferUsages, bytes: u64, max: u64) -> wgpu::Buffer {
        let size = size_class(bytes, max);
        if let Some(b) = self.free.get_mut(&(usage.bits(), size)).and_then(Vec::pop) {
            self.stats.reused += 1;
            return b;
        }
        self.stats.created += 1;
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("attune.pool"),
            size,
            usage,
            mapped_at_creation: false,
        })
    }

    /// Returns a buffer for reuse.
    pub fn put(&mut self, buf: wgpu::Buffer) {
        self.free.entry((buf.usage().bits(), buf.size())).or_default().push(buf);
    }

    /// Buffers waiting for reuse.
    pub fn idle(&self) -> usize {
        self.free.values().map(Vec::len).sum()
    }
}
