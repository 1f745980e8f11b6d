//! Tunables of the profile, with the hard ceilings no configuration may exceed (so a stored or
//! imported profile is bounded whatever it claims).

use super::event::TypeWeights;
use crate::error::{AttuneError, Result};
use serde::{Deserialize, Serialize};

pub const DAY_MS: i64 = 86_400_000;

/// Ceilings for the per-collection caps, whatever the configuration says.
pub mod limits {
    pub const INTERESTS: usize = 32;
    pub const NEGATIVES: usize = 16;
    pub const TAGS: usize = 256;
    pub const RECENT: usize = 500;
    pub const BLOCKED: usize = 1000;
    pub const MEMORIES: usize = 128;
    /// Ids of compacted recent items remembered (as hashes) so forgetting them is reported
    /// inexact; past this, every item outside the recent list is.
    pub const COMPACTED_IDS: usize = 1000;
    /// Longest item id kept (bytes; longer ids are refused).
    pub const ID_BYTES: usize = 256;
    /// Longest tag kept (chars; longer tags are cut).
    pub const TAG_CHARS: usize = 48;
    /// Tags kept per item.
    pub const TAGS_PER_ITEM: usize = 8;
    /// Chars of item text kept in the recent list (for explanations).
    pub const SNIPPET_CHARS: usize = 120;
    /// Longest memory text.
    pub const MEMORY_CHARS: usize = 1000;
    /// Widest embedding accepted.
    pub const DIM: usize = 4096;
    /// Largest serialized profile a store or import accepts.
    pub const PROFILE_BYTES: usize = 4 << 20;
    /// Earliest time (ms since 1970) a profile stores: 0, which fresh values also carry.
    pub const MIN_TIME_MS: i64 = 0;
    /// Latest time a profile stores: 3000-01-01. Far enough for any clock, near enough that
    /// differences of stored times and `now` stay far from overflowing.
    pub const MAX_TIME_MS: i64 = 32_503_680_000_000;
}

/// `Err` naming `what` if `ms` is outside [`limits::MIN_TIME_MS`]..=[`limits::MAX_TIME_MS`].
pub fn check_time(ms: i64, what: &str) -> std::result::Result<(), String> {
    if (limits::MIN_TIME_MS..=limits::MAX_TIME_MS).contains(&ms) {
        Ok(())
    } else {
        Err(format!("{what} {ms} is not a time between 1970 and 3000 (ms)"))
    }
}

/// How scores are combined (see `Profile::score`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScoreWeights {
    pub interest: f32,
    pub negative: f32,
    pub tags: f32,
    /// Subtracted from items the user hid.
    pub hidden_penalty: f32,
    /// An interest of decayed weight `w` counts `w / (w + strength_k)` of its similarity.
    pub strength_k: f32,
}

impl Default for ScoreWeights {
    fn default() -> Self {
        ScoreWeights { interest: 1.0, negative: 1.0, tags: 0.3, hidden_penalty: 2.0, strength_k: 1.0 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProfileConfig {
    /// Interests, negatives and tag affinities halve every this many ms (default 14 days).
    pub half_life_ms: i64,
    pub max_interests: usize,
    pub max_negatives: usize,
    pub max_tags: usize,
    pub max_recent: usize,
    pub max_blocked: usize,
    pub max_memories: usize,
    /// A new vector joins its nearest centroid when their cosine is at least this; otherwise
    /// it starts a new one (and the closest pair is merged if that exceeds the cap).
    pub join_similarity: f32,
    pub type_weights: TypeWeights,
    pub score: ScoreWeights,
}

impl Default for ProfileConfig {
    fn default() -> Self {
        ProfileConfig {
            half_life_ms: 14 * DAY_MS,
            max_interests: 8,
            max_negatives: 4,
            max_tags: 64,
            max_recent: 100,
            max_blocked: 200,
            max_memories: 32,
            join_similarity: 0.5,
            type_weights: TypeWeights::default(),
            score: ScoreWeights::default(),
        }
    }
}

impl ProfileConfig {
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(AttuneError::InvalidArgument(m));
        if self.half_life_ms < 60_000 {
            return bad(format!("half_life_ms {} is under one minute", self.half_life_ms));
        }
        for (name, v, max) in [
            ("max_interests", self.max_interests, limits::INTERESTS),
            ("max_negatives", self.max_negatives, limits::NEGATIVES),
            ("max_tags", self.max_tags, limits::TAGS),
            ("max_recent", self.max_recent, limits::RECENT),
            ("max_blocked", self.max_blocked, limits::BLOCKED),
            ("max_memories", self.max_memories, limits::MEMORIES),
        ] {
            if v == 0 || v > max {
                return bad(format!("{name} {v} is outside 1..={max}"));
            }
        }
        if !(self.join_similarity.is_finite() && (-1.0..=1.0).contains(&self.join_similarity)) {
            return bad(format!("join_similarity {} is outside -1..=1", self.join_similarity));
        }
        let tw = &self.type_weights;
        if tw.weights.values().any(|w| !w.is_finite() || w.abs() > 100.0) || !(tw.dwell_full_seconds > 0.0) {
            return bad("type weights must be finite, within ±100, dwell_full_seconds > 0".into());
        }
        let s = &self.score;
        if [s.interest, s.negative, s.tags, s.hidden_penalty].iter().any(|w| !w.is_finite())
            || !(s.strength_k > 0.0 && s.strength_k.is_finite())
        {
            return bad("score weights must be finite and strength_k > 0".into());
        }
        Ok(())
    }
}
