//! Benchmark, not a test: `track` latency through the IndexedDB store (profile update in one
//! readwrite transaction, committed), median and p95 over 10 000 events with 384-wide vectors,
//! and the stored record's size at the end. Prints one JSON line (`ATTUNE_BENCH {...}`).
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test --release --target wasm32-unknown-unknown --test web_profile_bench`

#![cfg(target_arch = "wasm32")]

use attune::profile::{Event, EventKind, Item};
use attune::store::{IndexedDbStore, Store};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn now_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| js_sys::Reflect::get(&p, &"now".into()).ok().map(|f| (p, f)))
        .and_then(|(p, f)| js_sys::Function::from(f).call0(&p).ok())
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
}

#[wasm_bindgen_test]
async fn bench_track_10k() {
    const N: usize = 10_000;
    const DIM: usize = 384;
    IndexedDbStore::delete_database("bench").await.unwrap();
    let s = IndexedDbStore::open("bench").await.unwrap();
    let mut seed = 0x9e3779b97f4a7c15u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % 10_000) as f32 / 10_000.0 - 0.5
    };
    let topics: Vec<Vec<f32>> = (0..20).map(|_| (0..DIM).map(|_| rnd()).collect()).collect();
    let mut times = Vec::with_capacity(N);
    let t0 = 1_700_000_000_000i64;
    for i in 0..N {
        let t = &topics[i % 20];
        let v: Vec<f32> = t.iter().map(|x| x + 0.5 * rnd()).collect();
        let kind = EventKind::ALL[i % 10];
        let item = Item::new(format!("https://example.com/a/{}", (i * 7919) % 5000))
            .with_text("An article title of ordinary length for the snippet")
            .with_tags([format!("tag{}", i % 150), format!("section{}", i % 12)]);
        let e = Event::new(kind, item).dwell(45.0).query("query").at(t0 + i as i64 * 60_000);
        let start = now_ms();
        s.update(|p| p.apply(&e, Some(&v), t0 + i as i64 * 60_000)).await.unwrap();
        times.push(now_ms() - start);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let bytes = s.raw("profile").await.unwrap().unwrap().len();
    let line = format!(
        "ATTUNE_BENCH {{\"events\":{N},\"dim\":{DIM},\"track_ms_median\":{:.3},\"track_ms_p95\":{:.3},\"track_ms_max\":{:.3},\"stored_bytes\":{bytes}}}",
        times[N / 2],
        times[N * 95 / 100],
        times[N - 1]
    );
    console_log!("{line}");
}
