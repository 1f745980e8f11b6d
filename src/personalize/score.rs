//! The scoring parts of one item, kept apart so ranking can explain itself:
//! - the profile's own parts (`Profile::score`): closeness to the interest centroids, the
//!   penalty of the negative centroids, tag affinities;
//! - tag shares: the item's tags' share of all the user's tag affinity (signed), which keeps
//!   the taste among genres that everyone reads (a tanh of raw affinities saturates there);
//! - neighbours: closeness to single items the user liked (the recent list), which keeps a
//!   narrow taste that a centroid averages away;
//! - the page's prior (popularity, freshness), weighted.

use super::options::RankOptions;
use super::reasons::{strongest_event, DUPLICATE_MIN};
use super::types::Candidate;
use crate::embedding::ItemMatrix;
use crate::error::Result;
use crate::profile::tags::normalize_all;
use crate::profile::vector::unit;
use crate::profile::{CentroidSims, EventKind, Profile, ScoreBreakdown};

/// Liked items whose closeness counts: the mean of the best this many cosines.
pub const NEIGHBORS: usize = 3;
/// The most recent liked items that neighbours are drawn from: each costs a row of the page's
/// matmul, and the recent taste is what a narrow interest is.
pub const NEIGHBOR_POOL: usize = 16;

/// A liked item of the recent list, its vector at unit length.
#[derive(Debug, Clone)]
pub struct Liked {
    pub id: String,
    pub snippet: Option<String>,
    /// The strongest positive event the item got (the verb of a reason citing it).
    pub event: EventKind,
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
        // Newest last in the recent list: the last NEIGHBOR_POOL liked ones, oldest first.
        let weights = &profile.config.type_weights;
        let mut liked: Vec<Liked> = profile
            .recent
            .items
            .iter()
            .rev()
            .filter(|r| r.interest.is_some() && r.negative.is_none())
            .filter_map(|r| {
                let v = unit(&r.vector.as_ref()?.dequantize().ok()?)?;
                let event = strongest_event(r, |k| weights.base(k) > 0.0).unwrap_or(EventKind::View);
                Some(Liked { id: r.id.clone(), snippet: r.snippet.clone(), event, vector: v })
            })
            .take(NEIGHBOR_POOL)
            .collect();
        liked.reverse();
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
    /// The nearest liked item that is neither this item (same id) nor a near-duplicate of it
    /// (cosine ≥ [`DUPLICATE_MIN`]): the one a reason may cite.
    pub cited: Option<(usize, f32)>,
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

/// The page's cosines to the profile, all at once: `[interests; negatives; liked items]` (unit
/// rows) against every item's row of the [`ItemMatrix`], one quantized matmul, kept item-major
/// so each item's cosines are one slice.
pub struct PageSims {
    /// `by_item[row * width + q]`.
    by_item: Vec<f32>,
    rows: usize,
    interests: usize,
    negatives: usize,
    liked: usize,
}

/// One item's cosines: to each interest, each negative centroid and each liked item.
#[derive(Debug, Clone, Copy, Default)]
pub struct ItemSims<'a> {
    pub interests: &'a [f32],
    pub negatives: &'a [f32],
    pub liked: &'a [f32],
}

impl PageSims {
    /// Empty (every item without sims) when the profile's width is not the items'.
    pub fn new(s: &Signals, items: &ItemMatrix) -> Result<Self> {
        let dim = items.dim();
        let p = s.profile;
        let empty = PageSims { by_item: Vec::new(), rows: 0, interests: 0, negatives: 0, liked: 0 };
        if items.rows() == 0 || p.dim.is_some_and(|d| d != dim) {
            return Ok(empty);
        }
        let zero = vec![0f32; dim];
        let centroid = |m: &Vec<f32>| if m.len() == dim { unit(m).unwrap_or_else(|| zero.clone()) } else { zero.clone() };
        let mut queries: Vec<Vec<f32>> = p.interests.centroids.iter().map(|c| centroid(&c.mean)).collect();
        queries.extend(p.negatives.centroids.iter().map(|c| centroid(&c.mean)));
        queries.extend(s.liked.iter().map(|l| if l.vector.len() == dim { l.vector.clone() } else { zero.clone() }));
        let refs: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
        let dots = items.dots(&refs)?;
        let (rows, width) = (items.rows(), queries.len());
        let mut by_item = vec![0f32; dots.len()];
        for (q, col) in dots.chunks_exact(rows.max(1)).enumerate() {
            for (r, d) in col.iter().enumerate() {
                by_item[r * width + q] = *d;
            }
        }
        Ok(PageSims { by_item, rows, interests: p.interests.centroids.len(), negatives: p.negatives.centroids.len(), liked: s.liked.len() })
    }

    /// The cosines of the item in `row` (none when the page had no sims).
    pub fn item(&self, row: usize) -> Option<ItemSims<'_>> {
        if row >= self.rows {
            return None;
        }
        let width = self.interests + self.negatives + self.liked;
        let all = &self.by_item[row * width..][..width];
        let (interests, rest) = all.split_at(self.interests);
        let (negatives, liked) = rest.split_at(self.negatives);
        Some(ItemSims { interests, negatives, liked })
    }
}

/// Scores one candidate from its cosines to the profile (none: no vector, or one of another
/// width).
pub fn score(s: &Signals, sims: Option<ItemSims>, c: &Candidate, opts: &RankOptions) -> Parts {
    let centroid = sims.map(|x| CentroidSims { interests: x.interests, negatives: x.negatives });
    let profile = s.profile.score_with(centroid, &c.tags, Some(&c.id), s.now);
    let mut parts = Parts { profile, prior: c.prior.unwrap_or(0.0), ..Default::default() };
    if let Some(x) = sims {
        let best = |(_, a): &(usize, f32), (_, b): &(usize, f32)| a.total_cmp(b);
        let sims = || x.liked.iter().copied().enumerate().rev();
        parts.nearest = sims().max_by(best);
        parts.cited = sims().filter(|&(j, sim)| s.liked[j].id != c.id && sim < DUPLICATE_MIN).max_by(best);
        let mut positive = [0f32; NEIGHBOR_POOL];
        for (p, v) in positive.iter_mut().zip(x.liked) {
            *p = v.max(0.0);
        }
        parts.neighbor = top_mean(&mut positive[..x.liked.len().min(NEIGHBOR_POOL)], NEIGHBORS);
    }
    parts.tag_share = s.tag_share(&c.tags);
    let w = &s.profile.config.score;
    parts.personal = w.interest * parts.profile.interest - w.negative * parts.profile.negative
        + opts.tag_weight * parts.tag_share
        + opts.neighbor_weight * parts.neighbor;
    parts.score = parts.personal + opts.prior_weight * parts.prior;
    parts
}
