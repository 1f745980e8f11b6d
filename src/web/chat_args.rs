//! JS arguments of `Assistant.reply` / `complete` → core types. Strict: a wrong type, a NaN, a
//! negative count or an unknown option name is `invalid_argument` (a typo such as `max_tokens`
//! would otherwise be silently ignored).

use crate::assistant::ReplyOptions;
use crate::compute::device::DeviceChoice;
use crate::error::{AttuneError, Result};
use crate::model::chat_template::ChatMessage;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

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
fn object<'a>(v: &'a JsValue, what: &str) -> Result<Option<&'a Object>> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    if Array::is_array(v) {
        return Err(bad(format!("{what} must be an object, not an array")));
    }
    v.dyn_ref::<Object>().map(Some).ok_or_else(|| bad(format!("{what} must be an object")))
}

fn field(obj: &Object, name: &str) -> Result<Option<JsValue>> {
    let v = Reflect::get(obj, &JsValue::from_str(name)).map_err(|_| bad(format!("cannot read {name}")))?;
    Ok(if v.is_undefined() { None } else { Some(v) })
}

fn number(v: &JsValue, name: &str) -> Result<f64> {
    match v.as_f64() {
        Some(x) if x.is_finite() => Ok(x),
        Some(x) => Err(bad(format!("{name} must be a finite number, not {x}"))),
        None => Err(bad(format!("{name} must be a number"))),
    }
}

/// A whole number in `0..=max`.
fn count(v: &JsValue, name: &str, max: f64) -> Result<u64> {
    let x = number(v, name)?;
    if x < 0.0 || x.fract() != 0.0 || x > max {
        return Err(bad(format!("{name} must be a whole number from 0 to {max}, not {x}")));
    }
    Ok(x as u64)
}

/// `{ context?: number, device?: 'auto' | 'gpu' | 'cpu' }` of `Assistant.create` (`load` takes
/// no device: it is the CPU): the context in tokens, if given, and the device (default `auto`).
pub fn load_options(options: &JsValue, device_allowed: bool) -> Result<(Option<usize>, DeviceChoice)> {
    let Some(obj) = object(options, "options")? else { return Ok((None, DeviceChoice::Auto)) };
    let known: &[&str] = if device_allowed { &["context", "device"] } else { &["context"] };
    for key in Object::keys(obj).iter() {
        let key = key.as_string().unwrap_or_default();
        if !known.contains(&key.as_str()) {
            let hint =
                if key == "device" { " (Assistant.load runs on the CPU; Assistant.create takes a device)" } else { "" };
            return Err(bad(format!("unknown load option {key:?}{hint}")));
        }
    }
    let context = match field(obj, "context")? {
        None => None,
        Some(v) => match count(&v, "context", 1_048_576.0)? {
            0 => return Err(bad("context must be at least 1")),
            n => Some(n as usize),
        },
    };
    let device = match field(obj, "device")? {
        None => DeviceChoice::Auto,
        Some(v) => v.as_string().ok_or_else(|| bad("device must be a string: auto, gpu or cpu"))?.parse()?,
    };
    Ok((context, device))
}

/// `ReplyOptions` from the JS object (defaults for what it leaves out).
pub fn reply_options(options: &JsValue) -> Result<ReplyOptions> {
    let mut opts = ReplyOptions::default();
    let Some(obj) = object(options, "options")? else { return Ok(opts) };
    for key in Object::keys(obj).iter() {
        let key = key.as_string().unwrap_or_default();
        if !OPTION_NAMES.contains(&key.as_str()) {
            return Err(bad(format!("unknown reply option {key:?}; known: {}", OPTION_NAMES.join(", "))));
        }
    }
    let s = &mut opts.sampling;
    if let Some(v) = field(obj, "maxTokens")? {
        opts.max_tokens = count(&v, "maxTokens", 1_048_576.0)? as usize;
    }
    if let Some(v) = field(obj, "temperature")? {
        s.temperature = number(&v, "temperature")? as f32;
    }
    if let Some(v) = field(obj, "topK")? {
        s.top_k = count(&v, "topK", u32::MAX as f64)? as usize;
    }
    if let Some(v) = field(obj, "topP")? {
        s.top_p = number(&v, "topP")? as f32;
    }
    if let Some(v) = field(obj, "repetitionPenalty")? {
        s.repetition_penalty = number(&v, "repetitionPenalty")? as f32;
    }
    if let Some(v) = field(obj, "dryMultiplier")? {
        s.dry_multiplier = number(&v, "dryMultiplier")? as f32;
    }
    if let Some(v) = field(obj, "dryBase")? {
        s.dry_base = number(&v, "dryBase")? as f32;
    }
    if let Some(v) = field(obj, "dryAllowedLength")? {
        s.dry_allowed_length = count(&v, "dryAllowedLength", 1_048_576.0)? as usize;
    }
    if let Some(v) = field(obj, "echoAllowedLength")? {
        s.echo_allowed_length = count(&v, "echoAllowedLength", 1_048_576.0)? as usize;
    }
    if let Some(v) = field(obj, "seed")? {
        // Integers a JS number holds exactly.
        s.seed = count(&v, "seed", 9_007_199_254_740_991.0)?;
    }
    if let Some(v) = field(obj, "stop")? {
        let arr = v.dyn_ref::<Array>().ok_or_else(|| bad("stop must be an array of strings"))?;
        opts.stop = arr
            .iter()
            .map(|s| s.as_string().ok_or_else(|| bad("stop must be an array of strings")))
            .collect::<Result<_>>()?;
    }
    if let Some(v) = field(obj, "context")? {
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
pub fn messages(messages: &JsValue) -> Result<Vec<ChatMessage>> {
    let arr = messages.dyn_ref::<Array>().ok_or_else(|| bad("messages must be an array of {role, content}"))?;
    if arr.length() as usize > MAX_MESSAGES {
        return Err(AttuneError::InputTooLarge(format!("{} messages, at most {MAX_MESSAGES}", arr.length())));
    }
    let mut total = 0usize;
    arr.iter()
        .enumerate()
        .map(|(i, m)| {
            let obj = object(&m, "a message")?.ok_or_else(|| bad(format!("message {i} is missing")))?;
            let text = |name: &str, total: &mut usize| -> Result<String> {
                let v = field(obj, name)?.filter(JsValue::is_string).ok_or_else(|| bad(format!("message {i}: {name} must be a string")))?;
                let units = v.unchecked_ref::<js_sys::JsString>().length() as usize;
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
