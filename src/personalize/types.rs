//! What pages pass in and get back. Every type is (de)serialized in camelCase so the JS facade
//! can hand them over as JSON.

use crate::profile::item_text::TextFields;
use crate::profile::EventKind;
use serde::{Deserialize, Serialize};

/// An item on the page, to be ranked. `text` is what gets embedded: given, or built from
/// `title`/`name` and `summary`/`description` when read (`profile::item_text`); `prior` is the page's
/// own score in 0..=1 (popularity, freshness), if it has one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "CandidateIn")]
pub struct Candidate {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior: Option<f32>,
}

/// A candidate as pages pass it: the text fields of [`TextFields`] (other fields are ignored,
/// so a page can pass its own item objects).
#[derive(Deserialize)]
struct CandidateIn {
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
    prior: Option<f32>,
}

impl From<CandidateIn> for Candidate {
    fn from(c: CandidateIn) -> Self {
        let text = TextFields { text: c.text, title: c.title, name: c.name, summary: c.summary, description: c.description }.build();
        Candidate { id: c.id, text, tags: c.tags, prior: c.prior }
    }
}

impl Candidate {
    pub fn new(id: impl Into<String>) -> Self {
        Candidate { id: id.into(), ..Default::default() }
    }
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }
    pub fn with_tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }
    pub fn with_prior(mut self, prior: f32) -> Self {
        self.prior = Some(prior);
        self
    }
}

/// Why an item is where it is. The kinds are stable (sites may key their own texts on them);
/// the texts come from [`ReasonTexts`](super::reason_texts::ReasonTexts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReasonKind {
    /// The user already acted on this very item (`event` says how).
    Seen,
    /// Close to another item the user acted on (`itemId` names it, `event` says how); never the
    /// item itself or a near-duplicate of it.
    SimilarTo,
    /// Carries a tag the user often picks (`tag` names it).
    Tag,
    /// Close to one of the user's interests, without one item standing out.
    Interest,
    /// An exploration slot: outside the known interests.
    New,
    /// High in the page's own prior (popularity, freshness).
    Popular,
    /// The profile says nothing about the item: it keeps the page's order (its prior, else its
    /// input position) among such items.
    PageOrder,
}

/// One human-readable reason, with what it refers to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    pub kind: ReasonKind,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// For `seen` and `similarTo`: the strongest event the user gave the cited item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<EventKind>,
}

/// One ranked item, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ranked {
    pub id: String,
    /// Position of the item in the input.
    pub index: usize,
    /// Relevance: the profile's parts plus the weighted prior (higher is better). Exploration
    /// and diversity move items without changing their score.
    pub score: f32,
    /// Placed by exploration.
    #[serde(default)]
    pub explored: bool,
    /// Ranked without its text's embedding (`cachedOnly` and not cached yet): rank again
    /// later for its personal score.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending: bool,
    /// The item had no text (none of `text`, `title`, `name`, `summary`, `description`) and
    /// no precomputed vector: ranked by its tags and prior only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_text: bool,
    pub reasons: Vec<Reason>,
}

/// One result of `similar`, most similar first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimilarItem {
    pub id: String,
    pub index: usize,
    /// Cosine similarity of the embeddings, −1..=1.
    pub similarity: f32,
}
