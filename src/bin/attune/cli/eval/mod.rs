//! `attune eval-movielens`: the offline evaluation of ranking on MovieLens 100K (issue 7).
//!
//! Per user, ratings are ordered by time; the earliest 70 % (floor) build a fresh profile
//! (rating ≥ 4: like, ≤ 2: dislike, else view; item text = "title (year). genres", tags =
//! genres). The candidates are the user's later movies rated ≥ 4 (the relevant ones) mixed
//! with 100 movies the user never rated (seeded draw), in a seeded random order. The prior is
//! popularity from the history portions only: `ln(1 + n) / ln(1 + max n)`. Every method ranks
//! the same candidates through `attune::personalize::rank`; users with no later movie rated
//! ≥ 4 are skipped (and counted). Users are split by a fixed hash into a tuning and a test
//! half (`cases::Split`): the default weights are searched on the tuning half only
//! (`--grid`, see `grid`), and every method is reported on both halves.

mod cases;
mod grid;
mod metrics;
mod movielens;

use super::{load_encoder, optional, required};
use attune::compute::device::DeviceChoice;
use attune::personalize::RankOptions;
use attune::{AttuneError, Result};
use cases::Split;
use pico_args::Arguments;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub fn run(mut args: Arguments) -> Result<()> {
    let model: PathBuf = required(&mut args, "--model")?;
    let data: PathBuf = required(&mut args, "--data")?;
    let out: Option<PathBuf> = optional(&mut args, "--out")?;
    let grid_out: Option<PathBuf> = optional(&mut args, "--grid")?;
    let negatives: usize = optional(&mut args, "--negatives")?.unwrap_or(100);
    let seed: u64 = optional(&mut args, "--seed")?.unwrap_or(42);
    let options: Option<String> = optional(&mut args, "--options")?;
    let split: Option<Split> = optional(&mut args, "--split")?;
    super::positionals(args)?
        .is_empty()
        .then_some(())
        .ok_or_else(|| AttuneError::InvalidArgument("eval-movielens takes no positional arguments".into()))?;
    let opts: RankOptions = match options {
        Some(s) => serde_json::from_str(&s).map_err(|e| AttuneError::InvalidArgument(format!("--options: {e}")))?,
        None => RankOptions::default(),
    };
    opts.validate()?;

    let t0 = Instant::now();
    let movies = movielens::movies(&data)?;
    let mut ratings = movielens::ratings(&data)?;
    ratings.sort_by_key(|r| (r.user, r.ts, r.item));
    let vectors = embeddings(&model, &data, &movies)?;
    let embed_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let all = cases::build(&movies, &ratings, &vectors, negatives, seed)?;
    let cases = &all.cases;

    if let Some(path) = grid_out {
        let report = grid::search(cases)?;
        write(&path, &report)?;
        eprintln!("grid: {} points on the tuning users in {:.1} s; chosen {}", report["points"].as_array().map_or(0, Vec::len), t1.elapsed().as_secs_f64(), report["chosen"]);
        for s in ["tune", "test"] {
            let (c, p) = (&report[s]["chosen"], &report[s]["popularity"]);
            println!("{s:<5} NDCG@10 chosen {:.4}  popularity {:.4}", c["ndcg@10"].as_f64().unwrap_or(0.0), p["ndcg@10"].as_f64().unwrap_or(0.0));
        }
        return Ok(());
    }

    let methods: [(&str, RankOptions, bool); 5] = [
        ("personalized+prior (defaults)", opts.clone(), false),
        ("personalized+prior, no diversity", RankOptions { diversity: 0.0, ..opts.clone() }, false),
        // Exploration only brings items from below the shown ones: show the K that are scored.
        ("personalized+prior, exploration 0.1", RankOptions { exploration: 0.1, limit: Some(grid::K), ..opts.clone() }, false),
        ("personalized (no prior)", RankOptions { prior_weight: 0.0, ..opts.clone() }, false),
        ("popularity-only", opts.clone(), true),
    ];
    let splits = split.map_or(vec![Split::Tune, Split::Test, Split::All], |s| vec![s]);
    let mut results = Vec::new();
    println!("{:<40} {:<5} {:>8} {:>8} {:>8}", "method", "users", "NDCG@10", "HR@10", "MRR");
    for &s in &splits {
        let users = cases.iter().filter(|c| s.holds(c.user)).count();
        let mut rows: Vec<(&str, metrics::Metrics)> = Vec::new();
        for (name, o, empty) in &methods {
            rows.push((name, grid::evaluate(cases, s, o, *empty)?));
        }
        rows.push(("random", grid::random(cases, s)));
        for (name, m) in rows {
            println!("{name:<40} {:<5} {:>8.4} {:>8.4} {:>8.4}", s.name(), m.ndcg, m.hr, m.mrr);
            results.push(json!({ "method": name, "split": s.name(), "users": users, "ndcg@10": m.ndcg, "hr@10": m.hr, "mrr": m.mrr }));
        }
    }
    let rank_s = t1.elapsed().as_secs_f64();
    let report = json!({
        "dataset": "MovieLens 100K (recbole==1.2.1 wheel, recbole/dataset_example/ml-100k)",
        "protocol": "per user: earliest 70% of ratings (floor) build the profile (>=4 like, <=2 dislike, else view); candidates = later movies rated >=4 + 100 unseen movies (seeded); prior = ln(1+n)/ln(1+max n) over history portions; users split into tune/test halves by a fixed hash",
        "model": model.display().to_string(),
        "users": cases.len(),
        "skipped_users": all.skipped,
        "mean_candidates": cases.iter().map(|c| c.ids.len()).sum::<usize>() as f64 / cases.len().max(1) as f64,
        "negatives": negatives,
        "seed": seed,
        "rank_options": opts,
        "results": results,
        "embed_seconds": embed_s,
        "rank_seconds": rank_s,
    });
    if let Some(out) = out {
        write(&out, &report)?;
    }
    eprintln!("users {} (skipped {}), embeddings {embed_s:.1} s, ranking {rank_s:.1} s", cases.len(), all.skipped);
    Ok(())
}

fn write(path: &Path, v: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(v).map_err(|e| AttuneError::Io(e.to_string()))?;
    std::fs::write(path, text + "\n").map_err(|e| AttuneError::Io(format!("{}: {e}", path.display())))
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
