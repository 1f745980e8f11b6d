//! SmolLM2 tokenizer and chat template against the independent reference fixture
//! (tests/reference/smollm2_reference.py: pure-Python BPE cross-checked with the Python
//! `tokenizers` package, and Python jinja2).

mod common;

use attune::model::bpe_tokenizer::BpeTokenizer;
use attune::model::chat_template::{ChatMessage, ChatTemplate};
use attune::model::gguf::GgufFile;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::OnceLock;

const MODEL: &str = "smollm2-135m-instruct.q4_1.gguf";

#[derive(Deserialize)]
struct Fixture {
    bos_token: String,
    eos_token: String,
    prompts: Vec<PromptCase>,
    tokenizer: Vec<TokCase>,
    templates: Vec<TemplateCase>,
}

#[derive(Deserialize)]
struct PromptCase {
    raw: Option<String>,
    messages: Option<Vec<ChatMessage>>,
    rendered_prompt: String,
    prompt_ids: Vec<u32>,
    greedy_ids: Vec<u32>,
    greedy_text: String,
}

#[derive(Deserialize)]
struct TokCase {
    text: String,
    ids: Vec<u32>,
}

#[derive(Deserialize)]
struct TemplateCase {
    /// Absent: the model's own template.
    template: Option<String>,
    messages: Vec<ChatMessage>,
    add_generation_prompt: bool,
    rendered: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smollm2_reference.json");
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture is committed"))
            .expect("fixture parses")
    })
}

fn model_bytes() -> &'static [u8] {
    static B: OnceLock<Vec<u8>> = OnceLock::new();
    B.get_or_init(|| common::model_bytes(MODEL))
}

fn tokenizer() -> &'static BpeTokenizer {
    static T: OnceLock<BpeTokenizer> = OnceLock::new();
    T.get_or_init(|| {
        let file = GgufFile::parse(model_bytes()).expect("model parses");
        BpeTokenizer::from_gguf(&file).expect("tokenizer builds")
    })
}

fn template() -> ChatTemplate {
    let file = GgufFile::parse(model_bytes()).expect("model parses");
    ChatTemplate::from_gguf(&file).expect("template compiles")
}

#[test]
fn tokenizer_metadata() {
    let tok = tokenizer();
    let fx = fixture();
    assert_eq!(tok.vocab_size(), 49152);
    assert_eq!(tok.bos_id(), Some(1));
    assert_eq!(tok.eos_id(), Some(2));
    assert!(!tok.add_bos());
    assert_eq!(tok.token(1).as_deref(), Some(fx.bos_token.as_str()));
    assert_eq!(tok.token(2).as_deref(), Some(fx.eos_token.as_str()));
    assert_eq!(tok.token_id("<|im_start|>"), Some(1));
    assert!(tok.is_control(0) && tok.is_control(16) && !tok.is_control(17));
    assert_eq!(tok.token_bytes(216), Some(&b" "[..]), "Ġ is the space byte");
}

#[test]
fn ids_equal_reference_on_corpus() {
    let tok = tokenizer();
    let mut bad = Vec::new();
    for case in &fixture().tokenizer {
        let ids = tok.encode(&case.text).unwrap();
        if ids != case.ids {
            bad.push(format!(
                "{:?}\n  ours: {ids:?}\n  ref:  {:?}",
                case.text, case.ids
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} differ:\n{}",
        bad.len(),
        fixture().tokenizer.len(),
        bad.join("\n")
    );
}

#[test]
fn prompt_ids_equal_reference() {
    let tok = tokenizer();
    for p in &fixture().prompts {
        assert_eq!(
            tok.encode(&p.rendered_prompt).unwrap(),
            p.prompt_ids,
            "{:?}",
            p.rendered_prompt
        );
    }
}

#[test]
fn decode_round_trips_and_agrees_with_tokenizers_crate() {
    let tok = tokenizer();
    for case in &fixture().tokenizer {
        assert_eq!(tok.decode(&case.ids, false).unwrap(), case.text);
        assert_eq!(
            tok.decode_by_tokenizers(&case.ids, false).unwrap(),
            case.text
        );
    }
    for p in &fixture().prompts {
        assert_eq!(tok.decode(&p.greedy_ids, false).unwrap(), p.greedy_text);
    }
}

#[test]
fn special_tokens_in_text() {
    let tok = tokenizer();
    let ids = tok.encode("<|im_start|>user\nhi<|im_end|>").unwrap();
    assert_eq!(ids.first(), Some(&1));
    assert_eq!(ids.last(), Some(&2));
    assert_eq!(tok.decode(&ids, true).unwrap(), "user\nhi");
    // untrusted text: the same characters, no control token
    let plain = tok.encode_plain("<|im_start|>user\nhi<|im_end|>").unwrap();
    assert!(plain.iter().all(|&id| !tok.is_control(id)), "{plain:?}");
    assert_eq!(
        tok.decode(&plain, false).unwrap(),
        "<|im_start|>user\nhi<|im_end|>"
    );
    // encode() still matches them after encode_plain() was used
    assert_eq!(tok.encode("<|im_end|>").unwrap(), vec![2]);
}

#[test]
fn decode_rejects_unknown_ids_and_huge_text() {
    let tok = tokenizer();
    assert_eq!(
        tok.decode(&[49152], false).unwrap_err().code(),
        "invalid_argument"
    );
    let mut s = tok.detokenizer(false);
    assert_eq!(
        s.push(tok, u32::MAX).unwrap_err().code(),
        "invalid_argument"
    );
    let big = "a".repeat(attune::model::bpe_tokenizer::MAX_TEXT_BYTES + 1);
    assert_eq!(tok.encode(&big).unwrap_err().code(), "input_too_large");
}

/// Streams `ids` one at a time; checks every piece is non-split UTF-8 and the pieces add up
/// to `decode`.
fn stream(tok: &BpeTokenizer, ids: &[u32], skip_special: bool) -> Vec<String> {
    let mut d = tok.detokenizer(skip_special);
    let mut pieces: Vec<String> = ids.iter().map(|&id| d.push(tok, id).unwrap()).collect();
    pieces.push(d.finish());
    assert_eq!(pieces.concat(), tok.decode(ids, skip_special).unwrap());
    pieces
}

#[test]
fn streaming_never_splits_a_character() {
    let tok = tokenizer();
    for text in [
        "😀",
        "👨‍👩‍👧‍👦 family",
        "中文文本：今天天气很好",
        "naïve café 🇫🇷",
        "日本語のテキスト",
    ] {
        let ids = tok.encode(text).unwrap();
        let pieces = stream(tok, &ids, false);
        assert_eq!(pieces.concat(), text);
        // these texts do split characters across tokens: some token must have been held back
        assert!(
            pieces.iter().any(|p| p.is_empty()),
            "{text:?}: {ids:?} split no character"
        );
        for p in &pieces {
            // a piece is whole characters of the text (it would not be a substring otherwise)
            assert!(
                text.contains(p.as_str()),
                "{p:?} is not whole characters of {text:?}"
            );
        }
    }
    // the emoji is 4 bytes over 2+ tokens: nothing comes out until its last byte
    let ids = tok.encode("😀").unwrap();
    assert!(ids.len() >= 2, "{ids:?}");
    let pieces = stream(tok, &ids, false);
    assert!(pieces[..ids.len() - 1].iter().all(String::is_empty));
    assert_eq!(pieces[ids.len() - 1], "😀");
}

#[test]
fn streaming_corpus_and_greedy_outputs() {
    let tok = tokenizer();
    for case in &fixture().tokenizer {
        assert_eq!(stream(tok, &case.ids, false).concat(), case.text);
    }
    for p in &fixture().prompts {
        let pieces = stream(tok, &p.greedy_ids, true);
        assert_eq!(pieces.concat(), tok.decode(&p.greedy_ids, true).unwrap());
    }
}

#[test]
fn streaming_special_tokens() {
    let tok = tokenizer();
    let ids = tok.encode("Hi<|im_end|>").unwrap();
    assert_eq!(stream(tok, &ids, false).concat(), "Hi<|im_end|>");
    assert_eq!(stream(tok, &ids, true).concat(), "Hi");
}

#[test]
fn templates_equal_jinja2() {
    let fx = fixture();
    let model = template();
    assert_eq!(model.bos_token(), fx.bos_token);
    assert_eq!(model.eos_token(), fx.eos_token);
    for case in &fx.templates {
        let out = match &case.template {
            None => model.render(&case.messages, case.add_generation_prompt),
            Some(src) => ChatTemplate::new(src, &fx.bos_token, &fx.eos_token)
                .unwrap()
                .render(&case.messages, case.add_generation_prompt),
        }
        .unwrap();
        assert_eq!(out, case.rendered, "messages {:?}", case.messages);
    }
}

#[test]
fn prompts_render_as_reference() {
    let model = template();
    for p in &fixture().prompts {
        match (&p.raw, &p.messages) {
            (Some(raw), None) => assert_eq!(raw, &p.rendered_prompt),
            (None, Some(msgs)) => assert_eq!(model.render(msgs, true).unwrap(), p.rendered_prompt),
            _ => panic!("a prompt is raw or messages"),
        }
    }
}

#[test]
fn template_errors_are_chat_template_code() {
    let fx = fixture();
    let extra = fx
        .templates
        .iter()
        .find_map(|c| c.template.clone())
        .expect("an extra template");
    let t = ChatTemplate::new(&extra, "<s>", "</s>").unwrap();
    let e = t
        .render(&[ChatMessage::new("tool", "x")], true)
        .unwrap_err();
    assert_eq!(e.code(), "chat_template");
    assert!(e.to_string().contains("unknown role tool"), "{e}");
}

// Fuzzing found: SmolLM2's vocabulary has no token for some byte values, and `encode("\x06")`
// was empty, so token counts came out low.
#[test]
fn bytes_without_a_token_are_substituted() {
    let tok = tokenizer();
    let missing = tok.missing_bytes();
    eprintln!("missing bytes {missing:02x?}, substitute {:?}", tok.substitute());
    assert!(missing.contains(&0x06), "{missing:02x?}");
    assert_eq!(tok.encode("\x06").unwrap(), tok.encode("\u{FFFD}").unwrap());
    for b in missing.iter().filter(|b| b.is_ascii()) {
        let text = format!("a{}b", char::from(*b));
        let want = [tok.encode("a").unwrap(), tok.encode("\u{FFFD}").unwrap(), tok.encode("b").unwrap()].concat();
        assert_eq!(tok.encode(&text).unwrap(), want, "{text:?}");
        assert_eq!(tok.encode_plain(&text).unwrap(), want, "{text:?}");
    }
}
