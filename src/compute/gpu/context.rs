//! The device a [`GpuBackend`](super::GpuBackend) runs on: instance, adapter, device and queue,
//! the adapter's limits (requested in full, so large models fit where the hardware allows),
//! and the compiled pipelines (shared by every backend on this context).

use super::pipelines::Pipelines;
use crate::error::{AttuneError, Result};
use std::sync::{Arc, Mutex};

/// Smallest workgroup the kernels need (the wide `matmul` runs 16 x 16 invocations).
const NEEDED_INVOCATIONS: u32 = 256;
/// Workgroup memory the wide `matmul` stages per step (two 64 x 32 f32 tiles): WebGPU's
/// guaranteed minimum.
const NEEDED_WORKGROUP_BYTES: u32 = 16384;

/// An open GPU device. Cheap to share through `Arc`.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub limits: wgpu::Limits,
    pub info: wgpu::AdapterInfo,
    pub(crate) pipelines: Pipelines,
    /// The first error wgpu reported outside an error scope (validation, out of memory); the
    /// next `read` returns it as `AttuneError::Compute` instead of letting wgpu panic.
    pub(crate) uncaptured: Arc<Mutex<Option<String>>>,
    /// Set when the device is lost (driver reset, `destroy`, tab in the background too long).
    pub(crate) lost: Arc<Mutex<Option<String>>>,
}

fn compute_err(msg: String) -> AttuneError {
    AttuneError::Compute(msg)
}

impl GpuContext {
    /// Opens the best adapter this platform offers (WebGPU in the browser, Vulkan natively).
    /// Fails with `AttuneError::Compute` when there is none or it cannot run the kernels.
    pub async fn new() -> Result<Arc<Self>> {
        // In the browser wgpu panics creating an instance where `navigator.gpu` is out of reach
        // (service or shared workers), and Chromium defines it even where it cannot give an
        // adapter: ask first.
        #[cfg(target_arch = "wasm32")]
        if !wgpu::util::is_browser_webgpu_supported().await {
            return Err(compute_err(
                "WebGPU is not available here (no navigator.gpu, or it gives no adapter: the browser \
                 has WebGPU disabled or blocklisted, or this is not a window or dedicated worker)"
                    .into(),
            ));
        }
        let instance = wgpu::Instance::new(&wgpu::InstanceDescriptor::default());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: None,
            })
            .await
            .map_err(|e| {
                compute_err(format!(
                    "no GPU adapter ({e}); natively install a Vulkan driver (e.g. Debian mesa-vulkan-drivers), \
                     in the browser WebGPU must be enabled"
                ))
            })?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        if limits.max_compute_workgroup_storage_size < NEEDED_WORKGROUP_BYTES {
            return Err(compute_err(format!(
                "adapter {} allows {} bytes of workgroup memory; the kernels need {NEEDED_WORKGROUP_BYTES}",
                info.name, limits.max_compute_workgroup_storage_size
            )));
        }
        if limits.max_compute_invocations_per_workgroup < NEEDED_INVOCATIONS
            || limits.max_compute_workgroup_size_x < 64
            || limits.max_compute_workgroup_size_y < 16
        {
            return Err(compute_err(format!(
                "adapter {} allows {} invocations per workgroup; the kernels need {NEEDED_INVOCATIONS}",
                info.name, limits.max_compute_invocations_per_workgroup
            )));
        }
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("attune"),
                required_features: wgpu::Features::empty(),
                required_limits: limits.clone(),
                memory_hints: wgpu::MemoryHints::Performance,
                trace: wgpu::Trace::Off,
            })
            .await
            .map_err(|e| compute_err(format!("adapter {} refused a device: {e}", info.name)))?;
        let uncaptured = Arc::new(Mutex::new(None::<String>));
        let slot = uncaptured.clone();
        device.on_uncaptured_error(Box::new(move |e| {
            let mut s = slot.lock().unwrap_or_else(|p| p.into_inner());
            if s.is_none() {
                *s = Some(e.to_string());
            }
        }));
        let lost = Arc::new(Mutex::new(None::<String>));
        let slot = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("{reason:?}: {msg}"));
        });
        Ok(Arc::new(GpuContext { device, queue, limits, info, pipelines: Pipelines::default(), uncaptured, lost }))
    }

    /// "name (backend, device type)" of the adapter, for reports.
    pub fn describe(&self) -> String {
        // Browsers do not name their adapters to pages (fingerprinting).
        let name = if self.info.name.is_empty() { "unnamed adapter" } else { &self.info.name };
        format!("{name} ({:?}, {:?})", self.info.backend, self.info.device_type)
    }

    /// The pending uncaptured error or device loss, if any, as an `AttuneError::Compute`.
    pub(crate) fn take_error(&self) -> Result<()> {
        if let Some(l) = self.lost.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Err(compute_err(format!("GPU device lost: {l}")));
        }
        if let Some(e) = self.uncaptured.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(compute_err(format!("GPU error: {e}")));
        }
        Ok(())
    }

    /// Kernels compiled so far (each once per device).
    pub fn compiled_pipelines(&self) -> usize {
        self.pipelines.len()
    }

    /// Largest buffer one binding may cover.
    pub fn max_binding(&self) -> u64 {
        (self.limits.max_storage_buffer_binding_size as u64).min(self.limits.max_buffer_size)
    }
}
