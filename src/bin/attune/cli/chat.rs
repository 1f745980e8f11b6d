//! `attune chat`: a reply from a local chat model, streamed to stdout as it is generated;
//! `attune bench-chat`: prompt and decode tokens per second as JSON.

use super::{optional, positionals, read_file, required};
use attune::assistant::{Assistant, ReplyOptions};
use attune::compute::cpu::CpuBackend;
use attune::compute::device::DeviceChoice;
use attune::model::chat_template::ChatMessage;
use attune::model::sampler::SamplerOptions;
use attune::{AttuneError, Result};
use pico_args::Arguments;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Loads the chat model onto `device`; says on stderr what it runs on.
fn load(model: &PathBuf, device: DeviceChoice) -> Result<Assistant> {
    let a = pollster::block_on(Assistant::load_on(Arc::new(read_file(model)?), device, None))?;
    eprintln!("attune: device: {}", a.device());
    Ok(a)
}

pub fn run(mut args: Arguments) -> Result<()> {
    let model: PathBuf = required(&mut args, "--model")?;
    let system: Option<String> = optional(&mut args, "--system")?;
    let max_tokens: usize = optional(&mut args, "--max-tokens")?.unwrap_or(256);
    let temperature: f32 = optional(&mut args, "--temperature")?.unwrap_or(0.0);
    let seed: u64 = optional(&mut args, "--seed")?.unwrap_or(0);
    let top_k: usize = optional(&mut args, "--top-k")?.unwrap_or(40);
    let top_p: f32 = optional(&mut args, "--top-p")?.unwrap_or(0.95);
    let repetition_penalty: f32 = optional(&mut args, "--repeat-penalty")?.unwrap_or(1.0);
    let dry_multiplier: f32 = optional(&mut args, "--dry-multiplier")?.unwrap_or(SamplerOptions::reply().dry_multiplier);
    let stop: Vec<String> = args
        .values_from_str("--stop")
        .map_err(|e| AttuneError::InvalidArgument(format!("--stop: {e}")))?;
    let raw = args.contains("--raw");
    let device: DeviceChoice = optional(&mut args, "--device")?.unwrap_or_default();
    let prompt = positionals(args)?.join(" ");
    if prompt.is_empty() {
        return Err(AttuneError::InvalidArgument("chat needs a PROMPT".into()));
    }
    if raw && system.is_some() {
        return Err(AttuneError::InvalidArgument("--system has no meaning with --raw".into()));
    }
    let opts = ReplyOptions {
        max_tokens,
        sampling: SamplerOptions { temperature, top_k, top_p, repetition_penalty, dry_multiplier, seed, ..SamplerOptions::reply() },
        stop,
        ..Default::default()
    };
    let mut assistant = load(&model, device)?;
    let before = assistant.device().clone();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut write_err = None;
    let mut on_piece = |p: &str| match out.write_all(p.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => ControlFlow::Continue(()),
        Err(e) => {
            write_err = Some(e); // e.g. a closed pipe: stop generating
            ControlFlow::Break(())
        }
    };
    if raw {
        pollster::block_on(assistant.complete(&prompt, &opts, &mut on_piece))?;
    } else {
        let mut messages = Vec::new();
        messages.extend(system.map(ChatMessage::system));
        messages.push(ChatMessage::user(prompt));
        pollster::block_on(assistant.reply(&messages, &opts, &mut on_piece))?;
    }
    if let Some(e) = write_err {
        return Err(e.into());
    }
    if *assistant.device() != before {
        eprintln!("attune: device: {}", assistant.device()); // the GPU failed mid-reply
    }
    let mut out = std::io::stdout().lock();
    out.write_all(b"\n")?;
    Ok(())
}

/// Prompt processing and greedy decoding speed (no sampling cost beyond argmax).
pub fn bench(mut args: Arguments) -> Result<()> {
    let model: PathBuf = required(&mut args, "--model")?;
    let tokens: usize = optional(&mut args, "--tokens")?.unwrap_or(128);
    let repeats: usize = optional(&mut args, "--repeats")?.unwrap_or(3).max(1);
    let device: DeviceChoice = optional(&mut args, "--device")?.unwrap_or(DeviceChoice::Cpu);
    positionals(args)?;
    let mut a = load(&model, device)?;
    let messages = [ChatMessage::user(
        "Write a detailed story about a lighthouse keeper who finds a message in a bottle, \
         and describe the sea, the weather and the town in the morning, at noon and at night.",
    )];
    let prompt = a.chat_prompt(&messages)?.0;
    let (mut best_prompt, mut best_decode) = (0f64, 0f64);
    let mut generated = 0;
    for _ in 0..repeats {
        let t = Instant::now();
        let mut decoder_logits = pollster::block_on(async {
            // A fresh cache each time: the whole prompt is processed.
            a.reset();
            a.logits(&prompt).await
        })?;
        best_prompt = best_prompt.max(prompt.len() as f64 / t.elapsed().as_secs_f64());
        let mut ids = prompt.clone();
        let t = Instant::now();
        for _ in 0..tokens {
            let next = attune::model::sampler::argmax(&decoder_logits)?;
            ids.push(next);
            decoder_logits = pollster::block_on(a.logits(&ids))?;
        }
        generated = tokens;
        best_decode = best_decode.max(tokens as f64 / t.elapsed().as_secs_f64());
    }
    let per_token = gpu_work_of_one_step(&mut a, &prompt)?;
    let json = serde_json::json!({
        "model": model.file_name().map(|f| f.to_string_lossy().into_owned()),
        "backend": a.device().backend,
        "adapter": a.device().adapter,
        "fallback_reason": a.device().fallback_reason,
        "kernels": if a.device().backend == "cpu" { Some(CpuBackend::new().kernels_name()) } else { None },
        "gpu_work_per_decode_token": per_token,
        "threads": 1,
        "prompt_tokens": prompt.len(),
        "prompt_tokens_per_s": (best_prompt * 10.0).round() / 10.0,
        "decode_tokens": generated,
        "decode_tokens_per_s": (best_decode * 10.0).round() / 10.0,
        "repeats": repeats,
        "peak_rss_bytes": peak_rss_bytes(),
    });
    println!("{json}");
    Ok(())
}

/// Submissions, dispatches and readbacks of one decode step after `prompt` (`None` on the CPU).
fn gpu_work_of_one_step(a: &mut Assistant, prompt: &[u32]) -> Result<Option<serde_json::Value>> {
    let mut ids = prompt.to_vec();
    ids.push(attune::model::sampler::argmax(&pollster::block_on(a.logits(&ids))?)?);
    let Some(before) = a.decoder().gpu_stats() else { return Ok(None) };
    pollster::block_on(a.logits(&ids))?;
    Ok(a.decoder().gpu_stats().map(|after| {
        serde_json::json!({
            "submissions": after.submissions - before.submissions,
            "dispatches": after.dispatches - before.dispatches,
            "readbacks": after.readbacks - before.readbacks,
        })
    }))
}

/// The process's peak resident memory (Linux `VmHWM`), or `None` where /proc has no such line.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
