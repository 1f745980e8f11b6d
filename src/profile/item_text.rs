//! The text of an item that gets embedded, from the fields pages use. The rule: `text` when it
//! is given and not blank; else the title (`title`, else `name`) and the summary (`summary`,
//! else `description`), each trimmed, joined by ". " (by " " when the title already ends in
//! `.`, `!`, `?` or `:`), either alone if the other is missing; none of them → no text. A
//! built text is cut to [`MAX_TEXT_CHARS`] (a given `text` over it is refused where it is
//! checked).

use serde::Deserialize;

/// Longest item text accepted (chars); the embedder reads only the first few hundred tokens.
pub const MAX_TEXT_CHARS: usize = 20_000;

/// The fields an item's text may come from, as a page passes them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TextFields {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// The names of the accepted fields, for error messages and warnings.
pub const FIELDS: &str = "text, title, name, summary or description";

impl TextFields {
    /// The text by the rule in the module docs.
    pub fn build(self) -> Option<String> {
        if self.text.as_deref().is_some_and(|t| !t.trim().is_empty()) {
            return self.text;
        }
        let first = |a: Option<String>, b: Option<String>| {
            [a, b].into_iter().flatten().map(|s| s.trim().to_string()).find(|s| !s.is_empty())
        };
        let head = first(self.title, self.name);
        let body = first(self.summary, self.description);
        let text = match (head, body) {
            (Some(h), Some(b)) => {
                let sep = if h.ends_with(['.', '!', '?', ':']) { " " } else { ". " };
                format!("{h}{sep}{b}")
            }
            (Some(one), None) | (None, Some(one)) => one,
            (None, None) => return self.text,
        };
        Some(if text.chars().count() > MAX_TEXT_CHARS { text.chars().take(MAX_TEXT_CHARS).collect() } else { text })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(json: &str) -> Option<String> {
        serde_json::from_str::<TextFields>(json).unwrap().build()
    }

    #[test]
    fn the_item_text_rule() {
        assert_eq!(build(r#"{"text":"Given","title":"T"}"#).as_deref(), Some("Given"));
        assert_eq!(build(r#"{"title":" City adds 40 km "}"#).as_deref(), Some("City adds 40 km"));
        assert_eq!(build(r#"{"title":"City adds 40 km","summary":"The council voted."}"#).as_deref(), Some("City adds 40 km. The council voted."));
        assert_eq!(build(r#"{"title":"Why ride?","description":"Because."}"#).as_deref(), Some("Why ride? Because."));
        assert_eq!(build(r#"{"name":"Carbon road bike","description":"8.2 kg"}"#).as_deref(), Some("Carbon road bike. 8.2 kg"));
        assert_eq!(build(r#"{"title":"T","name":"N","summary":"S","description":"D"}"#).as_deref(), Some("T. S"));
        assert_eq!(build(r#"{"text":"  ","title":"","name":"N"}"#).as_deref(), Some("N"));
        assert_eq!(build(r#"{"summary":"Only a summary"}"#).as_deref(), Some("Only a summary"));
        assert_eq!(build(r#"{}"#), None);
        assert_eq!(build(r#"{"title":"  "}"#), None);
        let long = format!(r#"{{"title":"{}"}}"#, "x".repeat(MAX_TEXT_CHARS + 5));
        assert_eq!(build(&long).map(|t| t.chars().count()), Some(MAX_TEXT_CHARS));
    }
}
