//! SmolLM2's byte-level BPE built from a hostile vocabulary (tokens, types, merges, special
//! ids, pre-tokenizer name, all from the input: see `common/vocab_input.rs`), then arbitrary
//! UTF-8 encoded, decoded and streamed. Header bytes: 0 pre-tokenizer, 1 BOS, 2 EOS, 3 unknown
//! id (0xff: none), 4 flags (bit 0 add BOS, bit 1 no token_type key).
#![no_main]

#[path = "common/vocab_input.rs"]
mod vocab_input;

use attune::model::bpe_tokenizer::BpeTokenizer;
use attune::model::gguf::{GgufFile, GgufWriter};
use libfuzzer_sys::fuzz_target;
use vocab_input::VocabInput;

const PRE: [&str; 5] = ["default", "smollm", "gpt2", "starcoder", "llama-bpe"];

fn gguf(input: &VocabInput) -> Option<Vec<u8>> {
    let mut w = GgufWriter::new();
    w.add("general.architecture", "llama").ok()?;
    w.add("tokenizer.ggml.model", "gpt2").ok()?;
    w.add("tokenizer.ggml.pre", PRE[input.byte(0) as usize % PRE.len()]).ok()?;
    w.add("tokenizer.ggml.tokens", input.tokens.iter().map(|t| t.0.clone()).collect::<Vec<_>>()).ok()?;
    if input.byte(4) & 2 == 0 {
        w.add("tokenizer.ggml.token_type", input.tokens.iter().map(|t| t.1).collect::<Vec<_>>()).ok()?;
    }
    w.add("tokenizer.ggml.merges", input.merges.clone()).ok()?;
    for (key, i) in [("tokenizer.ggml.bos_token_id", 1), ("tokenizer.ggml.eos_token_id", 2), ("tokenizer.ggml.unknown_token_id", 3)] {
        if let Some(id) = input.token_id(i) {
            w.add(key, id).ok()?;
        }
    }
    w.add("tokenizer.ggml.add_bos_token", input.byte(4) & 1 == 1).ok()?;
    w.to_bytes().ok()
}

fuzz_target!(|data: &[u8]| {
    let input = VocabInput::parse(data);
    let Some(bytes) = gguf(&input) else { return };
    let file = GgufFile::parse(&bytes).expect("the writer's file parses");
    let Ok(tok) = BpeTokenizer::from_gguf(&file) else { return };
    let n = tok.vocab_size() as u32;
    for ids in [tok.encode(&input.text), tok.encode_plain(&input.text)].into_iter().flatten() {
        assert!(ids.iter().all(|&id| id < n), "an id outside the vocabulary");
        let text = tok.decode(&ids, false).expect("own ids decode");
        let _ = tok.decode(&ids, true);
        // Streaming gives the same text as decoding at once.
        let mut stream = tok.detokenizer(false);
        let mut streamed = String::new();
        for &id in &ids {
            streamed += &stream.push(&tok, id).expect("own ids stream");
        }
        streamed += &stream.finish();
        assert_eq!(streamed, text, "streamed decoding differs");
    }
    // Ids from the input itself, in range or not.
    let ids: Vec<u32> = input.text.bytes().map(|b| b as u32 * 7 % (n + 3)).collect();
    let _ = tok.decode(&ids, false);
    let mut stream = tok.detokenizer(true);
    for &id in &ids {
        let _ = stream.push(&tok, id);
    }
    let _ = stream.finish();
    for id in 0..n.min(64) {
        let _ = (tok.token(id), tok.token_bytes(id), tok.is_control(id));
    }
});
