//! A bounded set of centroids in embedding space, each the decayed-weight mean of the vectors
//! that joined it. Used for interests and for negative interests alike.
//!
//! Every vector of a centroid decays at the same rate, so decay changes a centroid's weight but
//! never its direction: a centroid is its mean `m` and its weight `W` (a [`Decayed`]). Adding
//! `w·v` gives `m' = (W·m + w·v) / (W + w)`; merging and removing are the same sum, so an item
//! whose contribution is known can later be taken out exactly.

use super::decay::{factor, Decayed};
use super::vector::{self, cosine};
use serde::{Deserialize, Serialize};

/// Centroids lighter than this are gone (their influence has decayed to nothing).
pub const NEGLIGIBLE: f64 = 1e-6;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Centroid {
    /// Stable id (never reused within a profile), so items can name the centroid they joined.
    pub id: u32,
    /// Weighted mean of the unit vectors that joined (length ≤ 1).
    #[serde(with = "vector::b64")]
    pub mean: Vec<f32>,
    pub weight: Decayed,
    /// Events that joined (including through merges).
    pub count: u64,
    pub first_ms: i64,
    pub last_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CentroidSet {
    pub centroids: Vec<Centroid>,
    pub next_id: u32,
    /// Pairs merged to stay under the cap (detail compacted).
    pub merges: u64,
}

/// What [`CentroidSet::add`] did: the centroid that now holds the vector, and a merge (absorbed
/// id → surviving id) if the cap forced one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Added {
    pub id: u32,
    pub merged: Option<(u32, u32)>,
}

impl CentroidSet {
    pub fn len(&self) -> usize {
        self.centroids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.centroids.is_empty()
    }

    pub fn get(&self, id: u32) -> Option<&Centroid> {
        self.centroids.iter().find(|c| c.id == id)
    }

    /// `next_id`, or the first id after it that no centroid holds, and `next_id` moves past it.
    /// An imported document may carry a `next_id` at or below its centroids' ids (or one that
    /// wraps); a reused id would make two centroids one id, a profile that no longer loads.
    fn fresh_id(&mut self) -> u32 {
        let mut id = self.next_id;
        while self.centroids.iter().any(|c| c.id == id) {
            id = id.wrapping_add(1);
        }
        self.next_id = id.wrapping_add(1);
        id
    }

    /// Nearest centroid by cosine: (index, similarity).
    pub fn nearest(&self, v: &[f32]) -> Option<(usize, f32)> {
        self.centroids
            .iter()
            .enumerate()
            .map(|(i, c)| (i, cosine(&c.mean, v)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// Adds unit vector `v` with weight `w > 0` at time `at`. It joins `prefer` if that centroid
    /// still exists (an item keeps to the centroid it joined first), else the nearest one if
    /// similar enough, else starts a new centroid; over `cap`, the closest pair is merged.
    pub fn add(&mut self, v: &[f32], w: f64, at: i64, hl: i64, join: f32, cap: usize, prefer: Option<u32>) -> Added {
        let target = prefer
            .and_then(|id| self.centroids.iter().position(|c| c.id == id))
            .or_else(|| self.nearest(v).filter(|&(_, s)| s >= join).map(|(i, _)| i));
        let id = match target {
            Some(i) => {
                let c = &mut self.centroids[i];
                accumulate(c, v, w, at, hl);
                c.count += 1;
                c.first_ms = c.first_ms.min(at);
                c.last_ms = c.last_ms.max(at);
                c.id
            }
            None => {
                let id = self.fresh_id();
                self.centroids.push(Centroid {
                    id,
                    mean: v.to_vec(),
                    weight: Decayed::new(w, at),
                    count: 1,
                    first_ms: at,
                    last_ms: at,
                });
                id
            }
        };
        let mut added = Added { id, merged: None };
        if self.centroids.len() > cap.max(1) {
            let (from, into) = self.merge_closest(hl);
            added.merged = Some((from, into));
            if added.id == from {
                added.id = into;
            }
        }
        added
    }

    /// Merges the most similar pair into the heavier one; returns (absorbed id, surviving id).
    fn merge_closest(&mut self, hl: i64) -> (u32, u32) {
        let n = self.centroids.len();
        let (mut bi, mut bj, mut best) = (0, 1, f32::NEG_INFINITY);
        for i in 0..n {
            for j in i + 1..n {
                let s = cosine(&self.centroids[i].mean, &self.centroids[j].mean);
                if s > best {
                    (bi, bj, best) = (i, j, s);
                }
            }
        }
        let t = self.centroids[bi].weight.t.max(self.centroids[bj].weight.t);
        let (wi, wj) = (self.centroids[bi].weight.at(t, hl), self.centroids[bj].weight.at(t, hl));
        let (keep, gone) = if wi >= wj { (bi, bj) } else { (bj, bi) };
        let g = self.centroids.remove(gone);
        let keep = if gone < keep { keep - 1 } else { keep };
        let k = &mut self.centroids[keep];
        accumulate(k, &g.mean, g.weight.v, g.weight.t, hl);
        k.count += g.count;
        k.first_ms = k.first_ms.min(g.first_ms);
        k.last_ms = k.last_ms.max(g.last_ms);
        self.merges += 1;
        (g.id, k.id)
    }

    /// Takes out a contribution `w` (as of time `at`) of unit vector `v` from centroid `id`;
    /// a centroid left with negligible weight is removed. Returns whether `id` existed.
    pub fn remove(&mut self, id: u32, v: &[f32], w: f64, at: i64, hl: i64, events: u64) -> bool {
        let Some(i) = self.centroids.iter().position(|c| c.id == id) else { return false };
        let c = &mut self.centroids[i];
        let t = c.weight.t.max(at);
        let total = c.weight.advance(t, hl);
        let w = w * factor(t.saturating_sub(at), hl);
        let rest = total - w;
        if rest <= NEGLIGIBLE.max(total * 1e-6) {
            self.centroids.remove(i);
            return true;
        }
        for (m, x) in c.mean.iter_mut().zip(v) {
            *m = ((total * *m as f64 - w * *x as f64) / rest) as f32;
        }
        c.weight = Decayed::new(rest, t);
        c.count = c.count.saturating_sub(events);
        true
    }

    /// Drops centroids whose weight has decayed to nothing by `now`.
    pub fn prune(&mut self, now: i64, hl: i64) {
        self.centroids.retain(|c| c.weight.at(now, hl) > NEGLIGIBLE);
    }
}

/// `c.mean ← (W·mean + w·v) / (W + w)` at the later of the two times.
fn accumulate(c: &mut Centroid, v: &[f32], w: f64, at: i64, hl: i64) {
    let t = c.weight.t.max(at);
    let total = c.weight.advance(t, hl);
    let w = w * factor(t.saturating_sub(at), hl);
    let sum = total + w;
    if sum <= 0.0 {
        return;
    }
    for (m, x) in c.mean.iter_mut().zip(v) {
        *m = ((total * *m as f64 + w * *x as f64) / sum) as f32;
    }
    c.weight = Decayed::new(sum, t);
}
