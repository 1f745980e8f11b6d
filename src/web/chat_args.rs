//! JS arguments of `Assistant.reply` / `complete` → core types. Strict: a wrong type, a NaN, a
//! negative count or an unknown option name is `invalid_argument` (a typo such as `max_tokens`
//! would otherwise be silently ignored).
//!
//! Platform-free: the checks read their argument through [`ArgValue`], which the facade's
//! `JsValue` implements in the wasm build and `serde_json::Value` everywhere (so the checks are
//! tested and fuzzed natively; JSON has no `undefined`, a missing key stands for it).

use crate::assistant::ReplyOptions;
use crate::compute::device::DeviceChoice;
use crate::error::{AttuneError, Result};
use crate::model::chat_template::ChatMessage;

/// What the checks need of a JS value.
pub trait ArgValue: Sized {
    /// `undefined` or `null`: the argument was left out.
    fn is_nullish(&self) -> bool;
    fn is_array(&self) -> bool;
    /// An object (arrays included, as JS has it).
    fn is_object(&self) -> bool;
    /// The object's own enumerable keys (`Object.keys`).
    fn keys(&self) -> Vec<String>;
    /// The field `name` of an object; `None` when it is `undefined`.
    fn field(&self, name: &str) -> Result<Option<Self>>;
    fn as_f64(&self) -> Option<f64>;
    fn as_string(&self) -> Option<String>;
    /// The elements of an array; `None` for anything else.
    fn elements(&self) -> Option<Vec<Self>>;
    /// An array's length, without copying its elements; `None` for anything else.
    fn array_len(&self) -> Option<usize>;
    /// A string's length without copying it (JS: UTF-16 units, never more than its UTF-8
    /// bytes); `None` for anything else.
    fn string_units(&self) -> Option<usize>;
}

impl ArgValue for serde_json::Value {
    fn is_nullish(&self) -> bool {
        self.is_null()
    }
    fn is_array(&self) -> bool {
        self.is_array()
    }
    fn is_object(&self) -> bool {
        self.is_object() || self.is_array()
    }
    fn keys(&self) -> Vec<String> {
        self.as_object().map_or_else(Vec::new, |o| o.keys().cloned().collect())
    }
    fn field(&self, name: &str) -> Result<Option<Self>> {
        Ok(self.get(name).cloned())
    }
    fn as_f64(&self) -> Option<f64> {
        self.as_f64()
    }
    fn as_string(&self) -> Option<String> {
        self.as_str().map(str::to_string)
    }
    fn elements(&self) -> Option<Vec<Self>> {
        self.as_array().cloned()
    }
    fn array_len(&self) -> Option<usize> {
        self.as_array().map(Vec::len)
    }
    fn string_units(&self) -> Option<usize> {
        self.as_str().map(str::len)
    }
}

#[cfg(target_arch = "wasm32")]
impl ArgValue for wasm_bindgen::JsValue {
    fn is_nullish(&self) -> bool {
        self.is_undefined() || self.is_null()
    }
    fn is_array(&self) -> bool {
        js_sys::Array::is_array(self)
    }
    fn is_object(&self) -> bool {
        wasm_bindgen::JsCast::dyn_ref::<js_sys::Object>(self).is_some()
    }
    fn keys(&self) -> Vec<String> {
        match wasm_bindgen::JsCast::dyn_ref::<js_sys::Object>(self) {
            Some(obj) => js_sys::Object::keys(obj).iter().map(|k| k.as_string().unwrap_or_default()).collect(),
            None => Vec::new(),
        }
    }
    fn field(&self, name: &str) -> Result<Option<Self>> {
        let v = js_sys::Reflect::get(self, &wasm_bindgen::JsValue::from_str(name))
            .map_err(|_| bad(format!("cannot read {name}")))?;
        Ok(if v.is_undefined() { None } else { Some(v) })
    }
    fn as_f64(&self) -> Option<f64> {
        self.as_f64()
    }
    fn as_string(&self) -> Option<String> {
        self.as_string()
    }
    fn elements(&self) -> Option<Vec<Self>> {
        wasm_bindgen::JsCast::dyn_ref::<js_sys::Array>(self).map(|a| a.iter().collect())
    }
    fn array_len(&self) -> Option<usize> {
        wasm_bindgen::JsCast::dyn_ref::<js_sys::Array>(self).map(|a| a.length() as usize)
    }
    fn string_units(&self) -> Option<usize> {
        self.is_string().then(|| wasm_bindgen::JsCast::unchecked_ref::<js_sys::JsString>(self).length() as usize)
    }
}

const OPTION_NAMES: [&str; 12] = [
    "maxTokens", "temperature", "topK", "topP", "repetitionPenalty", "dryMultiplier", "dryBase", "dryAllowedLength",
    "echoAllowedLength", "seed", "stop", "context",
];

/// Largest context block accepted (bytes): a context of 32 768 tokens is far less.
const MAX_CONTEXT_BYTES: usize = 1 << 20;
/// Most messages one reply takes (a conversation past the context drops its oldest turns).
pub const MAX_MESSAGES: usize = 1000;
/// Most text of all messages together (UTF-8 bytes): the prompt tokenizer takes no more.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

fn bad(msg: impl Into<String>) -> AttuneError {
    AttuneError::InvalidArgument(msg.into())
}

/// A plain object, or `None` for `undefined` / `null` (the argument was left out).
fn object<'a, V: ArgValue>(v: &'a V, what: &str) -> Result<Option<&'a V>> {
    if v.is_nullish() {
        return Ok(None);
    }
    if v.is_array() {
        return Err(bad(format!("{what} must be an object, not an array")));
    }
    if !v.is_object() {
        return Err(bad(format!("{what} must be an object")));
    }
    Ok(Some(v))
}

fn number<V: ArgValue>(v: &V, name: &str) -> Result<f64> {
    match v.as_f64() {
        Some(x) if x.is_finite() => Ok(x),
        Some(x) => Err(bad(format!("{name} must be a finite number, not {x}"))),
        None => Err(bad(format!("{name} must be a number"))),
    }
}

/// A whole number in `0..=max`.
fn count<V: ArgValue>(v: &V, name: &str, max: f64) -> Result<u64> {
    let x = number(v, name)?;
    if x < 0.0 || x.fract() != 0.0 || x > max {
        return Err(bad(format!("{name} must be a whole number from 0 to {max}, not {x}")));
    }
    Ok(x as u64)
}

/// `{ context?: number, device?: 'auto' | 'gpu' | 'cpu' }` of `Assistant.create` (`load` takes
/// no device: it is the CPU): the context in tokens, if given, and the device (default `auto`).
pub fn load_options<V: ArgValue>(options: &V, device_allowed: bool) -> Result<(Option<usize>, DeviceChoice)> {
    let Some(obj) = object(options, "options")? else { return Ok((None, DeviceChoice::Auto)) };
    let known: &[&str] = if device_allowed { &["context", "device"] } else { &["context"] };
    for key in obj.keys() {
        if !known.contains(&key.as_str()) {
            let hint =
                if key == "device" { " (Assistant.load runs on the CPU; Assistant.create takes a device)" } else { "" };
            return Err(bad(format!("unknown load option {key:?}{hint}")));
        }
    }
    let context = match obj.field("context")? {
        None => None,
        Some(v) => match count(&v, "context", 1_048_576.0)? {
            0 => return Err(bad("context must be at least 1")),
            n => Some(n as usize),
        },
    };
    let device = match obj.field("device")? {
        None => DeviceChoice::Auto,
        Some(v) => v.as_string().ok_or_else(|| bad("device must be a string: auto, gpu or cpu"))?.parse()?,
    };
    Ok((context, device))
}

/// `ReplyOptions` from the JS object (defaults for what it leaves out).
pub fn reply_options<V: ArgValue>(options: &V) -> Result<ReplyOptions> {
    let mut opts = ReplyOptions::default();
    let Some(obj) = object(options, "options")? else { return Ok(opts) };
    for key in obj.keys() {
        if !OPTION_NAMES.contains(&key.as_str()) {
            return Err(bad(format!("unknown reply option {key:?}; known: {}", OPTION_NAMES.join(", "))));
        }
    }
    let s = &mut opts.sampling;
    if let Some(v) = obj.field("maxTokens")? {
        opts.max_tokens = count(&v, "maxTokens", 1_048_576.0)? as usize;
    }
    if let Some(v) = obj.field("temperature")? {
        s.temperature = number(&v, "temperature")? as f32;
    }
    if let Some(v) = obj.field("topK")? {
        s.top_k = count(&v, "topK", u32::MAX as f64)? as usize;
    }
    if let Some(v) = obj.field("topP")? {
        s.top_p = number(&v, "topP")? as f32;
    }
    if let Some(v) = obj.field("repetitionPenalty")? {
        s.repetition_penalty = number(&v, "repetitionPenalty")? as f32;
    }
    if let Some(v) = obj.field("dryMultiplier")? {
        s.dry_multiplier = number(&v, "dryMultiplier")? as f32;
    }
    if let Some(v) = obj.field("dryBase")? {
        s.dry_base = number(&v, "dryBase")? as f32;
    }
    if let Some(v) = obj.field("dryAllowedLength")? {
        s.dry_allowed_length = count(&v, "dryAllowedLength", 1_048_576.0)? as usize;
    }
    if let Some(v) = obj.field("echoAllowedLength")? {
        s.echo_allowed_length = count(&v, "echoAllowedLength", 1_048_576.0)? as usize;
    }
    if let Some(v) = obj.field("seed")? {
        // Integers a JS number holds exactly.
        s.seed = count(&v, "seed", 9_007_199_254_740_991.0)?;
    }
    if let Some(v) = obj.field("stop")? {
        let arr = v.elements().ok_or_else(|| bad("stop must be an array of strings"))?;
        opts.stop = arr
            .iter()
            .map(|s| s.as_string().ok_or_else(|| bad("stop must be an array of strings")))
            .collect::<Result<_>>()?;
    }
    if let Some(v) = obj.field("context")? {
        // A context block (AttuneCore.context) for the system prompt; its text was quoted there.
        let text = v.as_string().ok_or_else(|| bad("context must be a string"))?;
        if text.len() > MAX_CONTEXT_BYTES {
            return Err(AttuneError::InputTooLarge(format!("context: {} bytes, at most {MAX_CONTEXT_BYTES}", text.len())));
        }
        opts.context = Some(text).filter(|t| !t.is_empty());
    }
    s.validate()?;
    Ok(opts)
}

/// `[{ role, content }, …]` with roles `system`, `user` or `assistant`; at most
/// [`MAX_MESSAGES`] of them and [`MAX_MESSAGE_BYTES`] of text, refused before the text is
/// copied into the module (a JS string's length in UTF-16 units never exceeds its UTF-8 bytes).
pub fn messages<V: ArgValue>(messages: &V) -> Result<Vec<ChatMessage>> {
    let n = messages.array_len().ok_or_else(|| bad("messages must be an array of {role, content}"))?;
    if n > MAX_MESSAGES {
        return Err(AttuneError::InputTooLarge(format!("{n} messages, at most {MAX_MESSAGES}")));
    }
    let arr = messages.elements().ok_or_else(|| bad("messages must be an array of {role, content}"))?;
    let mut total = 0usize;
    arr.iter()
        .enumerate()
        .map(|(i, m)| {
            let obj = object(m, "a message")?.ok_or_else(|| bad(format!("message {i} is missing")))?;
            let text = |name: &str, total: &mut usize| -> Result<String> {
                let v = obj.field(name)?.filter(|v| v.string_units().is_some()).ok_or_else(|| bad(format!("message {i}: {name} must be a string")))?;
                let units = v.string_units().unwrap_or(0);
                if *total + units > MAX_MESSAGE_BYTES {
                    return Err(AttuneError::InputTooLarge(format!("messages: over {MAX_MESSAGE_BYTES} bytes of text")));
                }
                let s = v.as_string().unwrap_or_default();
                *total += s.len();
                if *total > MAX_MESSAGE_BYTES {
                    return Err(AttuneError::InputTooLarge(format!("messages: over {MAX_MESSAGE_BYTES} bytes of text")));
                }
                Ok(s)
            };
            let role = text("role", &mut total)?;
            if !matches!(role.as_str(), "system" | "user" | "assistant") {
                return Err(bad(format!("message {i}: role {role:?} is not system, user or assistant")));
            }
            Ok(ChatMessage::new(role, text("content", &mut total)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    // The checks through serde_json::Value (natively and in wasm32 unit tests); tests/web_chat.rs
    // calls them through JS values in the browser.
    use super::*;
    use serde_json::json;

    fn code<T: std::fmt::Debug>(r: Result<T>) -> &'static str {
        r.unwrap_err().code()
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn reply_options_shapes() {
        let o = reply_options(&json!({"maxTokens": 12, "temperature": 0.5, "topK": 3, "seed": 7, "stop": ["\n"], "context": ""}))
            .unwrap();
        assert_eq!((o.max_tokens, o.sampling.top_k, o.sampling.seed, o.stop.len(), o.context), (12, 3, 7, 1, None));
        assert_eq!(reply_options(&json!(null)).unwrap().max_tokens, ReplyOptions::default().max_tokens);
        for bad in [
            json!({"max_tokens": 1}),
            json!({"maxTokens": -1}),
            json!({"maxTokens": 1.5}),
            json!({"maxTokens": "3"}),
            json!({"seed": 9_007_199_254_740_992.0}),
            json!({"stop": "x"}),
            json!({"stop": [1]}),
            json!({"context": 3}),
            json!([1]),
            json!("options"),
        ] {
            assert_eq!(code(reply_options(&bad)), "invalid_argument", "{bad}");
        }
        let big = "x".repeat(MAX_CONTEXT_BYTES + 1);
        assert_eq!(code(reply_options(&json!({ "context": big }))), "input_too_large");
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn load_options_and_messages_shapes() {
        assert_eq!(load_options(&json!({"context": 512, "device": "cpu"}), true).unwrap(), (Some(512), DeviceChoice::Cpu));
        assert_eq!(load_options(&json!(null), false).unwrap(), (None, DeviceChoice::Auto));
        assert_eq!(code(load_options(&json!({"device": "cpu"}), false)), "invalid_argument");
        assert_eq!(code(load_options(&json!({"context": 0}), true)), "invalid_argument");
        assert_eq!(code(load_options(&json!({"device": "tpu"}), true)), "invalid_argument");
        let m = messages(&json!([{"role": "user", "content": "hi"}])).unwrap();
        assert_eq!((m[0].role.as_str(), m[0].content.as_str()), ("user", "hi"));
        for bad in [json!({}), json!([null]), json!([{"role": "tool", "content": "x"}]), json!([{"role": "user"}]), json!([[]])] {
            assert_eq!(code(messages(&bad)), "invalid_argument", "{bad}");
        }
        let many = serde_json::Value::Array(vec![json!({"role": "user", "content": "hi"}); MAX_MESSAGES + 1]);
        assert_eq!(code(messages(&many)), "input_too_large");
        let half = "x".repeat(MAX_MESSAGE_BYTES / 2);
        let big = json!([{"role": "user", "content": half}, {"role": "assistant", "content": half}]);
        assert_eq!(code(messages(&big)), "input_too_large");
    }
}
