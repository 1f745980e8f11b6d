//! The wasm build in headless Chromium (wasm-bindgen-test): the JS-facing `Embedder` on the
//! real Q8_0 model against the numpy reference, lone surrogates, error codes.
//! Run with `make test-browser`; needs `make models` first (the model is compiled in).

#![cfg(target_arch = "wasm32")]

use attune::web::Embedder;
use js_sys::{Array, Float32Array, Reflect};
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

static MODEL: &[u8] = include_bytes!("../models/out/minilm-l6-v2.q8_0.gguf");
static FIXTURE: &str = include_str!("fixtures/minilm_reference.json");

#[derive(Deserialize)]
struct Reference {
    sentences: Vec<String>,
    embeddings: Vec<Vec<f32>>,
}

async fn embed(e: &Embedder, texts: &[&str]) -> Result<Vec<Vec<f32>>, JsValue> {
    let arr = JsFuture::from(e.embed(texts.iter().map(|s| s.to_string()).collect())).await?;
    Ok(arr
        .dyn_into::<Array>()?
        .iter()
        .map(|v| v.dyn_into::<Float32Array>().map(|f| f.to_vec()))
        .collect::<Result<_, _>>()?)
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let n = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (n(a) * n(b))
}

fn code(err: &JsValue) -> String {
    Reflect::get(err, &"code".into()).ok().and_then(|c| c.as_string()).unwrap_or_default()
}

#[wasm_bindgen_test]
async fn q8_0_matches_the_reference_on_a_subset() {
    let reference: Reference = serde_json::from_str(FIXTURE).unwrap();
    let e = Embedder::load(MODEL).unwrap();
    assert_eq!(e.dim(), 384);
    // Every 6th sentence: short, long, CJK, emoji, code and the empty string all appear.
    let picks: Vec<usize> = (0..reference.sentences.len()).step_by(6).collect();
    let texts: Vec<&str> = picks.iter().map(|&i| reference.sentences[i].as_str()).collect();
    let got = embed(&e, &texts).await.unwrap();
    let cos: Vec<f64> = picks.iter().zip(&got).map(|(&i, g)| cosine(g, &reference.embeddings[i])).collect();
    let min = cos.iter().cloned().fold(f64::MAX, f64::min);
    let mean = cos.iter().sum::<f64>() / cos.len() as f64;
    assert!(min >= 0.99 && mean >= 0.995, "min {min}, mean {mean}");
}

#[wasm_bindgen_test]
async fn lone_surrogates_arrive_as_replacement_characters() {
    let e = Embedder::load(MODEL).unwrap();
    // A JS string with lone surrogates, converted exactly as wasm-bindgen converts arguments.
    let js = js_sys::JSON::parse(r#""\ud800 lone \udfff surrogates""#).unwrap();
    let text = js.as_string().unwrap();
    assert_eq!(text, "\u{fffd} lone \u{fffd} surrogates");
    let got = embed(&e, &[&text, "\u{fffd} lone \u{fffd} surrogates"]).await.unwrap();
    assert!(cosine(&got[0], &got[1]) > 0.999999);
}

#[wasm_bindgen_test]
async fn huge_and_empty_texts_are_defined() {
    let e = Embedder::load(MODEL).unwrap();
    let long = "lantern meadow ".repeat(7_000);
    let got = embed(&e, &["", &long[..100_000]]).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(e.tokenize(&long[..100_000]).unwrap().len(), 256);
    let too_big = "a".repeat(2 << 20);
    let err = embed(&e, &[&too_big]).await.unwrap_err();
    assert_eq!(code(&err), "input_too_large");
}

#[wasm_bindgen_test]
fn broken_models_are_refused_with_codes() {
    let err = Embedder::load(&MODEL[..1000]).err().unwrap();
    assert_eq!(code(&err), "model_format");
    assert_eq!(Reflect::get(&err, &"name".into()).unwrap().as_string().unwrap(), "AttuneError");
    let err = Embedder::load(b"not a model").err().unwrap();
    assert_eq!(code(&err), "model_format");
}
