//! Choosing the backend a model runs on: `auto` (the GPU when an adapter exists and passes a
//! small self-test against the CPU backend, else the CPU), `gpu` (the GPU or an error with code
//! `gpu_unavailable`) or `cpu`. The caller gets the backend and a [`DeviceReport`] saying what
//! was chosen and why; models keep the report and update it if they fall back later (a lost
//! device, a failed allocation: see [`DeviceReport::fell_back`]).

use super::cpu::CpuBackend;
use super::gpu::{GpuBackend, GpuContext};
use super::{AttentionSpec, Backend, SharedBytes, WeightSource};
use crate::error::{AttuneError, Result};
use crate::quant::{quantize, GgmlType};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Which device a caller asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeviceChoice {
    /// The GPU if it works, else the CPU (with the reason reported).
    #[default]
    Auto,
    /// The GPU or an error.
    Gpu,
    /// The CPU backend.
    Cpu,
}

impl FromStr for DeviceChoice {
    type Err = AttuneError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(DeviceChoice::Auto),
            "gpu" => Ok(DeviceChoice::Gpu),
            "cpu" => Ok(DeviceChoice::Cpu),
            other => Err(AttuneError::InvalidArgument(format!("device `{other}`: expected auto, gpu or cpu"))),
        }
    }
}

/// What a model runs on, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceReport {
    /// The backend's name ("cpu" or "webgpu").
    pub backend: &'static str,
    /// The GPU adapter in use, "name (backend, type)".
    pub adapter: Option<String>,
    /// Why the GPU is not in use, when it was wanted (`auto`) or was in use before.
    pub fallback_reason: Option<String>,
}

impl DeviceReport {
    /// The report of a backend the caller picked itself.
    pub fn of(backend: &dyn Backend) -> Self {
        DeviceReport { backend: backend.name(), adapter: None, fallback_reason: None }
    }

    fn cpu(fallback_reason: Option<String>) -> Self {
        DeviceReport { backend: "cpu", adapter: None, fallback_reason }
    }

    /// The report after a GPU failed during a call and the model moved to the CPU.
    pub fn fell_back(&self, cause: &AttuneError) -> Self {
        let on = self.adapter.as_deref().map(|a| format!(" on {a}")).unwrap_or_default();
        DeviceReport::cpu(Some(format!("the GPU{on} failed during a call, now running on the CPU: {cause}")))
    }
}

impl fmt::Display for DeviceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "backend {}", self.backend)?;
        if let Some(a) = &self.adapter {
            write!(f, " on {a}")?;
        }
        if let Some(r) = &self.fallback_reason {
            write!(f, " (GPU not used: {r})")?;
        }
        Ok(())
    }
}

/// Opens the backend `choice` asks for.
pub async fn open(choice: DeviceChoice) -> Result<(Box<dyn Backend>, DeviceReport)> {
    match choice {
        DeviceChoice::Cpu => Ok((Box::new(CpuBackend::new()), DeviceReport::cpu(None))),
        DeviceChoice::Gpu => {
            let (be, report) = open_gpu().await.map_err(|e| AttuneError::GpuUnavailable(e.to_string()))?;
            Ok((Box::new(be), report))
        }
        DeviceChoice::Auto => match open_gpu().await {
            // A GPU emulated on the CPU (lavapipe, SwiftShader) is far slower than the CPU
            // backend on the same cores: `auto` takes the CPU there (`gpu` still gets it).
            Ok((be, report)) if is_software(be.context()) => Ok((
                Box::new(CpuBackend::new()),
                DeviceReport::cpu(Some(format!(
                    "the only GPU adapter, {}, emulates a GPU on the CPU; the CPU backend is faster",
                    report.adapter.as_deref().unwrap_or("unnamed")
                ))),
            )),
            Ok((be, report)) => Ok((Box::new(be), report)),
            Err(e) => Ok((Box::new(CpuBackend::new()), DeviceReport::cpu(Some(e.to_string())))),
        },
    }
}

/// Opens the backend `choice` asks for and builds a model on it with `load` (given the backend
/// and its report). Under `auto`, a GPU that cannot hold the model (a failed allocation, a
/// limit: `compute` errors) leaves the model on the CPU with the reason in its report; under
/// `gpu` that is `gpu_unavailable`.
pub async fn load_on<T>(
    choice: DeviceChoice,
    mut load: impl FnMut(Box<dyn Backend>, DeviceReport) -> Result<T>,
) -> Result<T> {
    let (backend, report) = open(choice).await?;
    let on_gpu = report.backend != "cpu";
    match load(backend, report.clone()) {
        Err(e @ AttuneError::Compute(_)) if on_gpu => {
            if choice == DeviceChoice::Gpu {
                return Err(AttuneError::GpuUnavailable(e.to_string()));
            }
            load(fallback_backend(), report.fell_back(&e))
        }
        r => r,
    }
}

/// The backend a model moves to when its GPU fails (device lost, failed allocation): the CPU
/// reference backend. Models call this instead of naming a backend.
pub fn fallback_backend() -> Box<dyn Backend> {
    Box::new(CpuBackend::new())
}

/// Whether the adapter is a software rasterizer running on the CPU.
pub fn is_software(ctx: &GpuContext) -> bool {
    let name = ctx.info.name.to_ascii_lowercase();
    ctx.info.device_type == wgpu::DeviceType::Cpu || ["llvmpipe", "lavapipe", "swiftshader"].iter().any(|s| name.contains(s))
}

async fn open_gpu() -> Result<(GpuBackend, DeviceReport)> {
    let ctx = GpuContext::new().await?;
    self_test(&ctx).await?;
    let report = DeviceReport { backend: "webgpu", adapter: Some(ctx.describe()), fallback_reason: None };
    Ok((GpuBackend::with_context(ctx), report))
}

/// Largest difference the self-test accepts between the GPU and the CPU (both in f32) on its
/// unit-length outputs; a driver that miscompiles a kernel is off by far more.
const SELF_TEST_TOLERANCE: f32 = 1e-3;

/// Runs a tiny encoder-shaped pass (gather, quantized matmul with bias, attention over two
/// sequences, add, layer norm, GELU, mean pool, L2 normalize; 7 rows, not a multiple of any
/// tile) on the GPU and on the CPU backend in the same precision, and compares the results.
/// Also compiles the pipelines a model needs first, so a shader the driver rejects shows here.
pub async fn self_test(ctx: &Arc<GpuContext>) -> Result<()> {
    let mut gpu = GpuBackend::with_context(ctx.clone());
    let got = tiny_pass(&mut gpu).await;
    gpu.release_all();
    let got = got?;
    let want = tiny_pass(&mut CpuBackend::new().float_activations(true)).await?;
    let worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0f32, |a, d| if d.is_nan() { f32::INFINITY } else { a.max(d) });
    if got.len() != want.len() || worst > SELF_TEST_TOLERANCE {
        return Err(AttuneError::Compute(format!(
            "adapter {} failed the self-test: results differ from the CPU by {worst} (> {SELF_TEST_TOLERANCE})",
            ctx.describe()
        )));
    }
    Ok(())
}

const D: usize = 64;
const ROWS: usize = 7;

async fn tiny_pass(be: &mut dyn Backend) -> Result<Vec<f32>> {
    let mut seed = 0x9E37_79B9_u32;
    let mut rand = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 8) as f32 / (1u32 << 23) as f32 - 1.0
            })
            .collect()
    };
    let weight = |be: &mut dyn Backend, name: &str, ty: GgmlType, rows: usize, data: Vec<f32>| {
        let bytes: SharedBytes = Arc::new(quantize(ty, &data)?);
        be.weight(&WeightSource { name: name.into(), dtype: ty, rows, cols: data.len() / rows, bytes, offset: 0 })
    };
    let table = weight(be, "selftest.table", GgmlType::Q8_0, 11, rand(11 * D))?;
    let w = weight(be, "selftest.w", GgmlType::Q4_0, D, rand(D * D))?;
    let bias = weight(be, "selftest.bias", GgmlType::F32, 1, rand(D))?;
    let gamma = weight(be, "selftest.gamma", GgmlType::F16, 1, rand(D))?;
    let beta = weight(be, "selftest.beta", GgmlType::F32, 1, rand(D))?;
    let x = be.gather(table, &[3, 1, 4, 1, 5, 9, 2])?;
    let h = be.matmul(x, w, Some(bias))?;
    let spec = AttentionSpec { bounds: vec![0, 3, ROWS as u32], heads: 2, head_dim: D / 2, causal: false, scale: 0.25 };
    let a = be.attention(h, h, x, &spec)?;
    let s = be.add(a, x)?;
    let n = be.layer_norm(s, gamma, beta, 1e-5)?;
    let g = be.gelu(n)?;
    let p = be.mean_pool(g, &spec.bounds)?;
    let out = be.l2_normalize(p)?;
    be.read(out).await
}
