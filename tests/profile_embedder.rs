//! The profile on real embeddings (all-MiniLM-L6-v2, Q8_0): distinct topics stay apart, and
//! scores follow what the user liked and disliked.

mod common;

use attune::profile::{Event, EventKind, Item, Profile, ProfileConfig};
use pollster::block_on;

const T0: i64 = 1_700_000_000_000;

#[test]
fn cycling_and_jazz_stay_apart_on_real_embeddings() {
    let mut enc = common::encoder("q8_0");
    let cycling = [
        "Ten tips for your first century bike ride",
        "How to fix a flat tire on a road bike",
        "The best gravel bikes of the year, tested",
        "Tour de France stage 12: a breakaway wins in the Alps",
    ];
    let jazz = [
        "Miles Davis and the making of Kind of Blue",
        "A beginner's guide to jazz piano voicings",
        "The saxophone solos every jazz fan should know",
        "Live review: a late-night jazz trio at the Village Vanguard",
    ];
    let texts: Vec<&str> = cycling.iter().chain(&jazz).copied().collect();
    let vecs = block_on(enc.embed(&texts)).unwrap();
    // Single MiniLM sentences of one topic have cosines of only 0.25-0.55 with each other
    // (and up to 0.26 across topics), so each first starts its own centroid; the cap then
    // merges the closest pair, again and again: what is left must be one centroid per topic.
    // (An item that never names its topic, such as "a late-night set at the Village Vanguard",
    // is genuinely ambiguous to this model and was seen to land with cycling.)
    let mut p = Profile::new(ProfileConfig { max_interests: 2, ..Default::default() }).unwrap();
    for (i, (t, v)) in texts.iter().zip(&vecs).enumerate() {
        let e = Event::new(EventKind::Like, Item::new(format!("a{i}")).with_text(*t)).at(T0 + i as i64);
        p.apply(&e, Some(v), T0 + 10).unwrap();
    }
    assert_eq!(p.interests.len(), 2, "{:?}", p.interest_weights(T0 + 10));
    let home = |v: &Vec<f32>| p.score(Some(v), &[], None, T0 + 10).interest_id.unwrap();
    assert!(vecs[..4].iter().all(|v| home(v) == home(&vecs[0])), "cycling split");
    let counts: Vec<u64> = p.interests.centroids.iter().map(|c| c.count).collect();
    let homes: Vec<u32> = vecs.iter().map(home).collect();
    assert!(vecs[4..].iter().all(|v| home(v) == home(&vecs[4])), "jazz split: counts {counts:?}, homes {homes:?}");
    assert_ne!(home(&vecs[0]), home(&vecs[4]));
    let probes = ["Choosing the right saddle for long rides", "Coltrane's A Love Supreme at sixty"];
    let pv = block_on(enc.embed(&probes)).unwrap();
    let bike = p.score(Some(&pv[0]), &[], None, T0 + 10);
    let sax = p.score(Some(&pv[1]), &[], None, T0 + 10);
    assert_ne!(bike.interest_id, sax.interest_id, "each probe matches its own interest");
    assert!(bike.similarity > 0.3 && sax.similarity > 0.3, "{bike:?} {sax:?}");
    // The user now dislikes jazz: jazz probes fall below cycling ones.
    for (i, v) in vecs[4..].iter().enumerate() {
        p.apply(&Event::new(EventKind::Dislike, Item::new(format!("d{i}"))).at(T0 + 20), Some(v), T0 + 20).unwrap();
    }
    let sax_after = p.score(Some(&pv[1]), &[], None, T0 + 20);
    assert!(sax_after.total < sax.total - 0.2, "{sax:?} → {sax_after:?}");
    assert!(p.score(Some(&pv[0]), &[], None, T0 + 20).total > sax_after.total);
}
