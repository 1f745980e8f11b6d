//! `attune bench-kernels`: how long each GPU kernel takes on the shapes the models run, one
//! op per submission, waited for (so each time is that kernel's dispatch plus one submit). A
//! profile to find the slow kernels, not a benchmark of the whole model (`attune bench`).

use super::optional;
use attune::compute::gpu::{GpuBackend, GpuContext};
use attune::compute::{AttentionSpec, Backend, CachedAttentionSpec, SharedBytes, Tensor, Weight, WeightSource};
use attune::quant::{quantize, GgmlType};
use attune::{AttuneError, Result};
use pico_args::Arguments;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// MiniLM-L6: hidden 384, FFN 1536, 12 heads of 32. SmolLM2-135M: hidden 576, FFN 1536,
/// 9 heads (3 kv heads) of 64.
const HIDDEN: usize = 384;
const FFN: usize = 1536;
const HEADS: usize = 12;
const LM_HIDDEN: usize = 576;

pub fn run(mut args: Arguments) -> Result<()> {
    let types: String = optional(&mut args, "--types")?.unwrap_or_else(|| "q8_0".into());
    let rows: String = optional(&mut args, "--rows")?.unwrap_or_else(|| "16,512".into());
    let budget_ms: u64 = optional(&mut args, "--ms")?.unwrap_or(1500);
    let out: Option<PathBuf> = optional(&mut args, "--out")?;
    super::positionals(args)?
        .is_empty()
        .then_some(())
        .ok_or_else(|| AttuneError::InvalidArgument("bench-kernels takes no positional arguments".into()))?;
    let types = types
        .split(',')
        .map(|t| {
            [0, 1, 2, 3, 8]
                .into_iter()
                .filter_map(GgmlType::from_id)
                .find(|ty| ty.name().eq_ignore_ascii_case(t))
                .ok_or_else(|| AttuneError::InvalidArgument(format!("--types: unknown type {t}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let rows = rows
        .split(',')
        .map(|r| r.parse::<usize>().map_err(|e| AttuneError::InvalidArgument(format!("--rows {r}: {e}"))))
        .collect::<Result<Vec<_>>>()?;

    let ctx = pollster::block_on(GpuContext::new())?;
    eprintln!("adapter: {}", ctx.describe());
    let mut p = Profiler { be: GpuBackend::with_context(ctx.clone()), budget: Duration::from_millis(budget_ms), rows: Vec::new() };

    for &ty in &types {
        let w_qkv = p.weight(ty, HIDDEN, HIDDEN)?;
        let w_up = p.weight(ty, FFN, HIDDEN)?;
        let w_down = p.weight(ty, HIDDEN, FFN)?;
        let bias = p.weight(GgmlType::F32, 1, FFN)?;
        let bias_h = p.weight(GgmlType::F32, 1, HIDDEN)?;
        for &m in &rows {
            let x = p.input(m, HIDDEN)?;
            let a = p.input(m, FFN)?;
            p.time(&format!("matmul.{} {m}x{HIDDEN}·{HIDDEN}", ty.name()), |be| be.matmul(x, w_qkv, Some(bias_h)))?;
            p.time(&format!("matmul.{} {m}x{HIDDEN}·{FFN}", ty.name()), |be| be.matmul(x, w_up, Some(bias)))?;
            p.time(&format!("matmul.{} {m}x{FFN}·{HIDDEN}", ty.name()), |be| be.matmul(a, w_down, Some(bias_h)))?;
        }
        // Decoding one token: the matrix-vector kernel, on the chat model's shapes.
        let w_lm = p.weight(ty, FFN, LM_HIDDEN)?;
        let w_lm_down = p.weight(ty, LM_HIDDEN, FFN)?;
        let x1 = p.input(1, LM_HIDDEN)?;
        let a1 = p.input(1, FFN)?;
        p.time(&format!("matvec.{} 1x{LM_HIDDEN}·{FFN}", ty.name()), |be| be.matmul(x1, w_lm, None))?;
        p.time(&format!("matvec.{} 1x{FFN}·{LM_HIDDEN}", ty.name()), |be| be.matmul(a1, w_lm_down, None))?;
    }

    let gamma = p.weight(GgmlType::F32, 1, HIDDEN)?;
    let beta = p.weight(GgmlType::F32, 1, HIDDEN)?;
    for &m in &rows {
        let x = p.input(m, HIDDEN)?;
        let y = p.input(m, HIDDEN)?;
        let a = p.input(m, FFN)?;
        // Sequences of 16 tokens, as a batch of short sentences packs them.
        let bounds: Vec<u32> = (0..=m.div_ceil(16)).map(|b| (b * 16).min(m) as u32).collect();
        let spec = AttentionSpec { bounds: bounds.clone(), heads: HEADS, head_dim: HIDDEN / HEADS, causal: false, scale: 0.17 };
        p.time(&format!("add {m}x{HIDDEN}"), |be| be.add(x, y))?;
        p.time(&format!("layer_norm {m}x{HIDDEN}"), |be| be.layer_norm(x, gamma, beta, 1e-12))?;
        p.time(&format!("rms_norm {m}x{HIDDEN}"), |be| be.rms_norm(x, gamma, 1e-5))?;
        p.time(&format!("gelu {m}x{FFN}"), |be| be.gelu(a))?;
        p.time(&format!("swiglu {m}x{FFN}"), |be| be.swiglu(a, a))?;
        p.time(&format!("attention {m}x{HIDDEN} (seqs of 16)"), |be| be.attention(x, y, y, &spec))?;
        p.time(&format!("mean_pool {m}x{HIDDEN}"), |be| be.mean_pool(x, &bounds))?;
        p.time(&format!("l2_normalize {m}x{HIDDEN}"), |be| be.l2_normalize(x))?;
    }
    // Decoding attention: one query row against 128 cached rows.
    let kc = p.be.kv_cache(256, 192)?;
    let vc = p.be.kv_cache(256, 192)?;
    let kv = p.input(128, 192)?;
    p.be.cache_write(kc, kv, 0)?;
    p.be.cache_write(vc, kv, 0)?;
    let q1 = p.input(1, LM_HIDDEN)?;
    let cspec = CachedAttentionSpec { past: 127, heads: 9, kv_heads: 3, head_dim: 64, scale: 0.125 };
    p.time("attention_cached 1x576 past 127", |be| be.attention_cached(q1, kc, vc, &cspec))?;

    let report = json!({ "bench": "gpu-kernels", "adapter": ctx.describe(), "kernels": p.rows });
    let text = serde_json::to_string_pretty(&report).map_err(|e| AttuneError::Io(e.to_string()))?;
    println!("{text}");
    if let Some(out) = out {
        std::fs::write(&out, text + "\n").map_err(|e| AttuneError::Io(format!("{}: {e}", out.display())))?;
    }
    Ok(())
}

struct Profiler {
    be: GpuBackend,
    budget: Duration,
    rows: Vec<serde_json::Value>,
}

impl Profiler {
    /// A `rows x cols` weight of type `ty` with values spread like trained weights.
    fn weight(&mut self, ty: GgmlType, rows: usize, cols: usize) -> Result<Weight> {
        let data = pseudo_random(rows * cols, 0.05);
        let bytes: SharedBytes = Arc::new(quantize(ty, &data)?);
        self.be.weight(&WeightSource { name: format!("bench.{}", ty.name()), dtype: ty, rows, cols, bytes, offset: 0 })
    }

    fn input(&mut self, rows: usize, cols: usize) -> Result<Tensor> {
        let t = self.be.input(&pseudo_random(rows * cols, 1.0), rows, cols)?;
        self.wait()?;
        Ok(t)
    }

    /// Submits everything recorded and waits for the device to finish it.
    fn wait(&mut self) -> Result<()> {
        pollster::block_on(self.be.flush())?;
        self.be
            .context()
            .device
            .poll(wgpu::PollType::Wait)
            .map_err(|e| AttuneError::Compute(format!("waiting for the GPU: {e}")))?;
        Ok(())
    }

    /// Runs `op` alone (one submission, waited for) until the time budget is spent (at least
    /// 3 times after a warm-up) and records the median.
    fn time(&mut self, name: &str, mut op: impl FnMut(&mut GpuBackend) -> Result<Tensor>) -> Result<()> {
        let t = op(&mut self.be)?; // warm-up: the pipeline compiles, the pool fills
        self.wait()?;
        self.be.release(t);
        let mut times = Vec::new();
        let start = Instant::now();
        while times.len() < 3 || (start.elapsed() < self.budget && times.len() < 50) {
            let t0 = Instant::now();
            let t = op(&mut self.be)?;
            self.wait()?;
            times.push(t0.elapsed().as_secs_f64() * 1e3);
            self.be.release(t);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let median = times[times.len() / 2];
        eprintln!("{name:<40} {median:>10.3} ms  (n = {})", times.len());
        self.rows.push(json!({ "kernel": name, "median_ms": (median * 1000.0).round() / 1000.0, "runs": times.len() }));
        Ok(())
    }
}

/// Deterministic values in [-scale, scale] (a small LCG: the profile needs no real randomness).
fn pseudo_random(n: usize, scale: f32) -> Vec<f32> {
    let mut s = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}
