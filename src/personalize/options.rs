//! Options of `rank`, `similar` and `topics`, with their checks (anything a page can pass is
//! validated here, so nothing downstream meets a NaN or an absurd size).

use super::reason_texts::ReasonTexts;
use super::types::Candidate;
use crate::error::{AttuneError, Result};
use crate::profile::limits;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Most items one `rank` or `similar` call takes.
pub const MAX_ITEMS: usize = 20_000;
pub use crate::profile::item_text::MAX_TEXT_CHARS;
/// Positions that MMR diversity re-orders at most (the rest follow by relevance): bounds the
/// quadratic cost on long lists.
pub const MMR_WINDOW: usize = 50;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RankOptions {
    /// Return at most this many items (all when absent).
    pub limit: Option<usize>,
    /// MMR weight of redundancy, 0..=1: each next item pays `diversity × max cosine` to the
    /// items above it (0 = pure relevance).
    pub diversity: f32,
    /// Share of the returned slots, 0..=1, given to items outside the known interests.
    #[serde(alias = "explore")]
    pub exploration: f32,
    /// Seed of the exploration draw: the same seed and input give the same ranking.
    pub seed: u64,
    /// Also filter items the user already touched (hidden and dismissed ones always are).
    pub exclude_seen: bool,
    /// Weight of the page's prior in the score (`score = personal + priorWeight × prior`).
    pub prior_weight: f32,
    /// Weight of the item's tags' share of the user's tag affinity.
    pub tag_weight: f32,
    /// Weight of the closeness to single liked items (nearest neighbours in the recent list).
    pub neighbor_weight: f32,
    /// An item counts as outside the known interests (an exploration candidate) when its
    /// cosine to every interest is below this.
    pub novelty_below: f32,
    /// Rank now with the vectors at hand: items whose text is not cached yet are ranked
    /// without it (by tags and prior) and marked `pending`, instead of being embedded first.
    pub cached_only: bool,
    /// Replacements for the reasons' texts, by key (`similarTo.like`, `tag`…; see
    /// [`reason_texts`](super::reason_texts)).
    #[serde(skip_serializing_if = "ReasonTexts::is_empty")]
    pub reason_texts: ReasonTexts,
}

impl Default for RankOptions {
    fn default() -> Self {
        RankOptions {
            limit: None,
            // Chosen on the tuning half of MovieLens 100K (`make eval-tune`; README: the rule,
            // and NDCG@10 on the held-out half).
            diversity: 0.3,
            // Off: a site turns it on knowingly (it never takes the first slots; explore.rs).
            exploration: 0.0,
            seed: 0,
            exclude_seen: false,
            prior_weight: 1.5,
            neighbor_weight: 2.0,
            tag_weight: 0.25,
            novelty_below: 0.3,
            cached_only: false,
            reason_texts: ReasonTexts::default(),
        }
    }
}

fn bad<T>(m: String) -> Result<T> {
    Err(AttuneError::InvalidArgument(m))
}

fn unit_range(name: &str, v: f32) -> Result<()> {
    if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
        return bad(format!("{name} {v} is outside 0..=1"));
    }
    Ok(())
}

impl RankOptions {
    pub fn validate(&self) -> Result<()> {
        unit_range("diversity", self.diversity)?;
        unit_range("exploration", self.exploration)?;
        if self.limit == Some(0) {
            return bad("limit must be at least 1".into());
        }
        for (name, w) in [("priorWeight", self.prior_weight), ("neighborWeight", self.neighbor_weight), ("tagWeight", self.tag_weight)] {
            if !(w.is_finite() && (0.0..=100.0).contains(&w)) {
                return bad(format!("{name} {w} is outside 0..=100"));
            }
        }
        if !(self.novelty_below.is_finite() && (-1.0..=1.0).contains(&self.novelty_below)) {
            return bad(format!("noveltyBelow {} is outside -1..=1", self.novelty_below));
        }
        self.reason_texts.validate()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SimilarOptions {
    pub limit: Option<usize>,
}

impl Default for SimilarOptions {
    fn default() -> Self {
        SimilarOptions { limit: Some(10) }
    }
}

impl SimilarOptions {
    pub fn validate(&self) -> Result<()> {
        if self.limit == Some(0) {
            return bad("limit must be at least 1".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicOptions {
    /// At most this many topics.
    pub limit: usize,
    /// A label names an interest only if their cosine is at least this.
    pub min_similarity: f32,
}

impl Default for TopicOptions {
    fn default() -> Self {
        TopicOptions { limit: 5, min_similarity: 0.25 }
    }
}

impl TopicOptions {
    pub fn validate(&self) -> Result<()> {
        if self.limit == 0 || self.limit > 100 {
            return bad(format!("limit {} is outside 1..=100", self.limit));
        }
        if !(self.min_similarity.is_finite() && (-1.0..=1.0).contains(&self.min_similarity)) {
            return bad(format!("minSimilarity {} is outside -1..=1", self.min_similarity));
        }
        Ok(())
    }
}

/// Checks a list of items: size, ids (non-empty, bounded, distinct), text length, tags, priors.
pub fn validate_items(items: &[Candidate]) -> Result<()> {
    if items.len() > MAX_ITEMS {
        return Err(AttuneError::InputTooLarge(format!("{} items (at most {MAX_ITEMS} per call)", items.len())));
    }
    let mut seen = HashSet::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        if it.id.is_empty() || it.id.len() > limits::ID_BYTES {
            return bad(format!("item {i}: id must be 1..={} bytes", limits::ID_BYTES));
        }
        if !seen.insert(it.id.as_str()) {
            return bad(format!("item {i}: duplicate id {:?}", it.id));
        }
        if it.text.as_ref().is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS) {
            return Err(AttuneError::InputTooLarge(format!("item {i}: text over {MAX_TEXT_CHARS} characters")));
        }
        if it.tags.len() > 64 {
            return bad(format!("item {i}: {} tags (at most 64)", it.tags.len()));
        }
        if let Some(p) = it.prior {
            if !(p.is_finite() && (0.0..=1.0).contains(&p)) {
                return bad(format!("item {i}: prior {p} is outside 0..=1"));
            }
        }
    }
    Ok(())
}
