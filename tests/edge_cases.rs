//! Inputs at the edges: empty and huge texts, and model files that are broken in every part.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use attune::compute::cpu::CpuBackend;
use attune::model::bert::Encoder;
use attune::model::tokenizer::MAX_TEXT_BYTES;
use common::{cosine, encoder, model_bytes};
use std::sync::Arc;

fn load(bytes: Vec<u8>) -> attune::Result<Encoder> {
    Encoder::load(Arc::new(bytes), Box::new(CpuBackend::new()))
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

#[test]
fn the_empty_string_is_cls_sep_and_embeds_to_a_unit_vector() {
    let mut enc = encoder("q8_0");
    assert_eq!(enc.tokenize("").unwrap(), vec![101, 102]);
    let v = pollster::block_on(enc.embed(&[""])).unwrap();
    assert_eq!(v[0].len(), 384);
    assert!((norm(&v[0]) - 1.0).abs() < 1e-4);
}

#[test]
fn no_texts_give_no_embeddings() {
    let mut enc = encoder("q8_0");
    assert!(pollster::block_on(enc.embed(&[])).unwrap().is_empty());
}

#[test]
fn a_100k_character_text_is_truncated_to_256_pieces() {
    let mut enc = encoder("q8_0");
    let words = ["river", "mountain", "bicycle", "jazz", "harbour", "lantern", "meadow"];
    let long: String = (0..20_000).map(|i| words[i % words.len()]).collect::<Vec<_>>().join(" ");
    let long = &long[..100_000];
    assert_eq!(enc.tokenize(long).unwrap().len(), 256);
    // Only the first 256 pieces count, so a much shorter prefix embeds identically.
    let prefix = &long[..5_000];
    let v = pollster::block_on(enc.embed(&[long, prefix])).unwrap();
    assert!((norm(&v[0]) - 1.0).abs() < 1e-4);
    assert!(cosine(&v[0], &v[1]) > 0.999999);
}

#[test]
fn a_text_over_the_byte_limit_is_refused_with_a_code() {
    let mut enc = encoder("q8_0");
    let huge = "a ".repeat(MAX_TEXT_BYTES / 2 + 1);
    let err = pollster::block_on(enc.embed(&["fine", &huge])).unwrap_err();
    assert_eq!(err.code(), "input_too_large");
    // The encoder is still usable afterwards.
    assert_eq!(pollster::block_on(enc.embed(&["fine"])).unwrap().len(), 1);
}

#[test]
fn truncated_model_files_are_clear_errors() {
    let bytes = model_bytes("minilm-l6-v2.q4_0.gguf");
    // Cut inside the header, the metadata (the tokenizer JSON is large), the tensor table and
    // the weights.
    let cuts = [0, 3, 7, 15, 23, 100, 4_000, 200_000, 600_000, 900_000, bytes.len() / 2, bytes.len() - 1];
    for cut in cuts {
        let err = load(bytes[..cut].to_vec()).err().unwrap_or_else(|| panic!("cut at {cut} loaded"));
        assert_eq!(err.code(), "model_format", "cut at {cut}: {err}");
    }
}

#[test]
fn corrupted_headers_metadata_and_tensor_tables_are_clear_errors() {
    let good = model_bytes("minilm-l6-v2.q4_0.gguf");
    let corrupt = |at: usize, with: &[u8]| {
        let mut b = good.clone();
        b[at..at + with.len()].copy_from_slice(with);
        load(b).err().unwrap_or_else(|| panic!("corruption at {at} loaded"))
    };
    // Magic, version, tensor count, metadata count.
    assert_eq!(corrupt(0, b"GGUX").code(), "model_format");
    // A future version is refused as unsupported, not misread.
    assert_eq!(corrupt(4, &99u32.to_le_bytes()).code(), "model_unsupported");
    assert_eq!(corrupt(8, &u64::MAX.to_le_bytes()).code(), "model_format");
    assert_eq!(corrupt(16, &(1u64 << 60).to_le_bytes()).code(), "model_format");
    // The first metadata key's length, then its value type.
    assert_eq!(corrupt(24, &u64::MAX.to_le_bytes()).code(), "model_format");
    let key_len = u64::from_le_bytes(good[24..32].try_into().unwrap()) as usize;
    assert_eq!(corrupt(32 + key_len, &0xdead_beefu32.to_le_bytes()).code(), "model_format");
    // A tensor's type id and offset, found by its name in the tensor table.
    let name = b"blk.0.attn_q.weight";
    let at = good.windows(name.len()).position(|w| w == name).unwrap() + name.len();
    // name, then n_dims u32, dims 2 x u64, type u32, offset u64.
    let type_at = at + 4 + 16;
    assert_eq!(corrupt(type_at, &77u32.to_le_bytes()).code(), "model_unsupported");
    assert_eq!(corrupt(type_at + 4, &(u64::MAX - 31).to_le_bytes()).code(), "model_format");
    assert_eq!(corrupt(at, &9u32.to_le_bytes()).code(), "model_format");
}

#[test]
fn a_chat_model_is_not_an_embedder() {
    let err = load(model_bytes("smollm2-135m-instruct.q4_1.gguf")).err().unwrap();
    assert_eq!(err.code(), "model_unsupported");
}

#[test]
fn random_bytes_are_not_a_model() {
    let noise: Vec<u8> = (0..10_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    assert_eq!(load(noise).err().unwrap().code(), "model_format");
}
