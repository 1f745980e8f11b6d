//! One evaluation case per user: the profile from the history portion, the seeded candidates,
//! which of them are relevant; and the fixed split of users into a tuning and a test half.

use super::movielens::{Movie, Rating};
use attune::embedding::ItemMatrix;
use attune::model::sampler::SplitMix64;
use attune::personalize::Candidate;
use attune::profile::{Event, EventKind, Item, Profile, ProfileConfig};
use attune::{AttuneError, Result};
use std::collections::{BTreeMap, HashMap, HashSet};

/// MovieLens 100K was rated in 1997-98, before the earliest time an event may carry
/// (`profile::rules::EARLIEST_MS`); every time is moved 30 years later. Decay, pruning and
/// ranking only use differences of times, so the results are the same.
const SHIFT_MS: i64 = 30 * 365 * 86_400_000;
/// Salt of the user split: a user is in the tuning half when the first draw of
/// `SplitMix64(user ^ SPLIT_SALT)` is even.
const SPLIT_SALT: u64 = 0x5EED_5B11_7000_0001;

/// Which users a run covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    All,
    Tune,
    Test,
}

impl std::str::FromStr for Split {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "all" => Ok(Split::All),
            "tune" => Ok(Split::Tune),
            "test" => Ok(Split::Test),
            _ => Err(format!("split {s:?}: one of all, tune, test")),
        }
    }
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Split::All => "all",
            Split::Tune => "tune",
            Split::Test => "test",
        }
    }

    /// Whether `user` is in this split: a fixed hash of the id, about half each.
    pub fn holds(self, user: u32) -> bool {
        let tune = SplitMix64::new(user as u64 ^ SPLIT_SALT).next_u64() % 2 == 0;
        match self {
            Split::All => true,
            Split::Tune => tune,
            Split::Test => !tune,
        }
    }
}

pub struct Case {
    pub user: u32,
    pub profile: Profile,
    pub now: i64,
    pub ids: Vec<u32>,
    pub candidates: Vec<Candidate>,
    pub vectors: ItemMatrix,
    pub relevant: HashSet<u32>,
    /// The random baseline's order of `ids`.
    pub shuffled: Vec<u32>,
}

pub struct Cases {
    pub cases: Vec<Case>,
    /// Users without a later movie rated ≥ 4 (or without history).
    pub skipped: usize,
}

/// Builds the cases of every user (see the module docs of `eval`).
pub fn build(movies: &BTreeMap<u32, Movie>, ratings: &[Rating], vectors: &HashMap<u32, Vec<f32>>, negatives: usize, seed: u64) -> Result<Cases> {
    let mut by_user: BTreeMap<u32, Vec<Rating>> = BTreeMap::new();
    for r in ratings {
        by_user.entry(r.user).or_default().push(*r);
    }
    // Popularity from the history portions only.
    let split = |n: usize| n * 7 / 10;
    let mut popularity: HashMap<u32, u32> = HashMap::new();
    for rs in by_user.values() {
        for r in &rs[..split(rs.len())] {
            *popularity.entry(r.item).or_default() += 1;
        }
    }
    let max_pop = popularity.values().copied().max().unwrap_or(1) as f32;
    let prior = |id: u32| (1.0 + popularity.get(&id).copied().unwrap_or(0) as f32).ln() / (1.0 + max_pop).ln();
    let all_ids: Vec<u32> = movies.keys().copied().collect();
    let vector = |id: &u32| vectors.get(id).ok_or_else(|| AttuneError::InvalidArgument(format!("no embedding for movie {id}")));

    let mut out = Cases { cases: Vec::new(), skipped: 0 };
    for (&user, rs) in &by_user {
        let (history, later) = rs.split_at(split(rs.len()));
        let relevant: HashSet<u32> = later.iter().filter(|r| r.rating >= 4.0).map(|r| r.item).collect();
        if relevant.is_empty() || history.is_empty() {
            out.skipped += 1;
            continue;
        }
        let rated: HashSet<u32> = rs.iter().map(|r| r.item).collect();
        let mut rng = SplitMix64::new(seed ^ (user as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut unseen: Vec<u32> = all_ids.iter().copied().filter(|id| !rated.contains(id)).collect();
        let n_neg = negatives.min(unseen.len());
        shuffle_prefix(&mut unseen, n_neg, &mut rng);
        let mut ids: Vec<u32> = later.iter().filter(|r| r.rating >= 4.0).map(|r| r.item).collect();
        ids.extend_from_slice(&unseen[..n_neg]);
        let n = ids.len();
        shuffle_prefix(&mut ids, n, &mut rng);

        let mut profile = Profile::new(ProfileConfig::default())?;
        for r in history {
            let m = &movies[&r.item];
            let kind = if r.rating >= 4.0 { EventKind::Like } else if r.rating <= 2.0 { EventKind::Dislike } else { EventKind::View };
            let at = r.ts * 1000 + SHIFT_MS;
            let e = Event::new(kind, Item::new(r.item.to_string()).with_text(m.text.clone()).with_tags(m.genres.clone())).at(at);
            profile.apply(&e, Some(vector(&r.item)?), at)?;
        }
        let now = history.last().map_or(0, |r| r.ts * 1000 + SHIFT_MS);
        let candidates: Vec<Candidate> = ids
            .iter()
            .map(|&id| Candidate::new(id.to_string()).with_text(movies[&id].text.clone()).with_tags(movies[&id].genres.clone()).with_prior(prior(id)))
            .collect();
        let vecs: Vec<Option<Vec<f32>>> = ids.iter().map(|id| vector(id).map(|v| Some(v.clone()))).collect::<Result<_>>()?;
        let mut shuffled = ids.clone();
        shuffle_prefix(&mut shuffled, n, &mut rng);
        out.cases.push(Case { user, profile, now, ids, candidates, vectors: ItemMatrix::from_f32(&vecs)?, relevant, shuffled });
    }
    Ok(out)
}

/// Partial Fisher–Yates: the first `k` of `v` become a uniform draw.
fn shuffle_prefix<T>(v: &mut [T], k: usize, rng: &mut SplitMix64) {
    for i in 0..k {
        let j = i + (rng.next_u64() % (v.len() - i) as u64) as usize;
        v.swap(i, j);
    }
}
