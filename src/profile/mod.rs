//! The preference profile: events in, a small decayed summary out. Platform-free and
//! synchronous; every function takes the time (`now`, ms) from the caller, so the math is
//! tested natively with fixed clocks. Storage lives in `crate::store`.
//!
//! - interests: a bounded set of centroids in embedding space (cycling and jazz stay apart);
//! - negatives: centroids of disliked/dismissed/hidden items, plus hidden item ids;
//! - tags: signed tag affinities;
//! - recent: the last items touched, with each one's share (so `forget` is exact);
//! - memories: explicit facts with their embeddings.
//!
//! Every collection has a cap; what falls out is compacted into centroids and counts.

pub mod config;
pub mod decay;
pub mod event;
pub mod format;
pub mod forget;
pub mod interests;
pub mod item_text;
pub mod memories;
pub mod negatives;
pub mod recent;
pub mod rules;
pub mod score;
pub mod tags;
pub mod vector;

#[cfg(test)]
mod tests;
#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod proptests;

pub use config::{limits, ProfileConfig, ScoreWeights, DAY_MS};
pub use event::{Event, EventKind, Item, TypeWeights};
pub use forget::{Forget, ForgetReport};
pub use score::{CentroidSims, ScoreBreakdown};

use crate::error::{AttuneError, Result};
use interests::CentroidSet;
use memories::Memories;
use negatives::HiddenItems;
use recent::{RecentItems, Share};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tags::TagAffinities;

/// Counts that survive every compaction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub events: u64,
    pub by_kind: BTreeMap<EventKind, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ms: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub config: ProfileConfig,
    /// Id of the model the vectors come from (vectors of different models do not mix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Width of every vector in the profile, fixed by the first one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dim: Option<usize>,
    pub interests: CentroidSet,
    pub negatives: CentroidSet,
    pub hidden: HiddenItems,
    pub tags: TagAffinities,
    pub recent: RecentItems,
    pub memories: Memories,
    pub stats: Stats,
}

impl Profile {
    pub fn new(config: ProfileConfig) -> Result<Self> {
        config.validate()?;
        Ok(Profile { config, ..Default::default() })
    }

    /// Checks a vector against the profile's width and returns it at unit length.
    fn unit_vector(&self, v: &[f32]) -> Result<Vec<f32>> {
        if v.is_empty() || v.len() > limits::DIM {
            return Err(AttuneError::InvalidArgument(format!("vector of width {} (1..={})", v.len(), limits::DIM)));
        }
        if let Some(d) = self.dim.filter(|&d| d != v.len()) {
            return Err(AttuneError::InvalidArgument(format!(
                "vector of width {} but the profile holds width {d} (another model? clear the profile)",
                v.len()
            )));
        }
        vector::unit(v).ok_or_else(|| AttuneError::InvalidArgument("zero or non-finite vector".into()))
    }

    /// Folds one event into the profile. `item_vector` is the embedding of
    /// [`Event::embed_text`] (none: only tags, counts and the recent list learn from it).
    /// The event must pass [`rules::check`] at `now`. On error the profile is unchanged.
    pub fn apply(&mut self, e: &Event, item_vector: Option<&[f32]>, now: i64) -> Result<()> {
        rules::check(e, now)?;
        let id = e.item.id.as_str();
        let at = e.at_ms.unwrap_or(now);
        // A stored time out of range would make the profile's own export fail to import.
        config::check_time(at, "event time").map_err(AttuneError::InvalidArgument)?;
        let v = item_vector.map(|v| self.unit_vector(v)).transpose()?;
        let hl = self.config.half_life_ms;
        let w = self.config.type_weights.of(e) as f64;
        let cfg = &self.config;

        // Centroids first (they may merge, which renames centroids in the recent list).
        let prev = self.recent.get(id).cloned();
        let mut interest = None;
        let mut negative = None;
        if let Some(v) = v.as_deref().filter(|_| w != 0.0) {
            let (set, prior, cap) = if w > 0.0 {
                (&mut self.interests, prev.as_ref().and_then(|p| p.interest), cfg.max_interests)
            } else {
                (&mut self.negatives, prev.as_ref().and_then(|p| p.negative), cfg.max_negatives)
            };
            let added = set.add(v, w.abs(), at, hl, cfg.join_similarity, cap, prior.map(|s| s.centroid));
            let mut share = match prior.filter(|s| s.centroid == added.id || Some(s.centroid) == added.merged.map(|m| m.0)) {
                Some(s) => s,
                None => Share { centroid: added.id, weight: decay::Decayed::new(0.0, at) },
            };
            share.centroid = added.id;
            share.weight.add(w.abs(), at, hl);
            if w > 0.0 {
                interest = Some((share, added.merged));
            } else {
                negative = Some((share, added.merged));
            }
        }
        if let Some((_, Some((from, into)))) = interest {
            self.recent.remap(false, from, into);
        }
        if let Some((_, Some((from, into)))) = negative {
            self.recent.remap(true, from, into);
        }

        let item_tags = tags::normalize_all(&e.item.tags);
        let base = |k: EventKind| self.config.type_weights.base(k);
        let top = prev.as_ref().and_then(|p| p.top_kind).filter(|&k| base(k) > base(e.kind)).or((base(e.kind) > 0.0).then_some(e.kind));
        let top = top.or(prev.as_ref().and_then(|p| p.top_kind));
        let entry = self.recent.touch(id, e.kind, at);
        entry.top_kind = top;
        if entry.tags.is_empty() {
            // An item's tags are those of its first tagged event, so forgetting it takes out
            // exactly what was put in.
            entry.tags = item_tags;
        }
        if let Some(t) = e.embed_text() {
            entry.snippet = Some(recent::snippet(t));
        }
        if let Some(v) = v.as_deref() {
            entry.vector = Some(vector::Q8::quantize(v));
        }
        if let Some((s, _)) = interest {
            entry.interest = Some(s);
        }
        if let Some((s, _)) = negative {
            entry.negative = Some(s);
        }
        entry.tag_weight.add(w, at, hl);
        let entry_tags = entry.tags.clone();
        for t in &entry_tags {
            self.tags.add(t, w, at, hl, self.config.max_tags);
        }
        if e.kind == EventKind::Hide {
            self.hidden.hide(id, at, self.config.max_blocked);
        }
        self.recent.enforce(self.config.max_recent);
        self.interests.prune(now.max(at), hl);
        self.negatives.prune(now.max(at), hl);
        if let Some(v) = &v {
            self.dim = Some(v.len());
        }

        let s = &mut self.stats;
        s.events += 1;
        *s.by_kind.entry(e.kind).or_default() += 1;
        s.first_ms = Some(s.first_ms.map_or(at, |t| t.min(at)));
        s.last_ms = Some(s.last_ms.map_or(at, |t| t.max(at)));
        Ok(())
    }

    /// Adds an explicit fact with its embedding; returns its id.
    pub fn remember(&mut self, text: &str, vector: Option<&[f32]>, now: i64) -> Result<String> {
        config::check_time(now, "time").map_err(AttuneError::InvalidArgument)?;
        let v = vector.map(|v| self.unit_vector(v)).transpose()?;
        let dim = v.as_ref().map(Vec::len);
        let id = self.memories.add(text, v, now, self.config.max_memories)?;
        if dim.is_some() {
            self.dim = dim;
        }
        Ok(id)
    }

    /// Decayed weight of each interest at `now`, heaviest first: (centroid id, weight).
    pub fn interest_weights(&self, now: i64) -> Vec<(u32, f64)> {
        let mut w: Vec<(u32, f64)> =
            self.interests.centroids.iter().map(|c| (c.id, c.weight.at(now, self.config.half_life_ms))).collect();
        w.sort_by(|a, b| b.1.total_cmp(&a.1));
        w
    }

    /// Everything learned removed; the configuration is kept.
    pub fn cleared(&self) -> Profile {
        Profile { config: self.config.clone(), ..Default::default() }
    }

    /// The stored form's size in bytes (compact JSON).
    pub fn serialized_len(&self) -> usize {
        serde_json::to_vec(self).map_or(usize::MAX, |v| v.len())
    }
}
