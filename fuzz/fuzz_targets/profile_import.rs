//! Profile import (the versioned export document): any text gives a profile or an error. An
//! accepted profile exports and re-imports to itself, byte-identical, and survives being used
//! (an event, a memory, scoring, a forget) with every invariant `validate` checks still holding.
#![no_main]

use attune::profile::{format, Event, EventKind, Forget, Item};
use libfuzzer_sys::fuzz_target;

/// A fixed "now" inside the accepted time range (2023-11-14).
const NOW_MS: i64 = 1_700_000_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(mut p) = format::import(text) else { return };
    let doc = format::export(&p, NOW_MS);
    let back = format::import(&doc).expect("an export imports");
    assert_eq!(back, p, "export → import changed the profile");
    assert_eq!(format::export(&back, NOW_MS), doc, "export → import → export is not byte-identical");

    let _ = p.interest_weights(NOW_MS);
    // Use it: a liked item with a vector of the profile's width (bounded), then a forget.
    let dim = p.dim.unwrap_or(8).min(4096);
    let vector: Vec<f32> = (0..dim).map(|i| ((i % 7) as f32 - 3.0) / 4.0).collect();
    let event = Event {
        kind: EventKind::Like,
        item: Item { id: "fuzz-item".into(), text: None, tags: vec!["news".into(), "fuzz".into()], url: None },
        weight: None,
        dwell_seconds: None,
        query: None,
        at_ms: Some(NOW_MS),
    };
    if p.apply(&event, Some(&vector), NOW_MS).is_ok() {
        format::validate(&p).expect("an accepted event leaves a valid profile");
    }
    if p.remember("Prefers short answers", Some(&vector), NOW_MS).is_ok() {
        format::validate(&p).expect("an accepted memory leaves a valid profile");
    }
    p.forget(&Forget::Item { id: "fuzz-item".into() });
    p.forget(&Forget::Tag { tag: "news".into() });
    format::validate(&p).expect("a forget leaves a valid profile");
});
