//! What pages pass in and get back. Every type is (de)serialized in camelCase so the JS facade
//! can hand them over as JSON.

use serde::{Deserialize, Serialize};

/// An item on the page, to be ranked. `text` is what gets embedded (title, summary…);
/// `prior` is the page's own score in 0..=1 (popularity, freshness), if it has one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior: Option<f32>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReasonKind {
    /// Close to an item the user liked (`itemId` names it).
    SimilarTo,
    /// Carries a tag the user often picks (`tag` names it).
    Tag,
    /// Close to one of the user's interests, without one item standing out.
    Interest,
    /// An exploration slot: outside the known interests.
    New,
    /// High in the page's own prior (popularity, freshness).
    Popular,
    /// Nothing personal applies: kept in the page's order.
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
