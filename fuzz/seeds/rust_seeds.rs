//! Writes the seeds made by the real code: `profile_import` (an export) and `store_record` (a
//! stored record, and a version-1 record) from a profile with every event kind, a hidden item,
//! evictions past small caps and memories; `facade_args` (each method's argument as the SDK's
//! docs show it, and a vector file from `Catalog::write`). Run from fuzz/:
//! `cargo run --release --bin rust_seeds` (only needed to refresh the seeds).

use attune::embedding::Catalog;
use attune::profile::{format, Event, EventKind, Item, Profile, ProfileConfig};
use std::fs;

const NOW_MS: i64 = 1_700_000_000_000;
const DIM: usize = 12;

fn vector(seed: usize) -> Vec<f32> {
    (0..DIM).map(|i| (((i * 7 + seed * 13) % 17) as f32 - 8.0) / 8.0).collect()
}

fn main() -> attune::Result<()> {
    let config = ProfileConfig { max_interests: 3, max_negatives: 2, max_tags: 6, max_recent: 5, max_memories: 2, ..Default::default() };
    let mut p = Profile::new(config)?;
    let kinds = [
        EventKind::View, EventKind::Click, EventKind::Dwell, EventKind::Like, EventKind::Share, EventKind::Purchase,
        EventKind::Dislike, EventKind::Dismiss, EventKind::Hide, EventKind::Search,
    ];
    for (i, &kind) in kinds.iter().cycle().take(14).enumerate() {
        let event = Event {
            kind,
            item: Item {
                id: format!("item-{}", i % 9),
                text: Some(format!("Item {i} about cycling and jazz")),
                tags: vec![["cycling", "jazz", "news", "food"][i % 4].into(), format!("t{}", i % 7)],
                url: None,
            },
            weight: (i % 5 == 0).then_some(2.0),
            dwell_seconds: (kind == EventKind::Dwell).then_some(42.0),
            query: (kind == EventKind::Search).then(|| "road bikes".into()),
            at_ms: Some(NOW_MS - (14 - i as i64) * 3_600_000),
        };
        p.apply(&event, (i % 3 != 2).then(|| vector(i)).as_deref(), NOW_MS)?;
    }
    p.remember("Prefers short answers", Some(&vector(99)), NOW_MS)?;
    p.remember("Lives in Lyon", None, NOW_MS)?;
    let write = |dir: &str, name: &str, text: &str| fs::write(format!("corpus/{dir}/seed-{name}"), text).map_err(attune::AttuneError::from);
    write("profile_import", "export.json", &format::export(&p, NOW_MS))?;
    write("profile_import", "empty.json", &format::export(&Profile::default(), NOW_MS))?;
    let record = format::to_record(&p);
    write("store_record", "record.json", &record)?;
    // The same record as version 1 wrote it (`recent` was `seen`; no `hidden`, no `memories`).
    let mut v1: serde_json::Value = serde_json::from_str(&record).expect("own record");
    v1["version"] = 1.into();
    let profile = v1["profile"].as_object_mut().expect("an object");
    let recent = profile.remove("recent").expect("recent");
    profile.insert("seen".into(), recent);
    profile.remove("hidden");
    profile.remove("memories");
    write("store_record", "record-v1.json", &v1.to_string())?;

    // facade_args: the method byte (fuzz_targets/facade_args.rs), then the argument.
    let args: [(u8, &str, &str); 15] = [
        (0, "track", r#"{"type":"dwell","item":{"id":"a1","text":"Road bikes","tags":["cycling"],"url":"/a1","price":3},"seconds":42,"at":1700000000000}"#),
        (1, "forget", r#"{"from":1600000000000,"to":1700000000000}"#),
        (2, "embed", r#"["first text","second é text"]"#),
        (3, "remember", r#""Prefers short answers""#),
        (4, "similar-query", r#"{"id":"a1","text":"Road bikes","tags":["cycling"]}"#),
        (5, "rank-items", r#"[{"id":"a","text":"Jazz","tags":["music"],"prior":0.5},{"id":"b"}]"#),
        (6, "rank-options", r#"{"limit":10,"diversity":0.3,"exploration":0.1,"seed":7,"excludeSeen":true,"priorWeight":0.2}"#),
        (7, "similar-options", r#"{"limit":5}"#),
        (8, "topics-options", r#"{"limit":3}"#),
        (9, "context-options", r#"{"maxTokens":128,"maxMemories":2,"topics":true}"#),
        (10, "context-query", r#""what should I read next?""#),
        (11, "load-options", r#"{"context":2048,"device":"cpu"}"#),
        (12, "reply-options", r#"{"maxTokens":64,"temperature":0.7,"topK":40,"topP":0.9,"repetitionPenalty":1.1,"seed":1,"stop":["

"],"context":"[[attune-context]]"}"#),
        (13, "messages", r#"[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]"#),
        (15, "open", "shop.v1_main\ngpu"),
    ];
    for (method, name, arg) in args {
        let mut bytes = vec![method];
        bytes.extend_from_slice(arg.as_bytes());
        fs::write(format!("corpus/facade_args/seed-{name}"), bytes)?;
    }
    let (a, b) = (vector(1), vector(2));
    let file = Catalog::write("fuzz-model", DIM, [("item-1", a.as_slice()), ("item-2", b.as_slice())])?;
    fs::write("corpus/facade_args/seed-add-vectors", [&[14u8][..], &file].concat())?;
    Ok(())
}
