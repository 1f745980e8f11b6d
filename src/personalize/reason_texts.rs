//! The one table the reasons' texts come from. A site replaces any entry (`reasonTexts`, e.g.
//! to translate them); keys are `kind` or `kind.event`, and a template may use only its own
//! placeholder (`{title}` in `similarTo.*`, `{tag}` in `tag`).

use crate::error::{AttuneError, Result};
use crate::profile::EventKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Longest template accepted (chars).
pub const MAX_TEMPLATE_CHARS: usize = 200;

/// The verb-bearing kinds: `seen` and `similarTo` have one text per positive event kind.
const EVENT_KEYS: [(EventKind, &str, &str); 7] = [
    (EventKind::View, "you read this", "similar to “{title}”, which you read"),
    (EventKind::Click, "you clicked this", "similar to “{title}”, which you clicked"),
    (EventKind::Dwell, "you read this", "similar to “{title}”, which you read"),
    (EventKind::Like, "you liked this", "similar to “{title}”, which you liked"),
    (EventKind::Share, "you shared this", "similar to “{title}”, which you shared"),
    (EventKind::Purchase, "you bought this", "similar to “{title}”, which you bought"),
    (EventKind::Search, "you searched for this", "matches your search for “{title}”"),
];

const PLAIN_KEYS: [(&str, &str); 5] = [
    ("tag", "you often pick “{tag}”"),
    ("interest", "close to your interests"),
    ("new", "something new for you"),
    ("popular", "popular here"),
    ("pageOrder", "in the page's order"),
];

/// Every key with its default template.
pub fn defaults() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (kind, seen, similar) in EVENT_KEYS {
        m.insert(format!("seen.{}", kind.name()), seen.to_string());
        m.insert(format!("similarTo.{}", kind.name()), similar.to_string());
    }
    for (k, v) in PLAIN_KEYS {
        m.insert(k.to_string(), v.to_string());
    }
    m
}

/// The placeholder a key's template may use.
fn placeholder(key: &str) -> Option<&'static str> {
    if key.starts_with("similarTo.") {
        Some("{title}")
    } else if key == "tag" {
        Some("{tag}")
    } else {
        None
    }
}

/// The table: the defaults with a site's replacements over them. Serialized as the
/// replacements only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReasonTexts {
    overrides: BTreeMap<String, String>,
}

impl ReasonTexts {
    pub fn new(overrides: BTreeMap<String, String>) -> Self {
        ReasonTexts { overrides }
    }

    pub fn is_empty(&self) -> bool {
        self.overrides.is_empty()
    }

    /// Every replacement names a known key, is 1..=[`MAX_TEMPLATE_CHARS`] chars and uses no
    /// placeholder but its key's.
    pub fn validate(&self) -> Result<()> {
        let known = defaults();
        for (key, text) in &self.overrides {
            if !known.contains_key(key) {
                let keys: Vec<&str> = known.keys().map(String::as_str).collect();
                return Err(AttuneError::InvalidArgument(format!("reasonTexts: unknown key {key:?} (known: {})", keys.join(", "))));
            }
            let n = text.chars().count();
            if text.trim().is_empty() || n > MAX_TEMPLATE_CHARS {
                return Err(AttuneError::InvalidArgument(format!("reasonTexts.{key}: a text of 1..={MAX_TEMPLATE_CHARS} characters")));
            }
            let allowed = placeholder(key);
            let mut rest = text.as_str();
            while let Some(open) = rest.find('{') {
                let close = rest[open..].find('}').map(|c| open + c + 1);
                let found = close.map(|c| &rest[open..c]);
                if found.is_none() || found != allowed {
                    let ok = allowed.map_or("no placeholder".to_string(), |p| format!("only {p}"));
                    return Err(AttuneError::InvalidArgument(format!("reasonTexts.{key}: {text:?} may use {ok}")));
                }
                rest = &rest[close.unwrap_or(rest.len())..];
            }
        }
        Ok(())
    }

    /// The text of `key` with its placeholder (if any) filled by `value`.
    pub fn render(&self, key: &str, value: &str) -> String {
        let template = match self.overrides.get(key) {
            Some(t) => t.clone(),
            None => defaults().remove(key).unwrap_or_default(),
        };
        match placeholder(key) {
            Some(p) => template.replace(p, value),
            None => template,
        }
    }
}

/// The key of a verb-bearing reason: `kind.event`.
pub fn event_key(kind: &str, event: EventKind) -> String {
    format!("{kind}.{}", event.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_positive_kind_has_a_verb_and_negative_ones_none() {
        let d = defaults();
        for kind in EventKind::ALL {
            let positive = crate::profile::TypeWeights::default().base(kind) > 0.0;
            assert_eq!(d.contains_key(&event_key("similarTo", kind)), positive, "{kind:?}");
            assert_eq!(d.contains_key(&event_key("seen", kind)), positive, "{kind:?}");
        }
    }

    #[test]
    fn replacements_are_checked_and_used() {
        let t = |k: &str, v: &str| ReasonTexts::new([(k.to_string(), v.to_string())].into());
        assert_eq!(t("similarTo.like", "wie „{title}“, das dir gefiel").render("similarTo.like", "Tour"), "wie „Tour“, das dir gefiel");
        assert_eq!(t("tag", "mehr {tag}").render("interest", ""), "close to your interests");
        assert!(t("tag", "mehr {tag}").validate().is_ok());
        for (k, v) in [("similarTo.dislike", "x"), ("nope", "x"), ("tag", "{title}"), ("interest", "{tag}"), ("tag", " "), ("tag", "{tag"), ("popular", &"x".repeat(201))] {
            assert_eq!(t(k, v).validate().unwrap_err().code(), "invalid_argument", "{k}: {v}");
        }
    }
}
