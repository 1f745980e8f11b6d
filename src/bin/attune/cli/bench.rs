//! `attune bench`: sentences per second at batch 1 and batch 32 for each quant type and device
//! (cpu, gpu), natively, as a JSON report; on the GPU also the submissions, dispatches and
//! readbacks per call. Times are wall-clock on a shared machine: compare ratios within one run.

use super::{load_encoder, optional, read_file};
use attune::compute::device::DeviceChoice;
use attune::{AttuneError, Result};
use pico_args::Arguments;
use serde_json::json;
use attune::compute::gpu::GpuStats;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub fn run(mut args: Arguments) -> Result<()> {
    let dir: PathBuf = optional(&mut args, "--models-dir")?.unwrap_or_else(|| "models/out".into());
    let types: String = optional(&mut args, "--types")?.unwrap_or_else(|| "q8_0,f16,q4_0,f32".into());
    let corpus: PathBuf = optional(&mut args, "--corpus")?.unwrap_or_else(|| "www/bench-corpus.txt".into());
    let out: Option<PathBuf> = optional(&mut args, "--out")?;
    let devices: String = optional(&mut args, "--devices")?.unwrap_or_else(|| "cpu".into());
    let devices = devices.split(',').map(str::parse).collect::<Result<Vec<DeviceChoice>>>()?;
    super::positionals(args)?.is_empty().then_some(()).ok_or_else(|| {
        AttuneError::InvalidArgument("bench takes no positional arguments".into())
    })?;

    let text = String::from_utf8(read_file(&corpus)?)
        .map_err(|_| AttuneError::InvalidArgument(format!("{} is not UTF-8", corpus.display())))?;
    let sentences: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if sentences.len() < 32 {
        return Err(AttuneError::InvalidArgument("the corpus needs at least 32 sentences".into()));
    }

    let mut results = Vec::new();
    for ty in types.split(',') {
        for &device in &devices {
            results.push(bench_one(&dir, ty, device, &sentences)?);
        }
    }
    let report = json!({
        "bench": "embed",
        "where": "native",
        "threads": 1,
        "arch": std::env::consts::ARCH,
        "corpus": corpus.display().to_string(),
        "sentences": sentences.len(),
        "results": results,
    });
    let text = serde_json::to_string_pretty(&report).map_err(|e| AttuneError::Io(e.to_string()))?;
    println!("{text}");
    if let Some(out) = out {
        std::fs::write(&out, text + "\n").map_err(|e| AttuneError::Io(format!("{}: {e}", out.display())))?;
    }
    Ok(())
}

/// One quant type on one device: load time, sentences/s at batch 1 (each sentence its own
/// call) and batch 32, and the GPU's work per call.
fn bench_one(dir: &Path, ty: &str, device: DeviceChoice, sentences: &[&str]) -> Result<serde_json::Value> {
    let path = dir.join(format!("minilm-l6-v2.{ty}.gguf"));
    let t0 = Instant::now();
    let mut enc = load_encoder(&path, device)?;
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let tokens: usize = sentences.iter().map(|s| enc.tokenize(s).map(|t| t.len())).sum::<Result<_>>()?;

    pollster::block_on(enc.embed(&sentences[..4]))?; // warm-up: pipelines compiled, pool filled
    let s0 = enc.gpu_stats();
    let t0 = Instant::now();
    for s in sentences {
        pollster::block_on(enc.embed(&[s]))?;
    }
    let batch1 = sentences.len() as f64 / t0.elapsed().as_secs_f64();
    let s1 = enc.gpu_stats();

    let rounds = 3;
    let t0 = Instant::now();
    for r in 0..rounds {
        let start = (r * 32) % (sentences.len() - 31);
        pollster::block_on(enc.embed(&sentences[start..start + 32]))?;
    }
    let batch32 = (rounds * 32) as f64 / t0.elapsed().as_secs_f64();
    let s2 = enc.gpu_stats();
    let per_call = |a: Option<GpuStats>, b: Option<GpuStats>, calls: usize| {
        a.zip(b).map(|(a, b)| {
            let f = |x: u64| round2(x as f64 / calls as f64);
            json!({
                "submissions": f(b.submissions - a.submissions),
                "dispatches": f(b.dispatches - a.dispatches),
                "readbacks": f(b.readbacks - a.readbacks),
            })
        })
    };
    let row = json!({
        "type": ty,
        "device": enc.device().backend,
        "adapter": enc.device().adapter,
        "fallback_reason": enc.device().fallback_reason,
        "file_bytes": std::fs::metadata(&path)?.len(),
        "load_ms": round2(load_ms),
        "mean_tokens": round2(tokens as f64 / sentences.len() as f64),
        "batch1_sentences_per_s": round2(batch1),
        "batch32_sentences_per_s": round2(batch32),
        "batch1_gpu_work_per_call": per_call(s0, s1, sentences.len()),
        "batch32_gpu_work_per_call": per_call(s1, s2, rounds),
    });
    eprintln!("{row}");
    Ok(row)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
