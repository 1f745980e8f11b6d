//! The wasm `Assistant` in headless Chromium (wasm-bindgen-test), driven through its JS
//! interface: streamed pieces against the native greedy reference, cancellation with
//! `return()` (also mid-`next()` and through `for await … break`), `busy`, bad arguments, and
//! the same instance working after every error. Run with `make test-browser`; needs
//! `make models` first (the model is compiled in).

#![cfg(target_arch = "wasm32")]

use attune::web::Assistant;
use js_sys::{Array, Function, Object, Promise, Reflect, Symbol, JSON};
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

static MODEL: &[u8] = include_bytes!("../models/out/smollm2-135m-instruct.q4_1.gguf");
static FIXTURE: &str = include_str!("fixtures/smollm2_reference.json");

#[derive(Deserialize)]
struct Fixture {
    prompts: Vec<PromptCase>,
}

#[derive(Deserialize)]
struct PromptCase {
    raw: Option<String>,
    prompt_ids: Vec<u32>,
    greedy_ids: Vec<u32>,
    greedy_text: String,
}

fn js(json: &str) -> JsValue {
    JSON::parse(json).expect("test JSON parses")
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &key.into()).unwrap()
}

/// Calls method `name` of `obj` as JS would.
fn call(obj: &JsValue, name: &str, args: &[JsValue]) -> JsValue {
    let f: Function = get(obj, name).dyn_into().unwrap_or_else(|_| panic!("{name} is a method"));
    f.apply(obj, &args.iter().collect::<Array>()).unwrap()
}

fn code(err: &JsValue) -> String {
    assert_eq!(get(err, "name").as_string().as_deref(), Some("AttuneError"), "{err:?}");
    get(err, "code").as_string().unwrap_or_default()
}

/// `stream.next()` → `Some(piece)` or `None` when done.
async fn next(stream: &JsValue) -> Result<Option<String>, JsValue> {
    let r = JsFuture::from(call(stream, "next", &[]).dyn_into::<Promise>().unwrap()).await?;
    if get(&r, "done").as_bool().unwrap() {
        assert!(get(&r, "value").is_undefined());
        return Ok(None);
    }
    Ok(Some(get(&r, "value").as_string().expect("each piece is a string")))
}

async fn drain(stream: &JsValue) -> Vec<String> {
    let mut pieces = Vec::new();
    while let Some(p) = next(stream).await.unwrap() {
        pieces.push(p);
    }
    pieces
}

struct Stats {
    finish: Option<String>,
    prompt_tokens: u32,
    generated_tokens: u32,
    dropped_messages: u32,
}

fn stats(stream: &JsValue) -> Stats {
    let s = call(stream, "stats", &[]);
    let n = |k: &str| get(&s, k).as_f64().unwrap() as u32;
    Stats {
        finish: get(&s, "finishReason").as_string(),
        prompt_tokens: n("promptTokens"),
        generated_tokens: n("generatedTokens"),
        dropped_messages: n("droppedMessages"),
    }
}

fn load() -> Assistant {
    Assistant::load(MODEL, JsValue::UNDEFINED).expect("the model loads")
}

fn user(text: &str) -> JsValue {
    let m = Object::new();
    Reflect::set(&m, &"role".into(), &"user".into()).unwrap();
    Reflect::set(&m, &"content".into(), &text.into()).unwrap();
    [JsValue::from(m)].iter().collect::<Array>().into()
}

/// The instance still answers after an error: a three-token greedy continuation.
async fn still_works(a: &Assistant) {
    let s = a.complete("Water boils at".into(), js(r#"{"maxTokens":3}"#)).unwrap();
    let text = drain(&s).await.concat();
    assert_eq!(text, " 10", "the reference starts \" 100\u{b0}C\" (\" \", \"1\", \"0\")");
    assert_eq!(stats(&s).finish.as_deref(), Some("length"));
}

#[wasm_bindgen_test]
async fn streamed_pieces_are_the_native_greedy_reference() {
    let fixture: Fixture = serde_json::from_str(FIXTURE).unwrap();
    let case = fixture.prompts.iter().find(|c| c.raw.is_some()).expect("a raw prompt");
    let a = load();
    assert_eq!(a.backend(), "cpu");
    assert!(a.context() > 0);
    assert!(!a.model_name().is_empty());
    let opts = js(&format!(r#"{{"maxTokens":{}}}"#, case.greedy_ids.len()));
    let stream = a.complete(case.raw.clone().unwrap().into(), opts).unwrap();
    let iter: Function = Reflect::get(&stream, &Symbol::async_iterator()).unwrap().dyn_into().unwrap();
    assert!(Object::is(&iter.call0(&stream).unwrap(), &stream), "[Symbol.asyncIterator]() returns the stream");
    assert_eq!(stats(&stream).finish, None, "no finish reason while it runs");
    let pieces = drain(&stream).await;
    assert!(pieces.len() > 1 && pieces.iter().all(|p| !p.is_empty()), "{pieces:?}");
    // Each piece is whole characters: the degree sign (2 UTF-8 bytes) is never split.
    assert!(pieces.iter().any(|p| p.contains('\u{b0}')), "{pieces:?}");
    assert_eq!(pieces.concat(), case.greedy_text);
    let s = stats(&stream);
    assert_eq!(s.finish.as_deref(), Some("length"));
    assert_eq!(s.prompt_tokens as usize, case.prompt_ids.len());
    assert_eq!(s.generated_tokens as usize, case.greedy_ids.len());
    assert_eq!(s.dropped_messages, 0);
    assert_eq!(next(&stream).await.unwrap(), None, "done stays done");
}

#[wasm_bindgen_test]
async fn a_chat_reply_ends_at_eos_without_control_text() {
    let a = Assistant::load(MODEL, js(r#"{"context":256}"#)).unwrap();
    assert_eq!(a.context(), 256);
    let s = a.reply(user("Say hello in one short sentence."), js(r#"{"maxTokens":64}"#)).unwrap();
    let text = drain(&s).await.concat();
    let st = stats(&s);
    assert_eq!(st.finish.as_deref(), Some("eos"), "{text:?}");
    assert!(!text.is_empty() && !text.contains("<|im_"), "{text:?}");
    assert!(st.prompt_tokens > 10 && st.generated_tokens > 1);
    // A stop string ends the reply before it; none of it is streamed.
    let first = text.split_whitespace().next().unwrap().to_string();
    let stop = js(&format!(r#"{{"maxTokens":64,"stop":[{}]}}"#, serde_json::to_string(&first).unwrap()));
    let s = a.reply(user("Say hello in one short sentence."), stop).unwrap();
    let cut = drain(&s).await.concat();
    assert_eq!(stats(&s).finish.as_deref(), Some("stop"));
    assert_eq!(cut, text[..text.find(&first).unwrap()]);
}

#[wasm_bindgen_test]
async fn return_cancels_mid_stream_and_frees_the_assistant() {
    let a = load();
    let long = r#"{"maxTokens":200}"#;
    let s = a.complete("Once upon a time".into(), js(long)).unwrap();
    for _ in 0..3 {
        assert!(next(&s).await.unwrap().is_some());
    }
    let made = stats(&s).generated_tokens;
    let r = JsFuture::from(call(&s, "return", &[]).dyn_into::<Promise>().unwrap()).await.unwrap();
    assert_eq!(get(&r, "done").as_bool(), Some(true));
    assert_eq!(next(&s).await.unwrap(), None);
    let st = stats(&s);
    assert_eq!(st.finish.as_deref(), Some("cancelled"));
    assert_eq!(st.generated_tokens, made, "no token after return()");

    // return() while a next() is pending: that next() ends the stream without a token.
    let s = a.complete("Once upon a time".into(), js(long)).unwrap();
    assert!(next(&s).await.unwrap().is_some());
    let made = stats(&s).generated_tokens;
    let pending = call(&s, "next", &[]).dyn_into::<Promise>().unwrap();
    let _ = call(&s, "return", &[]);
    let r = JsFuture::from(pending).await.unwrap();
    assert_eq!(get(&r, "done").as_bool(), Some(true));
    assert_eq!(stats(&s).generated_tokens, made);
    assert_eq!(stats(&s).finish.as_deref(), Some("cancelled"));

    // `for await … break` calls return() as the language does.
    let s = a.complete("Once upon a time".into(), js(long)).unwrap();
    let three = Function::new_with_args(
        "s",
        "return (async () => { const out = []; for await (const p of s) { out.push(p); if (out.length === 3) break; } return out; })()",
    );
    let out = JsFuture::from(three.call1(&JsValue::NULL, &s).unwrap().dyn_into::<Promise>().unwrap()).await.unwrap();
    assert_eq!(Array::from(&out).length(), 3);
    assert_eq!(stats(&s).finish.as_deref(), Some("cancelled"));
    still_works(&a).await;
}

#[wasm_bindgen_test]
async fn one_reply_at_a_time() {
    let a = load();
    let s1 = a.complete("Once upon a time".into(), js(r#"{"maxTokens":6}"#)).unwrap();
    assert!(next(&s1).await.unwrap().is_some());
    let err = a.reply(user("Hi"), JsValue::UNDEFINED).err().expect("busy while streaming");
    assert_eq!(code(&err), "busy");
    let err = a.complete("x".into(), JsValue::UNDEFINED).err().expect("busy while streaming");
    assert_eq!(code(&err), "busy");
    // The earlier stream keeps working to its end, then the assistant is free.
    let rest = drain(&s1).await;
    assert!(!rest.is_empty());
    assert_eq!(stats(&s1).finish.as_deref(), Some("length"));
    assert_eq!(stats(&s1).generated_tokens, 6);
    still_works(&a).await;
    // A stream dropped unfinished (free() from JS) releases the assistant too.
    let s = a.complete("Once upon a time".into(), JsValue::UNDEFINED).unwrap();
    let _ = call(&s, "free", &[]);
    still_works(&a).await;
}

#[wasm_bindgen_test]
async fn bad_arguments_are_invalid_argument_and_leave_the_instance_working() {
    let a = load();
    let bad_options = [
        r#"{"temperature":"hot"}"#,
        r#"{"temperature":-1}"#,
        r#"{"maxTokens":-5}"#,
        r#"{"maxTokens":2.5}"#,
        r#"{"topK":-1}"#,
        r#"{"topP":0}"#,
        r#"{"topP":1.5}"#,
        r#"{"repetitionPenalty":0}"#,
        r#"{"seed":-1}"#,
        r#"{"seed":"7"}"#,
        r#"{"stop":"END"}"#,
        r#"{"stop":[1]}"#,
        r#"{"stop":[""]}"#,
        r#"{"max_tokens":5}"#,
        r#"[1,2]"#,
        r#""fast""#,
    ];
    for o in bad_options {
        let err = a.complete("Hello".into(), js(o)).err().unwrap_or_else(|| panic!("{o} is refused"));
        assert_eq!(code(&err), "invalid_argument", "{o}");
        still_works(&a).await;
    }
    // NaN and Infinity cannot be written in JSON.
    for v in [f64::NAN, f64::INFINITY] {
        let o = Object::new();
        Reflect::set(&o, &"temperature".into(), &v.into()).unwrap();
        assert_eq!(code(&a.complete("Hello".into(), o.into()).err().unwrap()), "invalid_argument", "{v}");
    }
    let bad_messages = [
        r#"{"role":"user","content":"hi"}"#,
        r#"[{"role":"tool","content":"hi"}]"#,
        r#"[{"role":"user","content":42}]"#,
        r#"[{"role":"user"}]"#,
        r#"[null]"#,
        r#"[]"#,
    ];
    for m in bad_messages {
        let err = a.reply(js(m), JsValue::UNDEFINED).err().unwrap_or_else(|| panic!("{m} is refused"));
        assert_eq!(code(&err), "invalid_argument", "{m}");
    }
    assert_eq!(code(&a.complete(42.into(), JsValue::UNDEFINED).err().unwrap()), "invalid_argument");
    // Past 1 000 messages or 1 MiB of their text: refused before the text is copied in.
    let many: Array = (0..1001).map(|_| user("hi").unchecked_into::<Array>().get(0)).collect();
    assert_eq!(code(&a.reply(many.into(), JsValue::UNDEFINED).err().unwrap()), "input_too_large");
    assert_eq!(code(&a.reply(user(&"x".repeat(2 << 20)), JsValue::UNDEFINED).err().unwrap()), "input_too_large");
    still_works(&a).await;
    // Too long for the context: refused, the instance keeps working.
    let small = Assistant::load(MODEL, js(r#"{"context":32}"#)).unwrap();
    let err = small.complete("lantern meadow ".repeat(40).into(), JsValue::UNDEFINED).err().unwrap();
    assert_eq!(code(&err), "input_too_large");
    still_works(&small).await;
}

#[wasm_bindgen_test]
fn broken_models_and_load_options_are_refused_with_codes() {
    assert_eq!(code(&Assistant::load(&MODEL[..4096], JsValue::UNDEFINED).err().unwrap()), "model_format");
    assert_eq!(code(&Assistant::load(b"not a model", JsValue::UNDEFINED).err().unwrap()), "model_format");
    for o in [r#"{"context":-1}"#, r#"{"context":0}"#, r#"{"context":"big"}"#, r#"{"ctx":64}"#, r#"{"device":"cpu"}"#] {
        assert_eq!(code(&Assistant::load(MODEL, js(o)).err().unwrap()), "invalid_argument", "{o}");
    }
}

/// `Assistant.create` in a browser without WebGPU (webdriver.json disables the GPU): `cpu`
/// runs on the CPU with no reason, `auto` too but says why, `gpu` is refused with a code.
#[wasm_bindgen_test]
async fn create_picks_the_device_and_says_why() {
    let create = |o: &str| Assistant::create(MODEL.to_vec(), js(o));
    let cpu = create(r#"{"device":"cpu","context":64}"#).await.unwrap();
    assert_eq!((cpu.backend().as_str(), cpu.fallback_reason(), cpu.adapter()), ("cpu", None, None));
    assert_eq!(cpu.context(), 64);
    still_works(&cpu).await;
    let auto = create(r#"{"context":64}"#).await.unwrap();
    assert_eq!(auto.backend(), "cpu");
    let why = auto.fallback_reason().unwrap_or_default();
    assert!(why.contains("WebGPU") || why.contains("adapter"), "{why}");
    assert_eq!(code(&create(r#"{"device":"gpu"}"#).await.err().unwrap()), "gpu_unavailable");
    for o in [r#"{"device":"tpu"}"#, r#"{"device":1}"#, r#"{"devices":"cpu"}"#] {
        assert_eq!(code(&create(o).await.err().unwrap()), "invalid_argument", "{o}");
    }
}
