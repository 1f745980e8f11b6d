//! Maximal marginal relevance: the next item is the one with the best
//! `score − diversity × (max cosine to the items already placed)`, so near-duplicates do not
//! fill the top. Only the first `window` positions are chosen this way; the rest keep their
//! relevance order (bounds the cost on long lists).

use crate::profile::vector::dot;

/// `order` holds indices sorted by relevance (best first); `scores[i]` and `vectors[i]` (unit
/// length, or none) belong to index `i`. Returns the re-ordered indices. Ties keep the
/// relevance order, so `diversity = 0` returns `order` unchanged.
pub fn rerank(order: &[usize], scores: &[f32], vectors: &[Option<&[f32]>], diversity: f32, window: usize) -> Vec<usize> {
    if diversity <= 0.0 || order.len() < 2 {
        return order.to_vec();
    }
    let mut rest: Vec<usize> = order.to_vec();
    // Max similarity of each remaining item to those placed, updated as items are placed.
    let mut max_sim = vec![0f32; rest.len()];
    let mut out = Vec::with_capacity(order.len());
    let picks = window.min(order.len());
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
        if let Some(cv) = vectors[chosen] {
            for (j, &i) in rest.iter().enumerate() {
                if let Some(v) = vectors[i].filter(|v| v.len() == cv.len()) {
                    max_sim[j] = max_sim[j].max(dot(cv, v));
                }
            }
        }
        out.push(chosen);
    }
    out.extend(rest);
    out
}
