//! The scoring parts of one item, kept apart so ranking can explain itself:
//! - the profile's own parts (`Profile::score`): closeness to the interest centroids, the
//!   penalty of the negative centroids, tag affinities;
//! - tag shares: the item's tags' share of all the user's tag affinity (signed), which keeps
//!   the taste among genres that everyone reads (a tanh of raw affinities saturates there);
//! - neighbours: closeness to single items the user liked (the recent list), which keeps a
//!   narrow taste that a centroid averages away;
//! - the page's prior (popularity, freshness), weighted.

use super::options::RankOptions;
use super::types::Candidate;
use crate::profile::vector::{cosine, dot, unit};
use crate::profile::tags::normalize_all;
use crate::profile::{Profile, ScoreBreakdown};

/// Liked items whose closeness counts: the mean of the best this many cosines.
pub const NEIGHBORS: usize = 3;

/// A liked item of the recent list, its vector at unit length.
#[derive(Debug, Clone)]
pub struct Liked {
    pub id: String,
    pub snippet: Option<String>,
    pub vector: Vec<f32>,
}

/// What scoring needs from the profile, prepared once per call.
pub struct Signals<'a> {
    pub profile: &'a Profile,
    pub liked: Vec<Liked>,
    pub now: i64,
    /// Sum of |affinity| over the profile's tags at `now`.
    pub tag_total: f64,
}

impl<'a> Signals<'a> {
    pub fn new(profile: &'a Profile, now: i64) -> Self {
        let liked = profile
            .recent
            .items
            .iter()
            .filter(|r| r.interest.is_some() && r.negative.is_none())
            .filter_map(|r| {
                let v = unit(&r.vector.as_ref()?.dequantize().ok()?)?;
                Some(Liked { id: r.id.clone(), snippet: r.snippet.clone(), vector: v })
            })
            .collect();
        let hl = profile.config.half_life_ms;
        let tag_total = profile.tags.tags.values().map(|t| t.affinity.at(now, hl).abs()).sum();
        Signals { profile, liked, now, tag_total }
    }

    /// Signed share of the user's tag affinity held by these tags (each counted once).
    pub fn tag_share(&self, tags: &[String]) -> f32 {
        if self.tag_total <= 0.0 {
            return 0.0;
        }
        let hl = self.profile.config.half_life_ms;
        let sum: f64 = normalize_all(tags).iter().map(|t| self.profile.tags.affinity(t, self.now, hl)).sum();
        (sum / self.tag_total) as f32
    }

    /// Whether the profile knows anything that can tell items apart.
    pub fn is_personal(&self) -> bool {
        let p = self.profile;
        !(p.interests.is_empty() && p.negatives.is_empty() && p.tags.tags.is_empty() && self.liked.is_empty())
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parts {
    pub profile: ScoreBreakdown,
    /// Signed share of the user's tag affinity held by the item's tags.
    pub tag_share: f32,
    /// Mean of the best [`NEIGHBORS`] cosines (≥ 0) to liked items.
    pub neighbor: f32,
    /// The nearest liked item and its cosine.
    pub nearest: Option<(usize, f32)>,
    pub prior: f32,
    /// `interest·w_i − negative·w_n` (the profile's weights) `+ tag_weight × tag_share +
    /// neighbor_weight × neighbor`.
    pub personal: f32,
    /// `personal + prior_weight × prior`: what ranks.
    pub score: f32,
}

/// Mean of the `k` largest values of `sims` (fewer if there are fewer).
pub fn top_mean(sims: &mut [f32], k: usize) -> f32 {
    if sims.is_empty() {
        return 0.0;
    }
    sims.sort_by(|a, b| b.total_cmp(a));
    let k = k.min(sims.len());
    sims[..k].iter().sum::<f32>() / k as f32
}

/// Scores one candidate; `vector` is its embedding at unit length (none: no text).
pub fn score(s: &Signals, vector: Option<&[f32]>, c: &Candidate, opts: &RankOptions) -> Parts {
    let profile = s.profile.score(vector, &c.tags, Some(&c.id), s.now);
    let mut parts = Parts { profile, prior: c.prior.unwrap_or(0.0), ..Default::default() };
    if let Some(v) = vector.filter(|v| s.profile.dim.is_none_or(|d| d == v.len())) {
        let mut sims: Vec<f32> =
            s.liked.iter().map(|l| if l.vector.len() == v.len() { dot(&l.vector, v) } else { cosine(&l.vector, v) }).collect();
        parts.nearest = sims.iter().copied().enumerate().max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        for x in sims.iter_mut() {
            *x = x.max(0.0);
        }
        parts.neighbor = top_mean(&mut sims, NEIGHBORS);
    }
    parts.tag_share = s.tag_share(&c.tags);
    let w = &s.profile.config.score;
    parts.personal = w.interest * parts.profile.interest - w.negative * parts.profile.negative
        + opts.tag_weight * parts.tag_share
        + opts.neighbor_weight * parts.neighbor;
    parts.score = parts.personal + opts.prior_weight * parts.prior;
    parts
}
