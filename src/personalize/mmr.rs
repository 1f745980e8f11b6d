//! Maximal marginal relevance: the next item is the one with the best
//! `score − diversity × (max cosine to the items already placed)`, so near-duplicates do not
//! fill the top. Only the first `window` positions are chosen this way, from the
//! [`POOL_PER_SLOT`]` × window` most relevant items; the rest keep their relevance order
//! (bounds the cost on long lists: a page of thousands pays for its top only).

use crate::compute::cpu::simd;
use crate::embedding::ItemMatrix;

/// Candidates per diversified slot: an item further down would need a relevance gap to the
/// window's items smaller than the diversity penalty across that many places.
pub const POOL_PER_SLOT: usize = 4;

/// `order` holds indices sorted by relevance (best first); `scores[i]` and `vectors`' item `i`
/// belong to index `i`. Returns the re-ordered indices. Ties keep the relevance order, so
/// `diversity = 0` returns `order` unchanged.
pub fn rerank(order: &[usize], scores: &[f32], vectors: &ItemMatrix, diversity: f32, window: usize) -> Vec<usize> {
    if diversity <= 0.0 || order.len() < 2 {
        return order.to_vec();
    }
    let pool = order.len().min(window.saturating_mul(POOL_PER_SLOT));
    let mut rest: Vec<usize> = order[..pool].to_vec();
    let unit: Vec<Option<Vec<f32>>> = rest.iter().map(|&i| vectors.vector(i)).collect();
    let mut unit: Vec<Option<&[f32]>> = unit.iter().map(|v| v.as_deref()).collect();
    let dot = simd::best().dot_f32;
    // Max similarity of each remaining item to those placed, updated as items are placed.
    let mut max_sim = vec![0f32; rest.len()];
    let mut out = Vec::with_capacity(order.len());
    let picks = window.min(pool);
    while out.len() < picks {
        let mut best = 0;
        let mut best_val = f32::NEG_INFINITY;
        for (j, &i) in rest.iter().enumerate() {
            let val = scores[i] - diversity * max_sim[j];
            if val > best_val {
                (best, best_val) = (j, val);
            }
        }
        let chosen = rest.remove(best);
        max_sim.remove(best);
        if let Some(cv) = unit.remove(best) {
            for (j, v) in unit.iter().enumerate() {
                if let Some(v) = v {
                    max_sim[j] = max_sim[j].max(dot(cv, v));
                }
            }
        }
        out.push(chosen);
    }
    out.extend(rest);
    out.extend_from_slice(&order[pool..]);
    out
}
