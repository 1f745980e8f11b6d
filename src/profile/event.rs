//! What a page reports: an event kind, the item it concerns, an optional weight, a time.

use super::item_text::TextFields;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    View,
    Click,
    /// Time spent on the item; the seconds go in [`Event::dwell_seconds`].
    Dwell,
    Like,
    Share,
    Purchase,
    Dislike,
    Dismiss,
    Hide,
    /// A search; the query text goes in [`Event::query`] (and is what gets embedded).
    Search,
}

impl EventKind {
    pub const ALL: [EventKind; 10] = [
        EventKind::View,
        EventKind::Click,
        EventKind::Dwell,
        EventKind::Like,
        EventKind::Share,
        EventKind::Purchase,
        EventKind::Dislike,
        EventKind::Dismiss,
        EventKind::Hide,
        EventKind::Search,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventKind::View => "view",
            EventKind::Click => "click",
            EventKind::Dwell => "dwell",
            EventKind::Like => "like",
            EventKind::Share => "share",
            EventKind::Purchase => "purchase",
            EventKind::Dislike => "dislike",
            EventKind::Dismiss => "dismiss",
            EventKind::Hide => "hide",
            EventKind::Search => "search",
        }
    }
}

/// The thing an event is about. Only `id` is required; `text` is what gets embedded: given,
/// or built from `title`/`name` and `summary`/`description` when read
/// ([`item_text`](super::item_text)).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "ItemIn")]
pub struct Item {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Deserialize)]
struct ItemIn {
    id: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    url: Option<String>,
}

impl From<ItemIn> for Item {
    fn from(i: ItemIn) -> Self {
        let text = TextFields { text: i.text, title: i.title, name: i.name, summary: i.summary, description: i.description }.build();
        Item { id: i.id, text, tags: i.tags, url: i.url }
    }
}

impl Item {
    pub fn new(id: impl Into<String>) -> Self {
        Item { id: id.into(), ..Default::default() }
    }
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }
    pub fn with_tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    pub item: Item,
    /// Multiplies the kind's weight (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f32>,
    /// For `dwell`: seconds spent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dwell_seconds: Option<f32>,
    /// For `search`: the query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// When it happened (ms on the caller's clock); the `now` given to `apply` if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<i64>,
}

impl Event {
    pub fn new(kind: EventKind, item: Item) -> Self {
        Event { kind, item, weight: None, dwell_seconds: None, query: None, at_ms: None }
    }
    pub fn at(mut self, ms: i64) -> Self {
        self.at_ms = Some(ms);
        self
    }
    pub fn weighted(mut self, w: f32) -> Self {
        self.weight = Some(w);
        self
    }
    pub fn dwell(mut self, seconds: f32) -> Self {
        self.dwell_seconds = Some(seconds);
        self
    }
    pub fn query(mut self, q: impl Into<String>) -> Self {
        self.query = Some(q.into());
        self
    }

    /// The text to embed for this event: the query for a search, else the item text.
    pub fn embed_text(&self) -> Option<&str> {
        match self.kind {
            EventKind::Search => self.query.as_deref().or(self.item.text.as_deref()),
            _ => self.item.text.as_deref(),
        }
    }
}

/// Signed strength of each kind: positive kinds feed interests, negative ones negatives.
/// `dwell` is scaled by seconds: `dwell * min(seconds / dwell_full_seconds, 1)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TypeWeights {
    pub weights: BTreeMap<EventKind, f32>,
    pub dwell_full_seconds: f32,
}

impl Default for TypeWeights {
    fn default() -> Self {
        use EventKind::*;
        let weights = [
            (View, 0.2),
            (Click, 0.5),
            (Dwell, 1.0),
            (Like, 1.0),
            (Share, 1.5),
            (Purchase, 2.0),
            (Search, 0.6),
            (Dislike, -1.0),
            (Dismiss, -0.3),
            (Hide, -1.5),
        ]
        .into_iter()
        .collect();
        TypeWeights { weights, dwell_full_seconds: 60.0 }
    }
}

impl TypeWeights {
    pub fn base(&self, kind: EventKind) -> f32 {
        self.weights.get(&kind).copied().unwrap_or_else(|| TypeWeights::default().weights[&kind])
    }

    /// The signed weight of one event (kind weight × dwell scale × the event's own weight).
    pub fn of(&self, e: &Event) -> f32 {
        let mut w = self.base(e.kind) * e.weight.unwrap_or(1.0);
        if e.kind == EventKind::Dwell {
            let full = self.dwell_full_seconds.max(1e-3);
            w *= (e.dwell_seconds.unwrap_or(0.0) / full).clamp(0.0, 1.0);
        }
        w
    }
}
