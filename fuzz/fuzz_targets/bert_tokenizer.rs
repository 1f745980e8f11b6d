//! The embedder's BERT WordPiece tokenizer built from a hostile vocabulary (see
//! `common/vocab_input.rs`), then arbitrary UTF-8 encoded. Header bytes: 0 how it is built
//! (0: llama.cpp's `tokenizer.ggml.*` in a GGUF, 1: a tokenizer.json around the vocabulary,
//! 2: the text section itself as tokenizer.json), 1–3 the unknown, CLS and SEP ids, 4
//! normalizer flags, 5 `max_len`, 6 `max_input_chars_per_word`.
#![no_main]

#[path = "common/vocab_input.rs"]
mod vocab_input;

use attune::model::gguf::{GgufFile, GgufWriter};
use attune::model::tokenizer::TextTokenizer;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};
use vocab_input::VocabInput;

fn from_ggml(input: &VocabInput, max_len: usize) -> Option<attune::Result<TextTokenizer>> {
    let mut w = GgufWriter::new();
    w.add("tokenizer.ggml.model", "bert").ok()?;
    w.add("tokenizer.ggml.tokens", input.tokens.iter().map(|t| t.0.clone()).collect::<Vec<_>>()).ok()?;
    w.add("tokenizer.ggml.token_type", input.tokens.iter().map(|t| t.1).collect::<Vec<_>>()).ok()?;
    for (key, i) in [("tokenizer.ggml.unknown_token_id", 1), ("tokenizer.ggml.cls_token_id", 2), ("tokenizer.ggml.seperator_token_id", 3)] {
        if let Some(id) = input.token_id(i) {
            w.add(key, id).ok()?;
        }
    }
    let bytes = w.to_bytes().ok()?;
    let file = GgufFile::parse(&bytes).expect("the writer's file parses");
    Some(TextTokenizer::from_bert_gguf(&file, max_len))
}

/// A Hugging Face BERT tokenizer.json whose vocabulary, special tokens and options are the input's.
fn tokenizer_json(input: &VocabInput) -> String {
    let name = |i: usize| -> String {
        let id = input.token_id(i).unwrap_or(u32::MAX) as usize;
        input.tokens.get(id).map_or_else(|| format!("[MISSING{i}]"), |t| t.0.clone())
    };
    let id = |i: usize| input.token_id(i).unwrap_or(0);
    let vocab: Map<String, Value> = input.tokens.iter().enumerate().map(|(i, t)| (t.0.clone(), json!(i))).collect();
    let flags = input.byte(4);
    let added: Vec<Value> = input
        .tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| t.1 == 3)
        .map(|(i, t)| json!({"id": i, "content": t.0, "single_word": false, "lstrip": false, "rstrip": false,
            "normalized": flags & 16 != 0, "special": true}))
        .collect();
    let (cls, sep) = (name(2), name(3));
    json!({
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": flags & 1 != 0, "handle_chinese_chars": flags & 2 != 0,
            "strip_accents": if flags & 4 != 0 { Value::Null } else { json!(flags & 8 != 0) }, "lowercase": flags & 32 != 0},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": cls, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": sep, "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {cls.clone(): {"id": cls, "ids": [id(2)], "tokens": [cls]}, sep.clone(): {"id": sep, "ids": [id(3)], "tokens": [sep]}}},
        "model": {"type": "WordPiece", "unk_token": name(1), "continuing_subword_prefix": "##",
            "max_input_chars_per_word": input.byte(6) as usize * 4, "vocab": vocab}
    })
    .to_string()
}

fuzz_target!(|data: &[u8]| {
    let input = VocabInput::parse(data);
    let max_len = input.byte(5) as usize;
    let built = match input.byte(0) % 3 {
        0 => match from_ggml(&input, max_len) {
            Some(t) => t,
            None => return,
        },
        1 => TextTokenizer::from_json(&tokenizer_json(&input), max_len),
        _ => TextTokenizer::from_json(&input.text, max_len),
    };
    let Ok(tok) = built else { return };
    for text in [input.text.as_str(), "Hello [SEP] wörld, 北京 123!"] {
        if let Ok(ids) = tok.encode(text) {
            assert!(ids.len() <= tok.max_len(), "{} ids, max_len {}", ids.len(), tok.max_len());
        }
    }
});
