//! The IndexedDB store in headless Chromium (wasm-bindgen-test): persistence across reopen,
//! two connections writing interleaved, upgrade of an older record, refusal of a newer one,
//! a quota error and a malformed import, each leaving the stored profile as it was; an unreadable
//! profile set aside by `clear`, and a database deleted under an open store.
//! Run with `make test-browser`.

#![cfg(target_arch = "wasm32")]

use attune::profile::{format, Event, EventKind, Item};
use attune::store::{IndexedDbStore, Store};
use js_sys::{Array, Promise};
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const T0: i64 = 1_700_000_000_000;

fn unit(i: usize) -> Vec<f32> {
    let mut v = vec![0.1; 16];
    v[i % 16] = 1.0;
    v
}

fn event(i: usize) -> Event {
    Event::new(EventKind::Click, Item::new(format!("item{i}")).with_tags([format!("t{}", i % 3)])).at(T0 + i as i64)
}

async fn fresh(ns: &str) -> IndexedDbStore {
    IndexedDbStore::delete_database(ns).await.unwrap();
    IndexedDbStore::open(ns).await.unwrap()
}

async fn track(s: &IndexedDbStore, i: usize) -> attune::Result<()> {
    s.update(|p| p.apply(&event(i), Some(&unit(i)), T0 + i as i64)).await
}

async fn sleep(ms: i32) {
    let p = Promise::new(&mut |resolve, _| {
        let global: web_sys::Window = wasm_bindgen::JsCast::unchecked_into(js_sys::global());
        let _ = global.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(p).await;
}

#[wasm_bindgen_test]
async fn persists_across_close_and_reopen() {
    let s = fresh("persist").await;
    for i in 0..10 {
        track(&s, i).await.unwrap();
    }
    s.update(|p| p.remember("I am vegetarian", Some(&unit(3)), T0)).await.unwrap();
    let before = s.load().await.unwrap();
    s.close();
    let s = IndexedDbStore::open("persist").await.unwrap();
    let after = s.load().await.unwrap();
    assert_eq!(after, before);
    assert_eq!(after.stats.events, 10);
    assert_eq!(after.memories.items.len(), 1);
    // Namespaces are separate databases.
    let other = fresh("persist-other").await;
    assert_eq!(other.load().await.unwrap().stats.events, 0);
    // clear removes everything of the namespace.
    s.clear().await.unwrap();
    assert_eq!(s.raw("profile").await.unwrap(), None);
}

#[wasm_bindgen_test]
async fn two_connections_interleaved_lose_nothing() {
    let a = Rc::new(fresh("two-tabs").await);
    let b = Rc::new(IndexedDbStore::open("two-tabs").await.unwrap());
    let heard = Rc::new(Cell::new(0u32));
    let h = heard.clone();
    assert!(a.on_change(move |change| {
        if change == "profile" {
            h.set(h.get() + 1)
        }
    }));
    let all = Array::new();
    for i in 0..500 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        all.push(&future_to_promise(async move {
            track(&s, i).await.map(|_| JsValue::UNDEFINED).map_err(|e| JsValue::from_str(&e.to_string()))
        }));
    }
    JsFuture::from(Promise::all(&all)).await.unwrap();
    let p = a.load().await.unwrap();
    assert_eq!(p.stats.events, 500);
    assert_eq!(p.stats.by_kind[&EventKind::Click], 500);
    assert_eq!(b.load().await.unwrap(), p);
    sleep(300).await;
    // `a` hears b's 250 commits (a channel does not hear its own messages).
    assert_eq!(heard.get(), 250);
}

#[wasm_bindgen_test]
async fn an_older_record_is_upgraded() {
    let s = fresh("upgrade").await;
    for i in 0..3 {
        track(&s, i).await.unwrap();
    }
    let current = s.raw("profile").await.unwrap().unwrap();
    let mut v1: serde_json::Value = serde_json::from_str(&current).unwrap();
    let prof = v1["profile"].as_object_mut().unwrap();
    let recent = prof.remove("recent").unwrap();
    prof.insert("seen".into(), recent);
    prof.remove("memories");
    prof.remove("hidden");
    v1["version"] = 1.into();
    s.put_raw("profile", &v1.to_string()).await.unwrap();
    assert_eq!(s.load().await.unwrap().recent.items.len(), 3);
    track(&s, 3).await.unwrap();
    let stored: serde_json::Value = serde_json::from_str(&s.raw("profile").await.unwrap().unwrap()).unwrap();
    assert_eq!(stored["version"], format::VERSION);
    assert_eq!(stored["profile"]["stats"]["events"], 4);
}

#[wasm_bindgen_test]
async fn a_newer_record_is_refused_and_untouched() {
    let s = fresh("newer").await;
    track(&s, 0).await.unwrap();
    let doc = s.export(T0).await.unwrap();
    let newer = s.raw("profile").await.unwrap().unwrap().replacen("\"version\":2", "\"version\":7", 1);
    s.put_raw("profile", &newer).await.unwrap();
    assert_eq!(s.load().await.unwrap_err().code(), "version_too_new");
    assert_eq!(track(&s, 1).await.unwrap_err().code(), "version_too_new");
    assert_eq!(s.import(&doc).await.unwrap_err().code(), "version_too_new");
    s.close();
    let s = IndexedDbStore::open("newer").await.unwrap();
    assert_eq!(s.raw("profile").await.unwrap().unwrap(), newer);
    // A corrupt record likewise.
    s.put_raw("profile", "{\"format\":").await.unwrap();
    assert_eq!(track(&s, 1).await.unwrap_err().code(), "corrupt_record");
    assert_eq!(s.raw("profile").await.unwrap().unwrap(), "{\"format\":");
}

#[wasm_bindgen_test]
async fn quota_exceeded_leaves_the_previous_profile() {
    let s = fresh("quota").await;
    for i in 0..5 {
        track(&s, i).await.unwrap();
    }
    let before = s.raw("profile").await.unwrap();
    s.inject_write_error(Some("QuotaExceededError"));
    assert_eq!(track(&s, 99).await.unwrap_err().code(), "quota_exceeded");
    assert_eq!(s.import(&s.export(T0).await.unwrap()).await.unwrap_err().code(), "quota_exceeded");
    s.inject_write_error(None);
    assert_eq!(s.raw("profile").await.unwrap(), before);
    track(&s, 5).await.unwrap();
    assert_eq!(s.load().await.unwrap().stats.events, 6);
}

#[wasm_bindgen_test]
async fn malformed_import_changes_nothing() {
    let s = fresh("import").await;
    for i in 0..4 {
        track(&s, i).await.unwrap();
    }
    let before = s.raw("profile").await.unwrap();
    let good = s.export(T0).await.unwrap();
    let truncated = &good[..good.len() / 2];
    let wrong_width = good.replacen("\"dim\": 16", "\"dim\": 17", 1);
    for bad in ["", "null", "{\"format\":\"attune-profile\",\"version\":2}", truncated, &wrong_width] {
        assert_eq!(s.import(bad).await.unwrap_err().code(), "invalid_import", "{bad:.60}");
    }
    assert_eq!(s.raw("profile").await.unwrap(), before);
    // And a good import goes through whole.
    s.clear().await.unwrap();
    s.import(&good).await.unwrap();
    assert_eq!(s.load().await.unwrap().stats.events, 4);
}

#[wasm_bindgen_test]
async fn embeddings_are_cached_by_hash_and_model() {
    use attune::store::{CacheKey, CompactVector};
    let s = fresh("cache").await;
    let k = CacheKey::new("minilm-l6-v2.q8_0", "I ride my bike to work");
    let v = CompactVector::encode(&unit(1)).unwrap();
    assert_eq!(s.embeddings(&[k]).await.unwrap(), vec![None]);
    s.put_embeddings(&[(k, v.clone())]).await.unwrap();
    let other = CacheKey::new("other", "I ride my bike to work");
    assert_eq!(s.embeddings(&[k, other]).await.unwrap(), vec![Some(v.clone()), None]);
    // Survives a reopen; clear removes it with the profile.
    s.close();
    let s = IndexedDbStore::open("cache").await.unwrap();
    assert_eq!(s.embedding_count().await.unwrap(), 1);
    s.clear().await.unwrap();
    assert_eq!(s.embeddings(&[k]).await.unwrap(), vec![None]);
}

#[wasm_bindgen_test]
async fn the_embedding_cache_reads_thousands_at_once_and_evicts_by_bytes() {
    use attune::store::{CacheKey, CompactVector};
    IndexedDbStore::delete_database("cache-lru").await.unwrap();
    let vector = |i: usize| {
        let mut v = vec![0.05f32; 384];
        v[i % 384] = 1.0;
        CompactVector::encode(&v).unwrap()
    };
    let per = attune::embedding::table::entry_bytes(&vector(0));
    // Room for 1 000 entries.
    let s = IndexedDbStore::open_with_budget("cache-lru", per * 1000).await.unwrap();
    let key = |i: usize| CacheKey::new("m", &format!("text {i}"));
    for batch in 0..4 {
        let entries: Vec<_> = (batch * 400..(batch + 1) * 400).map(|i| (key(i), vector(i))).collect();
        s.put_embeddings(&entries).await.unwrap();
        sleep(5).await; // distinct last-use stamps per batch
    }
    let n = s.embedding_count().await.unwrap();
    assert!((800..=1000).contains(&n), "{n} entries after 1 600 puts into room for 1 000");
    // The oldest batch went first, the newest is all there, in one read of 1 600 keys.
    let all = s.embeddings(&(0..1600).map(key).collect::<Vec<_>>()).await.unwrap();
    assert!(all[..400].iter().all(Option::is_none), "the first batch is evicted");
    assert!(all[1200..].iter().enumerate().all(|(j, v)| v.as_ref() == Some(&vector(1200 + j))));
    // A failed write keeps nothing of its batch and loses nothing stored.
    s.inject_write_error(Some("QuotaExceededError"));
    let err = s.put_embeddings(&[(key(5000), vector(1))]).await.unwrap_err();
    assert_eq!(err.code(), "quota_exceeded");
    s.inject_write_error(None);
    assert_eq!(s.embeddings(&[key(5000)]).await.unwrap(), vec![None]);
    assert_eq!(s.embedding_count().await.unwrap(), n);
}

/// A database of layout 1 (one `records` store, the cache as one record in it) opens as
/// layout 2: the profile stays, the old cache record is dropped, the new cache works.
#[wasm_bindgen_test]
async fn a_layout_1_database_upgrades_keeping_the_profile() {
    use attune::store::{CacheKey, CompactVector};
    IndexedDbStore::delete_database("legacy").await.unwrap();
    let profile = {
        let s = fresh("legacy-src").await;
        track(&s, 1).await.unwrap();
        let raw = s.raw("profile").await.unwrap().unwrap();
        s.close();
        raw
    };
    let make_v1 = format!(
        r#"new Promise((resolve, reject) => {{
            const r = indexedDB.open('attune:legacy', 1);
            r.onupgradeneeded = () => r.result.createObjectStore('records');
            r.onerror = () => reject(r.error);
            r.onsuccess = () => {{
                const tx = r.result.transaction('records', 'readwrite');
                tx.objectStore('records').put({profile}, 'profile');
                tx.objectStore('records').put('{{"format":"attune-embeddings","version":1}}', 'embeddings');
                tx.oncomplete = () => {{ r.result.close(); resolve(); }};
                tx.onabort = () => reject(tx.error);
            }};
        }})"#,
        profile = serde_json::to_string(&profile).unwrap()
    );
    let p: Promise = js_sys::eval(&make_v1).unwrap().into();
    JsFuture::from(p).await.unwrap();
    let s = IndexedDbStore::open("legacy").await.unwrap();
    assert_eq!(s.raw("profile").await.unwrap(), Some(profile));
    assert_eq!(s.raw("embeddings").await.unwrap(), None);
    let k = CacheKey::new("m", "t");
    s.put_embeddings(&[(k, CompactVector::encode(&unit(2)).unwrap())]).await.unwrap();
    assert!(s.embeddings(&[k]).await.unwrap()[0].is_some());
}

#[wasm_bindgen_test]
async fn an_unreadable_profile_is_set_aside_and_a_deleted_database_reopens() {
    let s = fresh("aside").await;
    track(&s, 0).await.unwrap();
    s.put_raw("profile", "{\"format\":").await.unwrap();
    assert_eq!(s.load().await.unwrap_err().code(), "corrupt_record");
    assert_eq!(s.unreadable().await.unwrap().as_deref(), Some("{\"format\":"));
    // clear sets it aside in its transaction; a fresh profile works after it.
    s.clear().await.unwrap();
    assert_eq!(s.load().await.unwrap().stats.events, 0);
    track(&s, 1).await.unwrap();
    assert_eq!(s.raw("profile.unreadable").await.unwrap().as_deref(), Some("{\"format\":"));
    assert_eq!(s.unreadable().await.unwrap().as_deref(), Some("{\"format\":"));
    assert!(s.discard_unreadable().await.unwrap());
    assert_eq!(s.unreadable().await.unwrap(), None);
    // The database deleted while the store holds it open (as another tab would): the store lets
    // go (the delete completes), and its next calls work on a fresh database.
    IndexedDbStore::delete_database("aside").await.unwrap();
    assert_eq!(s.load().await.unwrap().stats.events, 0);
    track(&s, 2).await.unwrap();
    assert_eq!(s.load().await.unwrap().stats.events, 1);
}
