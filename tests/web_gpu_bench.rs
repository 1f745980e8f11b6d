//! Benchmark, not a test: embeddings per second on WebGPU (Chromium's SwiftShader with
//! `--enable-unsafe-webgpu`, so the GPU is emulated on the CPU here) against the CPU backend
//! (wasm simd128), Q8_0 MiniLM at batch 1 and batch 32, with the GPU's submissions, dispatches
//! and readbacks per call. Prints one JSON line (`ATTUNE_BENCH {...}`); `make bench-gpu`.

#![cfg(target_arch = "wasm32")]

use attune::compute::cpu::CpuBackend;
use attune::compute::gpu::{GpuBackend, GpuContext, GpuStats};
use attune::compute::Backend;
use attune::model::bert::Encoder;
use std::sync::Arc;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

static MODEL: &[u8] = include_bytes!("../models/out/minilm-l6-v2.q8_0.gguf");
static CORPUS: &str = include_str!("../www/bench-corpus.txt");

fn now_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| js_sys::Reflect::get(&p, &"now".into()).ok().map(|f| (p, f)))
        .and_then(|(p, f)| js_sys::Function::from(f).call0(&p).ok())
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
}

fn work(a: Option<GpuStats>, b: Option<GpuStats>, calls: usize) -> String {
    match a.zip(b) {
        Some((a, b)) => format!(
            "{{\"submissions\":{:.2},\"dispatches\":{:.2},\"readbacks\":{:.2}}}",
            (b.submissions - a.submissions) as f64 / calls as f64,
            (b.dispatches - a.dispatches) as f64 / calls as f64,
            (b.readbacks - a.readbacks) as f64 / calls as f64
        ),
        None => "null".into(),
    }
}

/// (device, batch-1 sentences/s, batch-32 sentences/s, work per call at 1 and 32) as JSON.
async fn bench(device: &str, backend: Box<dyn Backend>, sentences: &[&str]) -> String {
    let mut enc = Encoder::load(Arc::new(MODEL.to_vec()), backend).unwrap();
    enc.embed(&sentences[..32]).await.unwrap(); // warm-up: pipelines, pool
    // SwiftShader runs a MiniLM pass in seconds: few calls keep the run within the test timeout.
    let n1 = 4;
    let s0 = enc.gpu_stats();
    let t0 = now_ms();
    for s in &sentences[..n1] {
        enc.embed(&[s]).await.unwrap();
    }
    let b1 = n1 as f64 * 1000.0 / (now_ms() - t0);
    let s1 = enc.gpu_stats();
    let rounds = 1;
    let t0 = now_ms();
    for r in 0..rounds {
        enc.embed(&sentences[r * 32..r * 32 + 32]).await.unwrap();
    }
    let b32 = (rounds * 32) as f64 * 1000.0 / (now_ms() - t0);
    let s2 = enc.gpu_stats();
    assert_eq!(enc.backend_name(), if device == "cpu" { "cpu" } else { "webgpu" }, "no fallback during the bench");
    format!(
        "{{\"device\":\"{device}\",\"batch1_sentences_per_s\":{b1:.2},\"batch32_sentences_per_s\":{b32:.2},\
         \"batch1_gpu_work_per_call\":{},\"batch32_gpu_work_per_call\":{}}}",
        work(s0, s1, n1),
        work(s1, s2, rounds)
    )
}

#[wasm_bindgen_test]
async fn bench_embed_webgpu_vs_cpu() {
    let sentences: Vec<&str> = CORPUS.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(sentences.len() >= 64);
    let ctx = GpuContext::new().await.expect("WebGPU (run with webdriver-webgpu.json)");
    let adapter = ctx.describe();
    let gpu = bench("webgpu", Box::new(GpuBackend::with_context(ctx)), &sentences).await;
    let cpu = bench("cpu", Box::new(CpuBackend::new()), &sentences).await;
    wasm_bindgen_test::console_log!(
        "ATTUNE_BENCH {{\"bench\":\"embed\",\"where\":\"browser\",\"model\":\"minilm-l6-v2.q8_0\",\"adapter\":{:?},\"results\":[{gpu},{cpu}]}}",
        adapter
    );
}
