//! `rank`: filter, score, diversify, explore, explain. With a profile that knows nothing, the
//! page's prior (else its own order) is kept as is.

use super::explore::explore;
use super::filter::filtered;
use super::mmr;
use super::options::{validate_items, RankOptions, MMR_WINDOW};
use super::reasons::reasons;
use super::score::{score, PageSims, Parts, Signals};
use super::types::{Candidate, Ranked};
use crate::embedding::ItemMatrix;
use crate::error::{AttuneError, Result};
use crate::profile::Profile;

/// Ranks `items` for `profile` at `now`. `vectors` holds the embedding of each item (its text,
/// or a precomputed vector; none for an item without either). Hidden and dismissed items (and
/// seen ones with `exclude_seen`) are left out; every other item appears once, best first, up
/// to `limit`.
pub fn rank(profile: &Profile, items: &[Candidate], vectors: &ItemMatrix, opts: &RankOptions, now: i64) -> Result<Vec<Ranked>> {
    opts.validate()?;
    validate_items(items)?;
    if vectors.len() != items.len() {
        return Err(AttuneError::InvalidArgument(format!("{} vectors for {} items", vectors.len(), items.len())));
    }
    let s = Signals::new(profile, now);
    let sims = PageSims::new(&s, vectors)?;
    let parts: Vec<Option<Parts>> = items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let item_sims = vectors.row(i).and_then(|r| sims.item(r));
            filtered(profile, &it.id, opts.exclude_seen).is_none().then(|| score(&s, item_sims, it, opts))
        })
        .collect();

    let mut order: Vec<usize> = (0..items.len()).filter(|&i| parts[i].is_some()).collect();
    let scores: Vec<f32> = parts.iter().map(|p| p.as_ref().map_or(f32::NEG_INFINITY, |p| p.score)).collect();
    // Stable: equal scores keep the input order.
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let shown = opts.limit.unwrap_or(order.len()).min(order.len());

    let mut explored = Vec::new();
    if s.is_personal() {
        order = mmr::rerank(&order, &scores, vectors, opts.diversity, shown.min(MMR_WINDOW));
        let novel: Vec<bool> = parts.iter().map(|p| p.as_ref().is_some_and(|p| is_novel(p, opts.novelty_below))).collect();
        (order, explored) = explore(&order, &novel, shown, opts.exploration, opts.seed);
    }
    order.truncate(shown);
    Ok(order
        .into_iter()
        .map(|i| {
            let p = parts[i].as_ref().expect("only scored items are ordered");
            let was_explored = explored.contains(&i);
            Ranked {
                id: items[i].id.clone(),
                index: i,
                score: p.score,
                explored: was_explored,
                pending: false,
                no_text: false,
                reasons: reasons(&s, &items[i], p, was_explored, &opts.reason_texts),
            }
        })
        .collect())
}

/// Outside the known interests: not close to any interest or liked item, no liked tag.
pub fn is_novel(p: &Parts, below: f32) -> bool {
    p.profile.similarity < below && p.nearest.is_none_or(|(_, sim)| sim < below) && p.profile.tags <= 0.0 && p.profile.negative < below
}
