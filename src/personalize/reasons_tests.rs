//! One test per reason rule (see `reasons.rs`), on hand-made 4-d profiles.

use super::reasons::{quote, MAX_REASONS};
use super::*;
use crate::embedding::ItemMatrix;
use crate::profile::{Event, EventKind, Item, Profile, ProfileConfig};
use std::collections::BTreeMap;

const NOW: i64 = 1_700_000_000_000;
const BIKE: [f32; 4] = [1.0, 0.0, 0.0, 0.0];
/// Cosine 0.8 to BIKE: similar, not a duplicate.
const GRAVEL: [f32; 4] = [0.8, 0.6, 0.0, 0.0];
const OTHER: [f32; 4] = [0.0, 0.0, 0.0, 1.0];

fn profile(events: &[(Event, Option<[f32; 4]>)]) -> Profile {
    let mut p = Profile::new(ProfileConfig::default()).unwrap();
    for (e, v) in events {
        p.apply(e, v.as_ref().map(|v| v.as_slice()), NOW).unwrap();
    }
    p
}

fn event(kind: EventKind, id: &str, text: &str) -> Event {
    let e = Event::new(kind, Item::new(id).with_text(text)).at(NOW);
    match kind {
        EventKind::Dwell => e.dwell(120.0),
        EventKind::Search => e.query(text),
        _ => e,
    }
}

fn cand(id: &str) -> Candidate {
    Candidate::new(id).with_text(format!("text of {id}"))
}

fn opts() -> RankOptions {
    RankOptions { diversity: 0.0, ..RankOptions::default() }
}

fn rank_one(p: &Profile, c: Candidate, v: Option<[f32; 4]>, o: &RankOptions) -> Ranked {
    let m = ItemMatrix::from_f32(&[v.map(|v| v.to_vec())]).unwrap();
    super::rank(p, &[c], &m, o, NOW).unwrap().remove(0)
}

fn kinds(r: &Ranked) -> Vec<ReasonKind> {
    r.reasons.iter().map(|x| x.kind).collect()
}

#[test]
fn an_item_the_user_acted_on_is_seen_never_similar_to_itself() {
    let p = profile(&[(event(EventKind::Click, "city", "City adds 40 km of bike lanes"), Some(BIKE))]);
    let r = rank_one(&p, cand("city"), Some(BIKE), &opts());
    assert_eq!(kinds(&r), [ReasonKind::Seen], "{:?}", r.reasons);
    assert_eq!((r.reasons[0].text.as_str(), r.reasons[0].event), ("you clicked this", Some(EventKind::Click)));
}

#[test]
fn a_near_duplicate_is_not_cited_the_next_item_is() {
    let p = profile(&[
        (event(EventKind::Like, "city", "City adds 40 km of bike lanes"), Some(BIKE)),
        (event(EventKind::Purchase, "gravel", "Gravel bike, 2x11 gears"), Some(GRAVEL)),
    ]);
    // The same story under another id (same vector): cites the gravel bike, not "city".
    let r = rank_one(&p, cand("city-repost"), Some(BIKE), &opts());
    let similar = r.reasons.iter().find(|x| x.kind == ReasonKind::SimilarTo).expect("cites the next item");
    assert_eq!(similar.item_id.as_deref(), Some("gravel"));
    assert_eq!(similar.text, "similar to “Gravel bike, 2x11 gears”, which you bought");
    // With only the duplicate liked, nothing is cited (the interest is named instead).
    let p = profile(&[(event(EventKind::Like, "city", "City adds 40 km of bike lanes"), Some(BIKE))]);
    let r = rank_one(&p, cand("city-repost"), Some(BIKE), &opts());
    assert_eq!(kinds(&r), [ReasonKind::Interest], "{:?}", r.reasons);
}

#[test]
fn the_verb_is_the_strongest_event_the_cited_item_got() {
    let cases = [
        (EventKind::View, "similar to “Tour stage 5”, which you read"),
        (EventKind::Dwell, "similar to “Tour stage 5”, which you read"),
        (EventKind::Click, "similar to “Tour stage 5”, which you clicked"),
        (EventKind::Like, "similar to “Tour stage 5”, which you liked"),
        (EventKind::Share, "similar to “Tour stage 5”, which you shared"),
        (EventKind::Purchase, "similar to “Tour stage 5”, which you bought"),
        (EventKind::Search, "matches your search for “Tour stage 5”"),
    ];
    for (kind, want) in cases {
        let p = profile(&[(event(kind, "tour", "Tour stage 5. A long day in the Alps"), Some(BIKE))]);
        let r = rank_one(&p, cand("gravel"), Some(GRAVEL), &opts());
        let similar = r.reasons.iter().find(|x| x.kind == ReasonKind::SimilarTo).unwrap_or_else(|| panic!("{kind:?}: {:?}", r.reasons));
        assert_eq!((similar.text.as_str(), similar.event), (want, Some(kind)));
    }
    // A later, weaker event does not weaken the verb.
    let p = profile(&[(event(EventKind::Like, "tour", "Tour stage 5"), Some(BIKE)), (event(EventKind::View, "tour", "Tour stage 5"), Some(BIKE))]);
    let r = rank_one(&p, cand("gravel"), Some(GRAVEL), &opts());
    assert_eq!(r.reasons[0].event, Some(EventKind::Like), "{:?}", r.reasons);
}

#[test]
fn page_order_only_where_the_profile_adds_nothing() {
    let empty = Profile::new(ProfileConfig::default()).unwrap();
    assert_eq!(kinds(&rank_one(&empty, cand("a"), Some(BIKE), &opts())), [ReasonKind::PageOrder]);
    let p = profile(&[(event(EventKind::Like, "city", "City adds 40 km of bike lanes"), Some(BIKE))]);
    // No vector, no tag: nothing personal, the page's order it is.
    assert_eq!(kinds(&rank_one(&p, Candidate::new("bare"), None, &opts())), [ReasonKind::PageOrder]);
    // A weak match moved by the profile: no reason rather than an untrue one.
    let r = rank_one(&p, cand("far"), Some([0.1, 0.0, 0.0, 1.0]), &opts());
    assert!(r.score != 0.0 && r.reasons.is_empty(), "{:?}", r);
}

#[test]
fn at_most_two_reasons_strongest_first() {
    let mut e = event(EventKind::Like, "city", "City adds 40 km of bike lanes");
    e.item.tags = vec!["cycling".into()];
    let p = profile(&[(e.clone(), Some(BIKE)), (Event { item: Item { id: "gravel".into(), ..e.item.clone() }, ..e }, Some(GRAVEL))]);
    let c = cand("city").with_tags(["cycling"]).with_prior(0.9);
    let r = rank_one(&p, c, Some(BIKE), &opts());
    // Seen (2), the tag (tanh of two likes: 0.96), similar to gravel (0.8), popular (0.45): the
    // first two.
    assert_eq!(r.reasons.len(), MAX_REASONS);
    assert_eq!(kinds(&r), [ReasonKind::Seen, ReasonKind::Tag], "{:?}", r.reasons);
}

#[test]
fn a_site_replaces_the_texts_through_one_table() {
    let p = profile(&[(event(EventKind::Purchase, "tour", "Tour stage 5"), Some(BIKE))]);
    let texts: BTreeMap<String, String> = [("similarTo.purchase".to_string(), "wie „{title}“, das du gekauft hast".to_string())].into();
    let o = RankOptions { reason_texts: ReasonTexts::new(texts), ..opts() };
    let r = rank_one(&p, cand("gravel"), Some(GRAVEL), &o);
    assert_eq!(r.reasons[0].text, "wie „Tour stage 5“, das du gekauft hast");
    let bad = RankOptions { reason_texts: ReasonTexts::new([("similar".to_string(), "x".to_string())].into()), ..opts() };
    let m = ItemMatrix::from_f32(&[None]).unwrap();
    assert_eq!(super::rank(&p, &[cand("x")], &m, &bad, NOW).unwrap_err().code(), "invalid_argument");
}

#[test]
fn exploration_and_other_reasons_keep_their_rules() {
    let p = profile(&[(event(EventKind::Like, "city", "City adds 40 km of bike lanes"), Some(BIKE))]);
    let r = rank_one(&p, cand("x").with_prior(0.9), Some(OTHER), &opts());
    assert_eq!(kinds(&r), [ReasonKind::Popular]);
}

#[test]
fn a_quote_is_the_first_sentence_cut_at_a_word() {
    assert_eq!(quote("City adds 40 km of bike lanes. The council voted 31 to 4."), "City adds 40 km of bike lanes");
    assert_eq!(quote("  Why ride? Because.  "), "Why ride?");
    assert_eq!(quote("v2.1 released"), "v2.1 released");
    let long = "word ".repeat(30);
    let q = quote(&long);
    assert!(q.ends_with('…') && q.chars().count() <= 60 && !q.contains("wor…"), "{q}");
}
