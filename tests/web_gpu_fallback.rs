//! Device choice in a browser without WebGPU: headless Chromium with the default
//! webdriver.json (`--disable-gpu`, no `--enable-unsafe-webgpu`), where `navigator.gpu` gives
//! no adapter. `auto` runs on the CPU and says why; `gpu` is refused with `gpu_unavailable`.
//! tests/web_gpu.rs runs the GPU side with webdriver-webgpu.json.

#![cfg(target_arch = "wasm32")]

use attune::web::Embedder;
use js_sys::{Array, Float32Array, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

static MODEL: &[u8] = include_bytes!("../models/out/minilm-l6-v2.q8_0.gguf");

#[wasm_bindgen_test]
async fn auto_without_webgpu_runs_on_the_cpu_and_reports_why() {
    let e = Embedder::create(MODEL.to_vec(), None).await.unwrap();
    assert_eq!(e.backend(), "cpu");
    assert_eq!(e.adapter(), None);
    let reason = e.fallback_reason().expect("a reason for not using the GPU");
    wasm_bindgen_test::console_log!("auto: cpu because {reason}");
    assert!(reason.contains("WebGPU is not available"), "{reason}");
    // It embeds exactly like the CPU-only `load`.
    let texts = vec!["a lantern in the meadow".to_string(), String::new()];
    let got = JsFuture::from(e.embed(texts.clone())).await.unwrap();
    let want = JsFuture::from(Embedder::load(MODEL).unwrap().embed(texts)).await.unwrap();
    let rows = |v: wasm_bindgen::JsValue| -> Vec<Vec<f32>> {
        v.dyn_into::<Array>().unwrap().iter().map(|x| x.dyn_into::<Float32Array>().unwrap().to_vec()).collect()
    };
    assert_eq!(rows(got), rows(want));
}

#[wasm_bindgen_test]
async fn gpu_without_webgpu_is_refused_with_a_code_and_cpu_has_no_reason() {
    let err = Embedder::create(MODEL.to_vec(), Some("gpu".into())).await.err().expect("no GPU here");
    let code = Reflect::get(&err, &"code".into()).unwrap().as_string().unwrap_or_default();
    assert_eq!(code, "gpu_unavailable");
    let bad = Embedder::create(MODEL.to_vec(), Some("tpu".into())).await.err().unwrap();
    assert_eq!(Reflect::get(&bad, &"code".into()).unwrap().as_string().unwrap_or_default(), "invalid_argument");
    let cpu = Embedder::create(MODEL.to_vec(), Some("cpu".into())).await.unwrap();
    assert_eq!((cpu.backend(), cpu.fallback_reason()), ("cpu".to_string(), None));
}
