//! The search of the default weights: a small grid scored on the tuning users only, the
//! choice made by a stated rule, and the chosen point reported on both halves.
//!
//! Rule: the scoring weights (`priorWeight`, `neighborWeight`, `tagWeight`) of the best
//! NDCG@10 on the tuning half at diversity 0; then the largest `diversity` of the grid whose
//! tuning NDCG@10 stays within [`DIVERSITY_COST`] (relative) of that best, because diversity
//! is wanted on a page (near-duplicates apart) and NDCG alone cannot see its benefit.

use super::cases::{Case, Split};
use super::metrics::{metrics, Metrics};
use attune::personalize::{rank, RankOptions};
use attune::profile::{Profile, ProfileConfig};
use attune::Result;
use serde_json::{json, Value};

pub const K: usize = 10;
const PRIOR: [f32; 5] = [0.75, 1.0, 1.5, 2.0, 3.0];
const NEIGHBOR: [f32; 5] = [0.5, 1.0, 1.5, 2.0, 3.0];
const TAG: [f32; 3] = [0.0, 0.25, 0.5];
const DIVERSITY: [f32; 6] = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3];
/// The most tuning NDCG@10 (relative) that diversity may cost.
pub const DIVERSITY_COST: f64 = 0.01;

/// Mean metrics of `opts` (`seed` set per user) over the cases in `split`; `empty` ranks with
/// an empty profile (the prior's order).
pub fn evaluate(cases: &[Case], split: Split, opts: &RankOptions, empty: bool) -> Result<Metrics> {
    let blank = Profile::new(ProfileConfig::default())?;
    let (mut sum, mut n) = (Metrics::default(), 0);
    for c in cases.iter().filter(|c| split.holds(c.user)) {
        let o = RankOptions { seed: c.user as u64, ..opts.clone() };
        let ranked = rank(if empty { &blank } else { &c.profile }, &c.candidates, &c.vectors, &o, c.now)?;
        let rel: Vec<bool> = ranked.iter().map(|r| c.relevant.contains(&c.ids[r.index])).collect();
        sum += metrics(&rel, c.relevant.len(), K);
        n += 1;
    }
    Ok(sum.mean(n))
}

/// The random baseline over `split`.
pub fn random(cases: &[Case], split: Split) -> Metrics {
    let (mut sum, mut n) = (Metrics::default(), 0);
    for c in cases.iter().filter(|c| split.holds(c.user)) {
        let rel: Vec<bool> = c.shuffled.iter().map(|id| c.relevant.contains(id)).collect();
        sum += metrics(&rel, c.relevant.len(), K);
        n += 1;
    }
    sum.mean(n)
}

fn point(o: &RankOptions, m: Metrics) -> Value {
    json!({ "priorWeight": o.prior_weight, "neighborWeight": o.neighbor_weight, "tagWeight": o.tag_weight,
            "diversity": o.diversity, "ndcg@10": m.ndcg, "hr@10": m.hr, "mrr": m.mrr })
}

/// Runs the grid on the tuning half; returns the report (every point, the choice, and the
/// chosen options and popularity on both halves).
pub fn search(cases: &[Case]) -> Result<Value> {
    let base = RankOptions { exploration: 0.0, diversity: 0.0, ..RankOptions::default() };
    let mut points = Vec::new();
    let mut best: Option<(RankOptions, Metrics)> = None;
    for &prior_weight in &PRIOR {
        for &neighbor_weight in &NEIGHBOR {
            for &tag_weight in &TAG {
                let o = RankOptions { prior_weight, neighbor_weight, tag_weight, ..base.clone() };
                let m = evaluate(cases, Split::Tune, &o, false)?;
                points.push(point(&o, m));
                if best.as_ref().is_none_or(|(_, b)| m.ndcg > b.ndcg) {
                    best = Some((o, m));
                }
            }
        }
    }
    let (weights, top) = best.expect("the grid is not empty");
    let mut chosen = weights.clone();
    for &diversity in &DIVERSITY[1..] {
        let o = RankOptions { diversity, ..weights.clone() };
        let m = evaluate(cases, Split::Tune, &o, false)?;
        points.push(point(&o, m));
        if m.ndcg >= top.ndcg * (1.0 - DIVERSITY_COST) {
            chosen = o;
        }
    }
    let mut report = serde_json::Map::new();
    for split in [Split::Tune, Split::Test] {
        let m = evaluate(cases, split, &chosen, false)?;
        let pop = evaluate(cases, split, &base, true)?;
        report.insert(split.name().into(), json!({ "chosen": point(&chosen, m), "popularity": point(&base, pop) }));
    }
    Ok(json!({
        "rule": format!("scoring weights: best tuning NDCG@{K} at diversity 0; then the largest diversity within {}% of that NDCG", DIVERSITY_COST * 100.0),
        "grid": { "priorWeight": PRIOR, "neighborWeight": NEIGHBOR, "tagWeight": TAG, "diversity": DIVERSITY },
        "points": points,
        "chosen": { "priorWeight": chosen.prior_weight, "neighborWeight": chosen.neighbor_weight, "tagWeight": chosen.tag_weight, "diversity": chosen.diversity },
        "tune": report["tune"],
        "test": report["test"],
    }))
}
