//! The WebGPU backend in headless Chromium (wasm-bindgen-test) with `--enable-unsafe-webgpu`:
//! Chromium's WebGPU on SwiftShader. Every kernel against the CPU backend on random inputs
//! (sizes that are not multiples of the tiles), the whole model against the CPU and the numpy
//! reference, a lost device. Run by `make test-browser` with webdriver-webgpu.json
//! (WASM_BINDGEN_TEST_WEBDRIVER_JSON); tests/web_gpu_fallback.rs covers a browser without WebGPU.

#![cfg(target_arch = "wasm32")]

use attune::compute::cpu::CpuBackend;
use attune::compute::gpu::{GpuBackend, GpuContext};
use attune::compute::{AttentionSpec, Backend, SharedBytes, Tensor, WeightSource};
use attune::model::bert::Encoder;
use attune::quant::{quantize, GgmlType};
use attune::web::Embedder;
use attune::Result;
use js_sys::{Array, Float32Array};
use serde::Deserialize;
use std::sync::Arc;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

static MODEL: &[u8] = include_bytes!("../models/out/minilm-l6-v2.q8_0.gguf");
static FIXTURE: &str = include_str!("fixtures/minilm_reference.json");
static CHAT_MODEL: &[u8] = include_bytes!("../models/out/smollm2-135m-instruct.q4_1.gguf");

#[derive(Deserialize)]
struct Reference {
    sentences: Vec<String>,
    embeddings: Vec<Vec<f32>>,
}

async fn context() -> Arc<GpuContext> {
    match GpuContext::new().await {
        Ok(c) => c,
        Err(e) => panic!("no WebGPU adapter; this test needs Chromium with --enable-unsafe-webgpu: {e}"),
    }
}

/// Deterministic values in [-1, 1).
struct Rng(u64);

impl Rng {
    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n)
            .map(|_| {
                self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }
}

fn source(name: &str, ty: GgmlType, rows: usize, data: &[f32]) -> WeightSource {
    let bytes: SharedBytes = Arc::new(quantize(ty, data).unwrap());
    WeightSource { name: name.into(), dtype: ty, rows, cols: data.len() / rows, bytes, offset: 0 }
}

/// Runs `pass` on the GPU and on the CPU backend computing in the same precision (f32
/// activations), reads both results and checks |gpu - cpu| <= tol · (max|cpu| + |cpu|).
async fn compare(what: &str, ctx: &Arc<GpuContext>, tol: f32, pass: impl Fn(&mut dyn Backend) -> Result<Tensor>) {
    let mut gpu = GpuBackend::with_context(ctx.clone());
    let mut cpu = CpuBackend::new().float_activations(true);
    let tg = pass(&mut gpu).unwrap_or_else(|e| panic!("{what}: GPU: {e}"));
    let tc = pass(&mut cpu).unwrap_or_else(|e| panic!("{what}: CPU: {e}"));
    assert_eq!((tg.rows, tg.cols), (tc.rows, tc.cols), "{what}: shapes");
    let got = gpu.read(tg).await.unwrap_or_else(|e| panic!("{what}: GPU read: {e}"));
    let want = cpu.read(tc).await.unwrap();
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (scale + w.abs()),
            "{what}: element {i}: gpu {g} vs cpu {w} (scale {scale})"
        );
    }
    let s = gpu.stats();
    assert_eq!((s.submissions, s.readbacks), (1, 1), "{what}: one submission and one readback");
}

#[wasm_bindgen_test]
async fn matmul_every_weight_type_and_odd_sizes() {
    let ctx = context().await;
    let mut rng = Rng(1);
    let types = [GgmlType::F32, GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1];
    // (m, k, n): one row (matvec), tiles of 16 rows (m <= 32) or 64 rows, by 64 columns, each
    // partly filled and more than one; k is whole quant blocks (32).
    for (m, k, n) in [(37, 96, 45), (1, 64, 17), (16, 32, 16), (3, 160, 70), (70, 64, 130)] {
        let x = rng.vec(m * k);
        let w = rng.vec(n * k);
        let b = rng.vec(n);
        for ty in types {
            let (ws, bs) = (source("w", ty, n, &w), source("b", GgmlType::F32, 1, &b));
            let with_bias = n % 2 == 1;
            compare(&format!("matmul {} {m}x{k}·{n}", ty.name()), &ctx, 1e-4, |be| {
                let xt = be.input(&x, m, k)?;
                let wt = be.weight(&ws)?;
                let bt = be.weight(&bs)?;
                be.matmul(xt, wt, with_bias.then_some(bt))
            })
            .await;
        }
    }
}

#[wasm_bindgen_test]
async fn gather_add_norms_gelu_pool() {
    let ctx = context().await;
    let mut rng = Rng(2);
    let (rows, cols) = (19, 96);
    let table = rng.vec(23 * cols);
    let ids = [0u32, 22, 5, 5, 17, 3, 9, 11, 1, 2, 8, 13, 21, 20, 7, 6, 4, 10, 12];
    let x = rng.vec(rows * cols);
    let y = rng.vec(rows * cols);
    let (g, b) = (rng.vec(cols), rng.vec(cols));
    for ty in [GgmlType::F32, GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_0] {
        let ts = source("table", ty, 23, &table);
        compare(&format!("gather {}", ty.name()), &ctx, 1e-6, |be| {
            let t = be.weight(&ts)?;
            be.gather(t, &ids)
        })
        .await;
    }
    compare("add", &ctx, 1e-6, |be| {
        let a = be.input(&x, rows, cols)?;
        let c = be.input(&y, rows, cols)?;
        be.add(a, c)
    })
    .await;
    let (gs, bs) = (source("gamma", GgmlType::F32, 1, &g), source("beta", GgmlType::F16, 1, &b));
    compare("layer_norm", &ctx, 1e-4, |be| {
        let a = be.input(&x, rows, cols)?;
        let (gw, bw) = (be.weight(&gs)?, be.weight(&bs)?);
        be.layer_norm(a, gw, bw, 1e-12)
    })
    .await;
    let big: Vec<f32> = x.iter().map(|v| v * 6.0).collect();
    compare("gelu", &ctx, 1e-5, |be| {
        let a = be.input(&big, rows, cols)?;
        be.gelu(a)
    })
    .await;
    let bounds = [0u32, 7, 7, 19];
    compare("mean_pool (with an empty sequence)", &ctx, 1e-5, |be| {
        let a = be.input(&x, rows, cols)?;
        be.mean_pool(a, &bounds)
    })
    .await;
    let mut z = x.clone();
    z[cols..2 * cols].fill(0.0);
    compare("l2_normalize (with a zero row)", &ctx, 1e-5, |be| {
        let a = be.input(&z, rows, cols)?;
        be.l2_normalize(a)
    })
    .await;
}

#[wasm_bindgen_test]
async fn attention_causal_and_not() {
    let ctx = context().await;
    let mut rng = Rng(3);
    let (heads, head_dim) = (3, 20);
    let rows = 29;
    let cols = heads * head_dim;
    let (q, k, v) = (rng.vec(rows * cols), rng.vec(rows * cols), rng.vec(rows * cols));
    for causal in [false, true] {
        let spec = AttentionSpec { bounds: vec![0, 13, 13, 29], heads, head_dim, causal, scale: 0.3 };
        compare(&format!("attention causal={causal}"), &ctx, 1e-4, |be| {
            let (qt, kt, vt) = (be.input(&q, rows, cols)?, be.input(&k, rows, cols)?, be.input(&v, rows, cols)?);
            be.attention(qt, kt, vt, &spec)
        })
        .await;
    }
}

async fn embed(e: &Embedder, texts: &[&str]) -> Vec<Vec<f32>> {
    let arr = JsFuture::from(e.embed(texts.iter().map(|s| s.to_string()).collect())).await.unwrap();
    arr.dyn_into::<Array>().unwrap().iter().map(|v| v.dyn_into::<Float32Array>().unwrap().to_vec()).collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let n = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (n(a) * n(b))
}

fn min_mean(v: impl Iterator<Item = f64>) -> (f64, f64) {
    let v: Vec<f64> = v.collect();
    (v.iter().cloned().fold(f64::MAX, f64::min), v.iter().sum::<f64>() / v.len() as f64)
}

/// The whole Q8_0 model through the JS facade on WebGPU: the reference thresholds of
/// tests/web.rs, ≥ 0.9999 against the CPU in the same precision (f32 activations), and
/// ≥ 0.998 against the default CPU path, which rounds activations to 8 bits (as tests/gpu.rs).
#[wasm_bindgen_test]
async fn whole_model_on_webgpu_matches_the_cpu_and_the_reference() {
    let reference: Reference = serde_json::from_str(FIXTURE).unwrap();
    let e = Embedder::create(MODEL.to_vec(), Some("gpu".into())).await.unwrap();
    assert_eq!(e.backend(), "webgpu");
    assert!(e.adapter().is_some() && e.fallback_reason().is_none());
    // Every 12th sentence (short, a 1,612-char text, emoji, Hebrew, code, accents,
    // spacing and number oddities): SwiftShader runs the GPU slowly on this CPU.
    let picks: Vec<usize> = (0..reference.sentences.len()).step_by(12).collect();
    let texts: Vec<&str> = picks.iter().map(|&i| reference.sentences[i].as_str()).collect();
    let got = embed(&e, &texts).await;
    assert_eq!(e.backend(), "webgpu", "no fallback happened: {:?}", e.fallback_reason());
    let (min, mean) = min_mean(picks.iter().zip(&got).map(|(&i, g)| cosine(g, &reference.embeddings[i])));
    let cpu = embed(&Embedder::load(MODEL).unwrap(), &texts).await;
    let (vs_cpu, _) = min_mean(got.iter().zip(&cpu).map(|(g, c)| cosine(g, c)));
    let mut same = Encoder::load(Arc::new(MODEL.to_vec()), Box::new(CpuBackend::new().float_activations(true))).unwrap();
    let want = same.embed(&texts).await.unwrap();
    let (vs_same, _) = min_mean(got.iter().zip(&want).map(|(g, c)| cosine(g, c)));
    web_sys_log(&format!(
        "adapter {:?}: vs reference min {min:.6} mean {mean:.6}; vs CPU {vs_cpu:.6}; vs CPU f32 activations {vs_same:.7}",
        e.adapter()
    ));
    assert!(min >= 0.99 && mean >= 0.995, "vs reference: min {min}, mean {mean}");
    assert!(vs_same >= 0.9999, "vs CPU in the same precision: {vs_same}");
    assert!(vs_cpu >= 0.998, "vs CPU: {vs_cpu}");
}

/// `device.destroy()` between two calls: the second still resolves, with the CPU's vectors,
/// and the report says the GPU failed.
#[wasm_bindgen_test]
async fn a_destroyed_device_falls_back_to_the_cpu() {
    let ctx = context().await;
    let reference: Reference = serde_json::from_str(FIXTURE).unwrap();
    let texts: Vec<&str> = reference.sentences.iter().take(3).map(String::as_str).collect();
    let mut enc = Encoder::load(Arc::new(MODEL.to_vec()), Box::new(GpuBackend::with_context(ctx.clone()))).unwrap();
    enc.embed(&texts).await.unwrap();
    ctx.device.destroy();
    let after = enc.embed(&texts).await.unwrap();
    assert_eq!(enc.backend_name(), "cpu");
    let reason = enc.device().fallback_reason.clone().unwrap_or_default();
    web_sys_log(&format!("after destroy(): {}", enc.device()));
    assert!(reason.contains("GPU"), "{reason}");
    let mut cpu = Encoder::load(Arc::new(MODEL.to_vec()), Box::new(CpuBackend::new())).unwrap();
    assert_eq!(after, cpu.embed(&texts).await.unwrap());
}

/// The chat model through the JS facade on WebGPU: `Assistant.create` with `device: 'gpu'`
/// streams the reference's greedy start (" 100°C" begins " ", "1", "0") and reports the adapter.
#[wasm_bindgen_test]
async fn the_assistant_replies_on_webgpu() {
    use attune::web::Assistant;
    let options = js_sys::JSON::parse(r#"{"device":"gpu","context":64}"#).unwrap();
    let a = Assistant::create(CHAT_MODEL.to_vec(), options).await.unwrap();
    assert_eq!(a.backend(), "webgpu");
    assert!(a.adapter().is_some() && a.fallback_reason().is_none());
    let stream = a.complete("Water boils at".into(), js_sys::JSON::parse(r#"{"maxTokens":3}"#).unwrap()).unwrap();
    let mut text = String::new();
    loop {
        let next = js_sys::Reflect::get(&stream, &"next".into()).unwrap().dyn_into::<js_sys::Function>().unwrap();
        let r = JsFuture::from(next.call0(&stream).unwrap().dyn_into::<js_sys::Promise>().unwrap()).await.unwrap();
        if js_sys::Reflect::get(&r, &"done".into()).unwrap().as_bool().unwrap() {
            break;
        }
        text.push_str(&js_sys::Reflect::get(&r, &"value".into()).unwrap().as_string().unwrap());
    }
    web_sys_log(&format!("assistant on {:?}: {text:?}", a.adapter()));
    assert_eq!(text, " 10");
    assert_eq!(a.backend(), "webgpu", "no fallback: {:?}", a.fallback_reason());
}

/// `device.destroy()` in the middle of a reply: the reply still gets all its tokens, the rest
/// of them computed on the CPU, and the report says the GPU failed.
#[wasm_bindgen_test]
async fn a_reply_survives_a_destroyed_device() {
    use attune::assistant::{Assistant, FinishReason, ReplyOptions};
    let ctx = context().await;
    let bytes: SharedBytes = Arc::new(CHAT_MODEL.to_vec());
    let mut a = Assistant::load_with_context(bytes, Box::new(GpuBackend::with_context(ctx.clone())), Some(64)).unwrap();
    let mut g = a.start_raw("Water boils at", &ReplyOptions { max_tokens: 4, ..Default::default() }).unwrap();
    let mut text = a.next_piece(&mut g).await.unwrap().expect("a first piece");
    assert_eq!(a.device().backend, "webgpu");
    ctx.device.destroy();
    while let Some(p) = a.next_piece(&mut g).await.unwrap() {
        text.push_str(&p);
    }
    web_sys_log(&format!("after destroy(): {} — {text:?}", a.device()));
    assert_eq!((g.finish_reason(), g.tokens().len()), (Some(FinishReason::MaxTokens), 4));
    assert_eq!(a.device().backend, "cpu");
    assert!(a.device().fallback_reason.as_deref().is_some_and(|r| r.contains("GPU")));
    assert!(text.starts_with(" 10"), "{text:?}");
}

fn web_sys_log(s: &str) {
    wasm_bindgen_test::console_log!("{s}");
}
