//! Unit and property tests of ranking with fixed, hand-made profiles (4-d vectors).

use super::explore::explore;
use super::mmr;
use super::options::{validate_items, MAX_ITEMS};
use super::score::{PageSims, Parts, Signals};
use super::topics::{topics, Taxonomy};
use super::*;
use crate::embedding::ItemMatrix;
use crate::model::sampler::SplitMix64;
use crate::profile::{Event, EventKind, Item, Profile, ProfileConfig};

const NOW: i64 = 1_700_000_000_000;
const BIKE: [f32; 4] = [1.0, 0.0, 0.0, 0.0];
const JAZZ: [f32; 4] = [0.0, 1.0, 0.0, 0.0];
const GOSSIP: [f32; 4] = [0.0, 0.0, 1.0, 0.0];
const OTHER: [f32; 4] = [0.0, 0.0, 0.0, 1.0];

/// The ranking over f32 vectors, encoded as the session caches them.
fn rank(p: &Profile, items: &[Candidate], v: &[Option<Vec<f32>>], o: &RankOptions, now: i64) -> crate::Result<Vec<Ranked>> {
    super::rank(p, items, &ItemMatrix::from_f32(v)?, o, now)
}

fn similar(q: &[f32], items: &[Candidate], v: &[Option<Vec<f32>>], exclude: Option<&str>, o: &SimilarOptions) -> Vec<SimilarItem> {
    super::similar(q, items, &ItemMatrix::from_f32(v).unwrap(), exclude, o).unwrap()
}

/// One item's parts, its vector scored through the page matmul.
fn score(s: &Signals, v: Option<&[f32]>, c: &Candidate, o: &RankOptions) -> Parts {
    let m = ItemMatrix::from_f32(&[v.map(<[f32]>::to_vec)]).unwrap();
    let sims = PageSims::new(s, &m).unwrap();
    super::score::score(s, m.row(0).and_then(|r| sims.item(r)), c, o)
}

fn event(kind: EventKind, id: &str, text: &str, tags: &[&str]) -> Event {
    Event::new(kind, Item::new(id).with_text(text).with_tags(tags.iter().copied())).at(NOW)
}

fn profile(events: &[(Event, [f32; 4])]) -> Profile {
    let mut p = Profile::new(ProfileConfig::default()).unwrap();
    for (e, v) in events {
        p.apply(e, Some(v), NOW).unwrap();
    }
    p
}

/// Likes bikes (two items, tag "cycling"), dislikes gossip.
fn cyclist() -> Profile {
    profile(&[
        (event(EventKind::Like, "l1", "Alpine road climbs", &["cycling"]), BIKE),
        (event(EventKind::Like, "l2", "Gravel bike review", &["cycling"]), [0.9, 0.1, 0.0, 0.0]),
        (event(EventKind::Dislike, "d1", "Awards gossip", &["celebs"]), GOSSIP),
    ])
}

fn cand(id: &str, tags: &[&str]) -> Candidate {
    Candidate::new(id).with_text(format!("text of {id}")).with_tags(tags.iter().copied())
}

fn opts() -> RankOptions {
    RankOptions { diversity: 0.0, exploration: 0.0, ..RankOptions::default() }
}

fn ids(r: &[Ranked]) -> Vec<&str> {
    r.iter().map(|x| x.id.as_str()).collect()
}

// ---- scoring parts ----

#[test]
fn interest_part_rewards_closeness_to_an_interest() {
    let p = cyclist();
    let s = Signals::new(&p, NOW);
    let bike = score(&s, Some(&BIKE), &cand("a", &[]), &opts());
    let other = score(&s, Some(&OTHER), &cand("b", &[]), &opts());
    assert!(bike.profile.interest > 0.5 && other.profile.interest == 0.0, "{bike:?} {other:?}");
    assert!(bike.personal > other.personal);
}

#[test]
fn negative_part_penalizes_closeness_to_a_dislike() {
    let p = cyclist();
    let s = Signals::new(&p, NOW);
    let gossip = score(&s, Some(&GOSSIP), &cand("a", &[]), &opts());
    let other = score(&s, Some(&OTHER), &cand("b", &[]), &opts());
    assert!(gossip.profile.negative > 0.3 && other.profile.negative == 0.0);
    assert!(gossip.personal < other.personal && gossip.personal < 0.0);
}

#[test]
fn tag_share_is_signed_and_normalized() {
    let p = cyclist();
    let s = Signals::new(&p, NOW);
    let liked = s.tag_share(&["Cycling".into()]);
    let disliked = s.tag_share(&["celebs".into()]);
    assert!(liked > 0.5 && liked <= 1.0, "{liked}");
    assert!(disliked < 0.0 && disliked >= -1.0, "{disliked}");
    assert_eq!(s.tag_share(&["unknown".into()]), 0.0);
    // A tag counted twice counts once.
    assert_eq!(s.tag_share(&["cycling".into(), "cycling".into()]), liked);
}

#[test]
fn neighbor_part_is_the_mean_of_the_nearest_liked_items() {
    let p = cyclist();
    let s = Signals::new(&p, NOW);
    assert_eq!(s.liked.len(), 2, "the disliked item is not a neighbour");
    let parts = score(&s, Some(&BIKE), &cand("a", &[]), &opts());
    let (i, sim) = parts.nearest.unwrap();
    assert_eq!(s.liked[i].id, "l1");
    assert!((sim - 1.0).abs() < 0.02);
    // Mean of the two liked cosines (1.0 and ≈0.994).
    assert!((parts.neighbor - (1.0 + 0.9 / (0.82f32).sqrt()) / 2.0).abs() < 0.02, "{}", parts.neighbor);
}

#[test]
fn prior_is_weighted_into_the_score() {
    let p = cyclist();
    let s = Signals::new(&p, NOW);
    let o = RankOptions { prior_weight: 2.0, ..opts() };
    let a = score(&s, Some(&OTHER), &cand("a", &[]).with_prior(0.5), &o);
    assert!((a.score - a.personal - 1.0).abs() < 1e-6);
}

// ---- rank ----

fn vecs(vs: &[[f32; 4]]) -> Vec<Option<Vec<f32>>> {
    vs.iter().map(|v| Some(v.to_vec())).collect()
}

#[test]
fn the_liked_topic_ranks_first_and_reasons_say_why() {
    let p = cyclist();
    let items = [cand("gossip", &["celebs"]), cand("other", &[]), cand("bike", &["cycling"])];
    // Cosine 0.8 to l1 and 0.86 to l2: similar to both, a duplicate of neither.
    let r = rank(&p, &items, &vecs(&[GOSSIP, OTHER, [0.8, 0.6, 0.0, 0.0]]), &opts(), NOW).unwrap();
    assert_eq!(ids(&r), ["bike", "other", "gossip"]);
    let kinds: Vec<ReasonKind> = r[0].reasons.iter().map(|x| x.kind).collect();
    assert!(kinds.contains(&ReasonKind::SimilarTo) && kinds.contains(&ReasonKind::Tag), "{:?}", r[0].reasons);
    let similar = r[0].reasons.iter().find(|x| x.kind == ReasonKind::SimilarTo).unwrap();
    assert_eq!(similar.text, "similar to “Gravel bike review”, which you liked");
    assert_eq!((similar.item_id.as_deref(), similar.event), (Some("l2"), Some(EventKind::Like)));
    assert!(r.iter().all(|x| x.reasons.len() <= super::reasons::MAX_REASONS));
}

#[test]
fn an_empty_profile_keeps_the_prior_else_the_page_order() {
    let p = Profile::new(ProfileConfig::default()).unwrap();
    let items = [cand("a", &[]), cand("b", &[]), cand("c", &[])];
    let o = RankOptions::default(); // diversity and exploration on: still no change
    let r = rank(&p, &items, &vecs(&[BIKE, BIKE, JAZZ]), &o, NOW).unwrap();
    assert_eq!(ids(&r), ["a", "b", "c"]);
    assert!(r.iter().all(|x| x.reasons[0].kind == ReasonKind::PageOrder));
    let items = [cand("a", &[]).with_prior(0.1), cand("b", &[]).with_prior(0.9), cand("c", &[]).with_prior(0.5)];
    let r = rank(&p, &items, &vecs(&[BIKE, BIKE, JAZZ]), &o, NOW).unwrap();
    assert_eq!(ids(&r), ["b", "c", "a"]);
    assert_eq!(r[0].reasons[0].kind, ReasonKind::Popular);
}

#[test]
fn hidden_and_dismissed_items_are_filtered_seen_ones_on_request() {
    let mut p = cyclist();
    p.apply(&event(EventKind::Hide, "h", "x", &[]), None, NOW).unwrap();
    p.apply(&event(EventKind::Dismiss, "m", "x", &[]), None, NOW).unwrap();
    let items = [cand("h", &[]), cand("m", &[]), cand("l1", &[]), cand("new", &[])];
    let v = vecs(&[BIKE, BIKE, BIKE, BIKE]);
    let r = rank(&p, &items, &v, &opts(), NOW).unwrap();
    assert_eq!(ids(&r), ["l1", "new"]);
    let r = rank(&p, &items, &v, &RankOptions { exclude_seen: true, ..opts() }, NOW).unwrap();
    assert_eq!(ids(&r), ["new"]);
}

#[test]
fn diversity_pushes_a_near_duplicate_down() {
    // Likes bikes and jazz alike: the two liked items score the same.
    let p = profile(&[
        (event(EventKind::Like, "l1", "Alpine road climbs", &[]), BIKE),
        (event(EventKind::Like, "l2", "Jazz trio live", &[]), JAZZ),
    ]);
    let items = [cand("bike1", &[]), cand("bike2", &[]), cand("jazz", &[])];
    let v = vecs(&[BIKE, BIKE, JAZZ]);
    let plain = rank(&p, &items, &v, &opts(), NOW).unwrap();
    assert_eq!(ids(&plain), ["bike1", "bike2", "jazz"]);
    let diverse = rank(&p, &items, &v, &RankOptions { diversity: 0.5, ..opts() }, NOW).unwrap();
    assert_eq!(ids(&diverse), ["bike1", "jazz", "bike2"]);
    // Scores are relevance, not moved by diversity.
    assert_eq!(diverse[2].score, plain[1].score);
}

#[test]
fn mmr_with_zero_diversity_is_the_identity() {
    let order = vec![2, 0, 1];
    let v = ItemMatrix::from_f32(&vecs(&[BIKE, BIKE, BIKE])).unwrap();
    assert_eq!(mmr::rerank(&order, &[0.5, 0.4, 0.9], &v, 0.0, 10), order);
}

#[test]
fn exploration_places_novel_items_and_says_so() {
    let p = cyclist();
    let mut items = Vec::new();
    let mut v = Vec::new();
    for i in 0..8 {
        items.push(cand(&format!("bike{i}"), &[]));
        v.push(Some(vec![1.0, 0.05 * i as f32, 0.0, 0.0]));
    }
    for i in 0..4 {
        items.push(cand(&format!("new{i}"), &[]));
        v.push(Some(vec![0.0, 0.0, 0.0, 1.0 + i as f32]));
    }
    let o = RankOptions { exploration: 0.25, limit: Some(8), seed: 7, ..opts() };
    let r = rank(&p, &items, &v, &o, NOW).unwrap();
    assert_eq!(r.len(), 8);
    let explored: Vec<&Ranked> = r.iter().filter(|x| x.explored).collect();
    assert_eq!(explored.len(), 2);
    assert!(explored.iter().all(|x| x.id.starts_with("new") && x.reasons[0].kind == ReasonKind::New));
    assert!(r[..super::explore::PROTECTED_SLOTS].iter().all(|x| !x.explored), "the top slots stay relevance");
}

#[test]
fn exploration_is_off_by_default() {
    let p = cyclist();
    let items: Vec<Candidate> = (0..10).map(|i| cand(&format!("i{i}"), &[])).collect();
    let v: Vec<Option<Vec<f32>>> = (0..10).map(|i| Some(if i < 5 { BIKE.to_vec() } else { OTHER.to_vec() })).collect();
    let r = rank(&p, &items, &v, &RankOptions { limit: Some(5), ..RankOptions::default() }, NOW).unwrap();
    assert!(r.iter().all(|x| !x.explored));
    let on = rank(&p, &items, &v, &RankOptions { limit: Some(5), exploration: 0.4, ..RankOptions::default() }, NOW).unwrap();
    assert_eq!(on.iter().filter(|x| x.explored).count(), 2, "the same page with exploration on");
}

// ---- properties ----

/// A random profile and item list from `rng` (some ids touched, hidden or dismissed).
fn random_case(rng: &mut SplitMix64) -> (Profile, Vec<Candidate>, Vec<Option<Vec<f32>>>) {
    let rv = |rng: &mut SplitMix64| -> Vec<f32> { (0..4).map(|_| rng.next_f64() as f32 - 0.5).collect() };
    let kinds = [EventKind::Like, EventKind::View, EventKind::Dislike, EventKind::Hide, EventKind::Dismiss];
    let tags = ["a", "b", "c"];
    let mut p = Profile::new(ProfileConfig::default()).unwrap();
    for e in 0..(rng.next_u64() % 8) {
        let k = kinds[(rng.next_u64() % 5) as usize];
        let id = format!("i{}", rng.next_u64() % 30);
        let t = tags[(rng.next_u64() % 3) as usize];
        let ev = Event::new(k, Item::new(id).with_text("t").with_tags([t])).at(NOW - e as i64 * 1000);
        p.apply(&ev, Some(&rv(rng)), NOW).unwrap();
    }
    let n = (rng.next_u64() % 30) as usize;
    let mut items = Vec::new();
    let mut v = Vec::new();
    for i in 0..n {
        let mut c = Candidate::new(format!("i{i}")).with_tags([tags[(rng.next_u64() % 3) as usize]]);
        if rng.next_u64() % 2 == 0 {
            c.prior = Some((rng.next_u64() % 4) as f32 / 4.0);
        }
        // Some items share a vector exactly (ties), some have none.
        let vec = match rng.next_u64() % 4 {
            0 => None,
            1 => Some(vec![0.5, 0.5, 0.5, 0.5]),
            _ => Some(rv(rng)),
        };
        items.push(c);
        v.push(vec);
    }
    (p, items, v)
}

#[test]
fn property_rank_is_a_permutation_of_the_unfiltered_items() {
    let mut rng = SplitMix64::new(1);
    for case in 0..300 {
        let (p, items, v) = random_case(&mut rng);
        let o = RankOptions {
            diversity: (rng.next_u64() % 3) as f32 / 2.0,
            exploration: (rng.next_u64() % 3) as f32 / 4.0,
            seed: rng.next_u64(),
            exclude_seen: rng.next_u64() % 2 == 0,
            ..RankOptions::default()
        };
        let r = rank(&p, &items, &v, &o, NOW).unwrap();
        let mut got: Vec<usize> = r.iter().map(|x| x.index).collect();
        got.sort_unstable();
        let want: Vec<usize> = (0..items.len()).filter(|&i| filter::filtered(&p, &items[i].id, o.exclude_seen).is_none()).collect();
        assert_eq!(got, want, "case {case}");
        assert!(r.iter().all(|x| x.score.is_finite() && items[x.index].id == x.id), "case {case}");
        // With a limit: the first `limit` of some permutation, no repeats.
        let lim = RankOptions { limit: Some(3), ..o.clone() };
        let r3 = rank(&p, &items, &v, &lim, NOW).unwrap();
        assert_eq!(r3.len(), want.len().min(3), "case {case}");
    }
}

#[test]
fn property_ties_keep_the_input_order() {
    let mut rng = SplitMix64::new(2);
    for case in 0..300 {
        let (p, items, v) = random_case(&mut rng);
        let r = rank(&p, &items, &v, &opts(), NOW).unwrap();
        for w in r.windows(2) {
            assert!(w[0].score >= w[1].score, "case {case}: sorted by score");
            if w[0].score == w[1].score {
                assert!(w[0].index < w[1].index, "case {case}: tie out of input order");
            }
        }
    }
}

#[test]
fn property_exploration_is_reproducible_with_a_seed() {
    let mut rng = SplitMix64::new(3);
    let mut differed = 0;
    for _ in 0..200 {
        let (p, items, v) = random_case(&mut rng);
        let o = RankOptions { exploration: 0.5, limit: Some(6), seed: rng.next_u64(), ..RankOptions::default() };
        let a = rank(&p, &items, &v, &o, NOW).unwrap();
        assert_eq!(a, rank(&p, &items, &v, &o, NOW).unwrap());
        let b = rank(&p, &items, &v, &RankOptions { seed: o.seed ^ 1, ..o.clone() }, NOW).unwrap();
        differed += usize::from(ids(&a) != ids(&b));
    }
    assert!(differed > 0, "another seed never changed the draw");
}

#[test]
fn explore_draw_is_uniform_enough_and_within_the_shown_slots() {
    let order: Vec<usize> = (0..20).collect();
    let novel: Vec<bool> = (0..20).map(|i| i >= 10).collect();
    let mut hits = [0usize; 20];
    for seed in 0..2000 {
        let (out, picks) = explore(&order, &novel, 10, 0.2, seed);
        assert_eq!(picks.len(), 2);
        assert_eq!(out.len(), 20);
        assert!(picks.iter().all(|&i| i >= 10 && out[1..10].contains(&i)));
        for &i in &picks {
            hits[i] += 1;
        }
    }
    // Each of the 10 novel items is drawn ≈ 400 times.
    assert!(hits[10..].iter().all(|&h| (300..500).contains(&h)), "{hits:?}");
}

// ---- input checks ----

#[test]
fn bad_items_and_options_are_invalid_arguments() {
    let code = |items: &[Candidate]| validate_items(items).unwrap_err().code();
    assert_eq!(code(&[cand("", &[])]), "invalid_argument");
    assert_eq!(code(&[cand("a", &[]), cand("a", &[])]), "invalid_argument");
    assert_eq!(code(&[cand("a", &[]).with_prior(f32::NAN)]), "invalid_argument");
    assert_eq!(code(&[cand("a", &[]).with_prior(1.5)]), "invalid_argument");
    let many: Vec<Candidate> = (0..=MAX_ITEMS).map(|i| cand(&i.to_string(), &[])).collect();
    assert_eq!(code(&many), "input_too_large");
    let p = cyclist();
    for o in [
        RankOptions { diversity: f32::NAN, ..opts() },
        RankOptions { exploration: 2.0, ..opts() },
        RankOptions { limit: Some(0), ..opts() },
        RankOptions { prior_weight: f32::INFINITY, ..opts() },
    ] {
        assert_eq!(rank(&p, &[], &[], &o, NOW).unwrap_err().code(), "invalid_argument");
    }
    assert_eq!(rank(&p, &[cand("a", &[])], &[], &opts(), NOW).unwrap_err().code(), "invalid_argument");
    // Options arrive from JS as camelCase JSON.
    let o: RankOptions = serde_json::from_str(r#"{"limit":3,"priorWeight":0.5,"excludeSeen":true}"#).unwrap();
    assert_eq!((o.limit, o.prior_weight, o.exclude_seen), (Some(3), 0.5, true));
}

// ---- similar, topics ----

#[test]
fn similar_orders_by_cosine_and_leaves_out_the_query_item() {
    let items = [cand("q", &[]), cand("far", &[]), cand("near", &[]), Candidate::new("notext")];
    let v = vec![Some(BIKE.to_vec()), Some(JAZZ.to_vec()), Some(vec![0.9, 0.1, 0.0, 0.0]), None];
    let r = similar(&BIKE, &items, &v, Some("q"), &SimilarOptions { limit: None });
    let got: Vec<&str> = r.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(got, ["near", "far"]);
    assert!(r[0].similarity > 0.99 && r[1].similarity.abs() < 1e-6);
}

#[test]
fn the_shipped_taxonomy_parses_with_a_few_hundred_distinct_labels() {
    let t = Taxonomy::builtin();
    assert!((300..=500).contains(&t.labels.len()), "{}", t.labels.len());
    assert!(t.labels.iter().any(|l| l.label == "Cycling" && l.parent == "Sports"));
    assert!(Taxonomy::parse("A\tx\nB\tX\n").is_err(), "labels are distinct");
    assert!(Taxonomy::parse("no tab\n").is_err());
}

#[test]
fn topics_name_interests_by_their_nearest_label_weighted() {
    let p = cyclist();
    let t = Taxonomy::parse("Sports\tCycling\nMusic\tJazz\nNews\tGossip\n").unwrap();
    let labels = vec![BIKE.to_vec(), JAZZ.to_vec(), GOSSIP.to_vec()];
    let got = topics(&p, &t, &labels, &TopicOptions::default(), NOW).unwrap();
    assert_eq!(got.len(), 1, "negatives are not topics: {got:?}");
    assert_eq!((got[0].label.as_str(), got[0].parent.as_str()), ("Cycling", "Sports"));
    assert!((got[0].weight - 1.0).abs() < 1e-6 && got[0].similarity > 0.99);
    let empty = Profile::new(ProfileConfig::default()).unwrap();
    assert!(topics(&empty, &t, &labels, &TopicOptions::default(), NOW).unwrap().is_empty());
    assert!(topics(&p, &t, &labels[..2], &TopicOptions::default(), NOW).is_err());
}
