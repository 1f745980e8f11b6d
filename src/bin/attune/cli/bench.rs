//! `attune bench`: sentences per second at batch 1 and batch 32 for each quant type, natively,
//! as a JSON report. Times are wall-clock on a shared machine: compare ratios within one run.

use super::{load_encoder, optional, read_file};
use attune::compute::device::DeviceChoice;
use attune::{AttuneError, Result};
use pico_args::Arguments;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

pub fn run(mut args: Arguments) -> Result<()> {
    let dir: PathBuf = optional(&mut args, "--models-dir")?.unwrap_or_else(|| "models/out".into());
    let types: String = optional(&mut args, "--types")?.unwrap_or_else(|| "q8_0,f16,q4_0,f32".into());
    let corpus: PathBuf = optional(&mut args, "--corpus")?.unwrap_or_else(|| "www/bench-corpus.txt".into());
    let out: Option<PathBuf> = optional(&mut args, "--out")?;
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
        let path = dir.join(format!("minilm-l6-v2.{ty}.gguf"));
        let t0 = Instant::now();
        let mut enc = load_encoder(&path, DeviceChoice::Cpu)?;
        let load_ms = t0.elapsed().as_secs_f64() * 1e3;
        let tokens: usize = sentences.iter().map(|s| enc.tokenize(s).map(|t| t.len())).sum::<Result<_>>()?;

        pollster::block_on(enc.embed(&sentences[..4]))?; // warm-up
        let t0 = Instant::now();
        for s in &sentences {
            pollster::block_on(enc.embed(&[s]))?;
        }
        let batch1 = sentences.len() as f64 / t0.elapsed().as_secs_f64();

        let rounds = 3;
        let t0 = Instant::now();
        for r in 0..rounds {
            let start = (r * 32) % (sentences.len() - 31);
            pollster::block_on(enc.embed(&sentences[start..start + 32]))?;
        }
        let batch32 = (rounds * 32) as f64 / t0.elapsed().as_secs_f64();

        let row = json!({
            "type": ty,
            "file_bytes": std::fs::metadata(&path)?.len(),
            "load_ms": round2(load_ms),
            "mean_tokens": round2(tokens as f64 / sentences.len() as f64),
            "batch1_sentences_per_s": round2(batch1),
            "batch32_sentences_per_s": round2(batch32),
        });
        eprintln!("{row}");
        results.push(row);
    }
    let report = json!({
        "bench": "embed",
        "where": "native",
        "backend": "cpu",
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

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
