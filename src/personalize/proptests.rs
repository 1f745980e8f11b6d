//! Property tests of ranking: for any profile built from any event sequence and any page of
//! items (unique ids, 8-d vectors, some without), `rank` with no limit returns every item the
//! profile does not filter (hidden, dismissed) exactly once.

use super::filter::filtered;
use super::*;
use crate::embedding::ItemMatrix;
use crate::profile::proptests::{build, config, id, op};
use proptest::prelude::*;
use std::collections::BTreeSet;

const TAGS: [&str; 4] = ["cycling", "jazz", "food", "other"];

fn items() -> impl Strategy<Value = (Vec<Candidate>, Vec<Option<Vec<f32>>>)> {
    // Ids from a pool shared with the profile's events (item-0..item-11) and some it never saw.
    let item = (
        prop::option::of(prop::collection::vec(-1.0f32..1.0, 8)),
        prop::collection::vec(prop::sample::select(TAGS.to_vec()), 0..3),
        prop::option::of(0.0f32..=1.0),
    );
    (prop::sample::subsequence((0..16usize).collect::<Vec<_>>(), 0..=16), prop::collection::vec(item, 16))
        .prop_map(|(ids, parts)| {
            ids.iter()
                .zip(parts)
                .map(|(&i, (v, tags, prior))| {
                    let mut c = Candidate::new(id(i)).with_text(format!("text {i}")).with_tags(tags);
                    c.prior = prior;
                    (c, v)
                })
                .collect::<Vec<_>>()
        })
        .prop_shuffle()
        .prop_map(|page| page.into_iter().unzip())
}

fn options() -> impl Strategy<Value = RankOptions> {
    (0.0f32..=1.0, 0.0f32..=1.0, any::<u64>(), 0.0f32..2.0, -1.0f32..1.0).prop_map(|(diversity, exploration, seed, prior_weight, novelty_below)| {
        RankOptions { limit: None, diversity, exploration, seed, prior_weight, novelty_below, ..RankOptions::default() }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn rank_is_a_permutation_of_the_unfiltered_items(
        config in config(),
        ops in prop::collection::vec(op(), 0..30),
        (items, vectors) in items(),
        opts in options(),
        later in 0i64..crate::profile::DAY_MS,
    ) {
        let (p, now) = build(&config, &ops);
        let ranked = rank(&p, &items, &ItemMatrix::from_f32(&vectors).unwrap(), &opts, now + later).unwrap();
        let want: Vec<usize> = (0..items.len()).filter(|&i| filtered(&p, &items[i].id, false).is_none()).collect();
        let mut got: Vec<usize> = ranked.iter().map(|r| r.index).collect();
        prop_assert_eq!(got.iter().copied().collect::<BTreeSet<_>>().len(), got.len(), "an item twice: {:?}", got);
        got.sort_unstable();
        prop_assert_eq!(&got, &want);
        for r in &ranked {
            prop_assert_eq!(&r.id, &items[r.index].id);
            prop_assert!(r.score.is_finite(), "{:?}", r);
        }
    }
}

/// Cosine of two vectors (0 when either is zero).
fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n(a) == 0.0 || n(b) == 0.0 { 0.0 } else { dot / (n(a) * n(b)) }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// No reason cites the ranked item itself, nor an item whose vector is the ranked item's
    /// (some page items copy the vector of an item in the profile, under their own id); at most
    /// two reasons per item.
    #[test]
    fn no_item_is_explained_by_itself_or_its_duplicate(
        config in config(),
        ops in prop::collection::vec(op(), 0..30),
        (items, mut vectors) in items(),
        copies in prop::collection::vec(prop::option::of(0..16usize), 16),
        opts in options(),
    ) {
        let (p, now) = build(&config, &ops);
        let stored: Vec<(String, Vec<f32>)> =
            p.recent.items.iter().filter_map(|r| Some((r.id.clone(), r.vector.as_ref()?.dequantize().ok()?))).collect();
        for (v, copy) in vectors.iter_mut().zip(&copies) {
            if let Some((_, sv)) = copy.filter(|_| !stored.is_empty()).map(|c| &stored[c % stored.len()]) {
                *v = Some(sv.clone());
            }
        }
        let ranked = rank(&p, &items, &ItemMatrix::from_f32(&vectors).unwrap(), &opts, now).unwrap();
        for r in &ranked {
            prop_assert!(r.reasons.len() <= reasons::MAX_REASONS, "{:?}", r.reasons);
            for cited in r.reasons.iter().filter_map(|x| x.item_id.as_deref()) {
                prop_assert_ne!(cited, r.id.as_str(), "{:?}", r.reasons);
                if let (Some(v), Some((_, sv))) = (&vectors[r.index], stored.iter().find(|(id, _)| id == cited)) {
                    prop_assert!(cosine(v, sv) < 0.99, "{} cites {} at cosine {}", r.id, cited, cosine(v, sv));
                }
            }
        }
    }
}
