//! A `bert` GGUF as llama.cpp writes it carries no tokenizer.json, only `tokenizer.ggml.*`.
//! The encoder rebuilds the WordPiece tokenizer from that vocabulary; it must tokenize exactly
//! as the Hugging Face tokenizer does.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use attune::compute::cpu::CpuBackend;
use attune::model::bert::Encoder;
use attune::model::gguf::{GgufFile, GgufWriter};
use common::{model_bytes, reference};
use std::sync::Arc;

/// The Q8_0 model rewritten without `tokenizer.huggingface.json`.
fn without_hf_tokenizer() -> Vec<u8> {
    let bytes = model_bytes("minilm-l6-v2.q8_0.gguf");
    let file = GgufFile::parse(&bytes).unwrap();
    let mut w = GgufWriter::new();
    for (key, value) in file.metadata() {
        if key != "tokenizer.huggingface.json" {
            w.add(key.clone(), value.clone()).unwrap();
        }
    }
    for t in file.tensors() {
        w.add_tensor(t.name.clone(), &t.dims, t.ty, file.tensor_data(t).to_vec()).unwrap();
    }
    w.to_bytes().unwrap()
}

#[test]
fn the_ggml_vocabulary_tokenizes_like_tokenizer_json() {
    let bytes = without_hf_tokenizer();
    assert!(!GgufFile::parse(&bytes).unwrap().contains_key("tokenizer.huggingface.json"));
    let enc = Encoder::load(Arc::new(bytes), Box::new(CpuBackend::new())).unwrap();
    let reference = reference();
    let mut differ = Vec::new();
    for (s, want) in reference.sentences.iter().zip(&reference.token_ids) {
        if &enc.tokenize(s).unwrap() != want {
            differ.push(s.clone());
        }
    }
    assert!(differ.is_empty(), "{} of {} sentences tokenize differently: {differ:#?}",
        differ.len(), reference.sentences.len());
}
