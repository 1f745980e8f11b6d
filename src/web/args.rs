//! Arguments from JavaScript arrive as JSON text (the glue refuses NaN, Infinity and bigints,
//! which JSON cannot carry) and are checked here, in Rust: a wrong type, a missing field, an
//! unknown field, a non-finite number or an oversized input is an `invalid_argument` /
//! `input_too_large`, never a panic. serde_json is already in the wasm (the stores' records), so
//! this adds no crate, where serde-wasm-bindgen would be one more.

use crate::error::{AttuneError, Result};
use crate::profile::item_text::TextFields;
use crate::profile::{rules, Event, EventKind, Forget, Item};
use crate::session::SimilarQuery;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Largest JSON argument accepted (a profile import has its own, equal limit).
pub const MAX_ARG_BYTES: usize = 4 << 20;
/// Most texts one `embed` call takes (larger batches: split them).
pub const MAX_EMBED_TEXTS: usize = 1024;
/// Most tags one item may carry in an event.
pub const MAX_ITEM_TAGS: usize = 64;

/// Parses `json` as `T`; `what` names the argument in the error message.
pub fn parse<T: DeserializeOwned>(json: &str, what: &str) -> Result<T> {
    if json.len() > MAX_ARG_BYTES {
        return Err(AttuneError::InputTooLarge(format!("{what}: {} bytes, at most {MAX_ARG_BYTES}", json.len())));
    }
    serde_json::from_str(json).map_err(|e| AttuneError::InvalidArgument(format!("{what}: {e}")))
}

/// Options objects: "null" (none given) → the defaults.
pub fn options<T: DeserializeOwned + Default>(json: &str, what: &str) -> Result<T> {
    if json.trim() == "null" {
        return Ok(T::default());
    }
    parse(json, what)
}

/// `similar(query)`: a text, or an item (`{id, text, …}`) which is left out of the results.
pub fn similar_query(json: &str) -> Result<SimilarQuery> {
    let v: serde_json::Value = parse(json, "similar(query)")?;
    match v {
        serde_json::Value::String(text) => Ok(SimilarQuery { text: Some(text), item: None }),
        serde_json::Value::Object(_) => {
            let item = serde_json::from_value(v).map_err(|e| AttuneError::InvalidArgument(format!("similar(query): {e}")))?;
            Ok(SimilarQuery { text: None, item: Some(item) })
        }
        _ => Err(AttuneError::InvalidArgument("similar(query) must be a text or an item".into())),
    }
}

/// `track({ type, item: { id, text?, tags?, url? }, weight?, seconds?, query?, at? })`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackArgs {
    #[serde(rename = "type")]
    kind: EventKind,
    item: ItemArgs,
    #[serde(default)]
    weight: Option<f32>,
    /// Seconds spent, for `dwell`.
    #[serde(default)]
    seconds: Option<f32>,
    /// The query, for `search`.
    #[serde(default)]
    query: Option<String>,
    /// When it happened (whole ms since the epoch); now if absent.
    #[serde(default, deserialize_with = "rules::optional_ms")]
    at: Option<i64>,
}

/// An item as pages describe it; fields the SDK does not use (price, image…) are allowed and
/// ignored, so a page can pass its own item objects. Without `text`, the text is built from
/// `title`/`name` and `summary`/`description` (`profile::item_text`).
#[derive(Deserialize)]
pub struct ItemArgs {
    id: String,
    #[serde(flatten)]
    text: TextFields,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    url: Option<String>,
}

impl ItemArgs {
    pub fn into_item(self) -> Result<Item> {
        let tags = self.tags.unwrap_or_default();
        if tags.len() > MAX_ITEM_TAGS {
            return Err(AttuneError::InputTooLarge(format!("{} tags on one item, at most {MAX_ITEM_TAGS}", tags.len())));
        }
        if self.id.is_empty() {
            return Err(AttuneError::InvalidArgument("item.id must not be empty".into()));
        }
        Ok(Item { id: self.id, text: self.text.build(), tags, url: self.url })
    }
}

impl TrackArgs {
    /// The event, checked by the profile's rules that need no clock (so a bad weight is refused
    /// before its text is embedded); `Profile::apply` checks `at` against now.
    pub fn into_event(self) -> Result<Event> {
        if self.kind == EventKind::Search && self.query.as_deref().is_none_or(str::is_empty) {
            return Err(AttuneError::InvalidArgument("a search event needs a query".into()));
        }
        let event = Event {
            kind: self.kind,
            item: self.item.into_item()?,
            weight: self.weight,
            dwell_seconds: self.seconds,
            query: self.query,
            at_ms: self.at,
        };
        rules::check_values(&event)?;
        Ok(event)
    }
}

/// `forget({ itemId } | { tag } | { memoryId } | { before } | { from, to })`: exactly one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ForgetArgs {
    #[serde(default)]
    item_id: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    memory_id: Option<String>,
    /// Everything before this time (ms since the epoch).
    #[serde(default)]
    before: Option<i64>,
    #[serde(default)]
    from: Option<i64>,
    #[serde(default)]
    to: Option<i64>,
}

impl ForgetArgs {
    pub fn into_forget(self) -> Result<Forget> {
        let one = |s: Option<String>, name: &str| match s {
            Some(s) if s.is_empty() => Err(AttuneError::InvalidArgument(format!("forget: {name} must not be empty"))),
            s => Ok(s),
        };
        let given = [self.item_id.is_some(), self.tag.is_some(), self.memory_id.is_some(), self.before.is_some(), self.from.is_some() || self.to.is_some()];
        if given.iter().filter(|&&g| g).count() != 1 {
            return Err(AttuneError::InvalidArgument(
                "forget takes exactly one of { itemId }, { tag }, { memoryId }, { before } or { from, to }".into(),
            ));
        }
        Ok(if let Some(id) = one(self.item_id, "itemId")? {
            Forget::Item { id }
        } else if let Some(tag) = one(self.tag, "tag")? {
            Forget::Tag { tag }
        } else if let Some(id) = one(self.memory_id, "memoryId")? {
            Forget::Memory { id }
        } else if let Some(before) = self.before {
            Forget::Range { from_ms: i64::MIN, to_ms: before.saturating_sub(1) }
        } else {
            let (from, to) = (self.from.unwrap_or(i64::MIN), self.to.unwrap_or(i64::MAX));
            if from > to {
                return Err(AttuneError::InvalidArgument("forget: from is after to".into()));
            }
            Forget::Range { from_ms: from, to_ms: to }
        })
    }
}

/// `embed(texts)`: 1..=MAX_EMBED_TEXTS strings.
pub fn embed_texts(json: &str) -> Result<Vec<String>> {
    let texts: Vec<String> = parse(json, "embed(texts)")?;
    if texts.is_empty() {
        return Err(AttuneError::InvalidArgument("embed needs at least one text".into()));
    }
    if texts.len() > MAX_EMBED_TEXTS {
        return Err(AttuneError::InputTooLarge(format!(
            "{} texts in one embed call, at most {MAX_EMBED_TEXTS}; split the batch",
            texts.len()
        )));
    }
    Ok(texts)
}

/// `remember(text)`: a non-empty string (length is checked by the profile).
pub fn memory_text(json: &str) -> Result<String> {
    let text: String = parse(json, "remember(text)")?;
    if text.trim().is_empty() {
        return Err(AttuneError::InvalidArgument("remember needs non-empty text".into()));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of a call the test expects to succeed (its error, if not, fails the test).
    fn ok<T>(r: Result<T>) -> T {
        r.unwrap_or_else(|e| panic!("expected success, got {e}"))
    }

    fn track(json: &str) -> Result<Event> {
        parse::<TrackArgs>(json, "track")?.into_event()
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn track_shapes() {
        let e = ok(track(r#"{"type":"click","item":{"id":"a","text":"hi","tags":["x"],"price":3}}"#));
        assert_eq!((e.kind, e.item.id.as_str(), e.item.tags.len()), (EventKind::Click, "a", 1));
        let e = ok(track(r#"{"type":"click","item":{"id":"a","title":"City adds 40 km","summary":"Council vote."}}"#));
        assert_eq!(e.item.text.as_deref(), Some("City adds 40 km. Council vote."));
        let code = |j: &str| track(j).unwrap_err().code();
        assert_eq!(code(r#"{"type":"clik","item":{"id":"a"}}"#), "invalid_argument");
        assert_eq!(code(r#"{"type":"click"}"#), "invalid_argument");
        assert_eq!(code(r#"{"type":"click","item":{"id":5}}"#), "invalid_argument");
        assert_eq!(code(r#"{"type":"click","item":{"id":""}}"#), "invalid_argument");
        assert_eq!(code(r#"{"type":"click","item":{"id":"a"},"weight":"NaN"}"#), "invalid_argument");
        assert_eq!(code(r#"{"type":"dwell","item":{"id":"a"},"seconds":-1}"#), "invalid_argument");
        assert_eq!(code(r#"{"type":"like","item":{"id":"a"},"weight":-1}"#), "invalid_argument");
        assert_eq!(code(r#"{"type":"like","item":{"id":"a"},"at":1700000000000.5}"#), "invalid_argument");
        assert_eq!(code(r#"{"type":"like","item":{"id":"a"},"at":1700000000}"#), "invalid_argument");
        assert_eq!(ok(track(r#"{"type":"like","item":{"id":"a"},"at":1700000000000}"#)).at_ms, Some(1_700_000_000_000));
        assert_eq!(code(r#"{"type":"search","item":{"id":"a"}}"#), "invalid_argument");
        assert_eq!(code(r#"{"type":"click","item":{"id":"a"},"extra":1}"#), "invalid_argument");
        assert_eq!(code("null"), "invalid_argument");
        let many = format!(r#"{{"type":"click","item":{{"id":"a","tags":[{}]}}}}"#, vec!["\"t\""; 10_000].join(","));
        assert_eq!(code(&many), "input_too_large");
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn forget_shapes() {
        let f = |j: &str| parse::<ForgetArgs>(j, "forget").and_then(ForgetArgs::into_forget);
        assert_eq!(ok(f(r#"{"itemId":"a"}"#)), Forget::Item { id: "a".into() });
        assert_eq!(ok(f(r#"{"before":10}"#)), Forget::Range { from_ms: i64::MIN, to_ms: 9 });
        assert_eq!(ok(f(r#"{"from":1,"to":5}"#)), Forget::Range { from_ms: 1, to_ms: 5 });
        for bad in [r#"{}"#, r#"{"itemId":"a","tag":"b"}"#, r#"{"itemId":""}"#, r#"{"from":5,"to":1}"#, r#"{"item":"a"}"#, "[]"] {
            assert_eq!(f(bad).unwrap_err().code(), "invalid_argument", "{bad}");
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn embed_and_memory_shapes() {
        assert_eq!(ok(embed_texts(r#"["a","b"]"#)).len(), 2);
        assert_eq!(embed_texts("[]").unwrap_err().code(), "invalid_argument");
        assert_eq!(embed_texts(r#"["a",1]"#).unwrap_err().code(), "invalid_argument");
        let many = format!("[{}]", vec!["\"t\""; 10_000].join(","));
        assert_eq!(embed_texts(&many).unwrap_err().code(), "input_too_large");
        assert_eq!(memory_text(r#""  ""#).unwrap_err().code(), "invalid_argument");
        assert_eq!(memory_text("3").unwrap_err().code(), "invalid_argument");
        let huge = format!("\"{}\"", "x".repeat(MAX_ARG_BYTES));
        assert_eq!(memory_text(&huge).unwrap_err().code(), "input_too_large");
    }
}
