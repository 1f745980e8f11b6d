//! Shared by the native integration tests: the reference fixture and the converted models.

#![allow(dead_code)]

use attune::compute::cpu::CpuBackend;
use attune::model::bert::Encoder;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

/// Reference embeddings computed by tests/reference/minilm_reference.py (numpy, no shared code).
#[derive(Deserialize)]
pub struct Reference {
    pub sentences: Vec<String>,
    pub token_ids: Vec<Vec<u32>>,
    pub embeddings: Vec<Vec<f32>>,
}

pub fn reference() -> Reference {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/minilm_reference.json");
    let text = std::fs::read_to_string(&path).expect("reference fixture is committed");
    serde_json::from_str(&text).expect("reference fixture parses")
}

pub fn models_dir() -> PathBuf {
    std::env::var_os("ATTUNE_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/out"))
}

/// Bytes of `models/out/<file>`; fails loudly (the models step is part of `make test`).
pub fn model_bytes(file: &str) -> Vec<u8> {
    let path = models_dir().join(file);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run `make models` first", path.display()))
}

pub fn encoder(quant: &str) -> Encoder {
    let bytes = model_bytes(&format!("minilm-l6-v2.{quant}.gguf"));
    Encoder::load(Arc::new(bytes), Box::new(CpuBackend::new())).expect("model loads")
}

pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    dot / (na * nb)
}
