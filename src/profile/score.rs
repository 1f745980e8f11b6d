//! How well an item fits the profile, with the parts kept apart so ranking can explain itself.

use super::tags::normalize;
use super::vector::cosine;
use super::Profile;
use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScoreBreakdown {
    /// `interest·w_i − negative·w_n + tags·w_t − hidden_penalty` (weights from the config).
    pub total: f32,
    /// Best over interests of `max(cos, 0) × strength`, strength = `W / (W + k)`.
    pub interest: f32,
    /// The interest that gave it, and the raw cosine to it.
    pub interest_id: Option<u32>,
    pub similarity: f32,
    /// Same over the negative centroids.
    pub negative: f32,
    pub negative_id: Option<u32>,
    /// Mean over the item's tags of `tanh(affinity)`, in −1..1.
    pub tags: f32,
    /// The tag with the strongest affinity (either sign).
    pub top_tag: Option<String>,
    pub hidden: bool,
    /// How long ago the item was last touched, if it is in the recent list.
    pub seen_ms_ago: Option<i64>,
}

/// Cosines of one item to each interest and each negative centroid, in the sets' order:
/// computed per item by [`Profile::score`], or for a whole page at once by the ranking's matmul.
#[derive(Debug, Clone, Copy)]
pub struct CentroidSims<'a> {
    pub interests: &'a [f32],
    pub negatives: &'a [f32],
}

impl Profile {
    /// Scores an item by its embedding (if any), tags and id, at time `now`. Vectors of the
    /// wrong width count as no vector.
    pub fn score(&self, vector: Option<&[f32]>, item_tags: &[String], item_id: Option<&str>, now: i64) -> ScoreBreakdown {
        let v = vector.filter(|v| self.dim.is_none_or(|d| d == v.len()));
        let cos = |set: &super::interests::CentroidSet| -> Vec<f32> {
            v.map_or_else(Vec::new, |v| set.centroids.iter().map(|c| cosine(&c.mean, v)).collect())
        };
        let (i, n) = (cos(&self.interests), cos(&self.negatives));
        let sims = v.map(|_| CentroidSims { interests: &i, negatives: &n });
        self.score_with(sims, item_tags, item_id, now)
    }

    /// [`score`](Self::score) from the item's cosines to the centroids (none: no vector).
    pub fn score_with(&self, sims: Option<CentroidSims>, item_tags: &[String], item_id: Option<&str>, now: i64) -> ScoreBreakdown {
        let hl = self.config.half_life_ms;
        let sw = &self.config.score;
        let mut b = ScoreBreakdown::default();
        if let Some(sims) = sims {
            let best = |set: &super::interests::CentroidSet, sims: &[f32]| {
                set.centroids
                    .iter()
                    .zip(sims)
                    .map(|(c, &sim)| {
                        let w = c.weight.at(now, hl);
                        (sim.max(0.0) * (w / (w + sw.strength_k as f64)) as f32, c.id, sim)
                    })
                    .max_by(|a, b| a.0.total_cmp(&b.0))
            };
            if let Some((s, id, sim)) = best(&self.interests, sims.interests) {
                (b.interest, b.interest_id, b.similarity) = (s, Some(id), sim);
            }
            if let Some((s, id, _)) = best(&self.negatives, sims.negatives) {
                (b.negative, b.negative_id) = (s, Some(id));
            }
        }
        let tags: Vec<(String, f64)> =
            item_tags.iter().filter_map(|t| normalize(t)).map(|t| { let a = self.tags.affinity(&t, now, hl); (t, a) }).collect();
        if !tags.is_empty() {
            b.tags = (tags.iter().map(|(_, a)| a.tanh()).sum::<f64>() / tags.len() as f64) as f32;
            b.top_tag = tags.iter().filter(|(_, a)| *a != 0.0).max_by(|x, y| x.1.abs().total_cmp(&y.1.abs())).map(|(t, _)| t.clone());
        }
        if let Some(id) = item_id {
            b.hidden = self.hidden.contains(id);
            b.seen_ms_ago = self.recent.get(id).map(|r| now.saturating_sub(r.last_ms).max(0));
        }
        b.total = sw.interest * b.interest - sw.negative * b.negative + sw.tags * b.tags
            - if b.hidden { sw.hidden_penalty } else { 0.0 };
        b
    }
}
