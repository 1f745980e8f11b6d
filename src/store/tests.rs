//! The memory and file stores through the same checks (the IndexedDB one has its own, in the
//! browser: tests/web_profile.rs).

use super::record::PROFILE;
use crate::embedding::table::entry_bytes;
use super::*;
use crate::profile::{format, Event, EventKind, Forget, Item};
use pollster::block_on;
use std::sync::atomic::{AtomicU32, Ordering};

const T0: i64 = 1_700_000_000_000;

fn temp_root() -> std::path::PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let p = std::env::temp_dir().join(format!("attune-store-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_dir_all(&p);
    p
}

/// Raw record access, so the same checks run on both stores.
trait Raw: Store {
    fn raw_get(&self, name: &str) -> Option<String>;
    fn raw_put(&self, name: &str, text: &str);
}
impl Raw for MemoryStore {
    fn raw_get(&self, name: &str) -> Option<String> {
        self.raw(name)
    }
    fn raw_put(&self, name: &str, text: &str) {
        self.put_raw(name, text)
    }
}
impl Raw for FileStore {
    fn raw_get(&self, name: &str) -> Option<String> {
        self.read(name).unwrap()
    }
    fn raw_put(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).unwrap()
    }
}

fn track(s: &impl Store, id: &str, v: &[f32]) -> crate::Result<()> {
    let e = Event::new(EventKind::Like, Item::new(id).with_tags(["t"])).at(T0);
    block_on(s.update(|p| p.apply(&e, Some(v), T0)))
}

fn unit(i: usize) -> Vec<f32> {
    let mut v = vec![0.0; 8];
    v[i % 8] = 1.0;
    v
}

fn check_all(s: &impl Raw) {
    // Empty → fresh profile; updates persist.
    assert_eq!(block_on(s.load()).unwrap().stats.events, 0);
    for i in 0..5 {
        track(s, &format!("i{i}"), &unit(i)).unwrap();
    }
    let p = block_on(s.load()).unwrap();
    assert_eq!(p.stats.events, 5);

    // A failing update writes nothing.
    let before = s.raw_get(PROFILE).unwrap();
    assert!(track(s, "bad", &[1.0, 2.0]).is_err());
    let err = block_on(s.update(|p| {
        p.stats.events = 999;
        Err::<(), _>(crate::AttuneError::InvalidArgument("no".into()))
    }));
    assert!(err.is_err());
    assert_eq!(s.raw_get(PROFILE).unwrap(), before);

    // Forget through an update.
    let r = block_on(s.update(|p| Ok(p.forget(&Forget::Item { id: "i0".into() })))).unwrap();
    assert!(r.exact && r.removed == 1);

    // Export → malformed import refused, nothing changed → good import replaces.
    let doc = block_on(s.export(T0)).unwrap();
    let before = s.raw_get(PROFILE).unwrap();
    for bad in ["", "{}", "{\"format\":\"attune-profile\",\"version\":2,\"profile\":{\"dim\":-1}}"] {
        assert_eq!(block_on(s.import(bad)).unwrap_err().code(), "invalid_import");
    }
    assert_eq!(s.raw_get(PROFILE).unwrap(), before);
    block_on(s.clear()).unwrap();
    assert!(s.raw_get(PROFILE).is_none());
    block_on(s.import(&doc)).unwrap();
    assert_eq!(block_on(s.load()).unwrap().stats.events, 5);

    // A newer-version record: refused by every operation, left byte for byte.
    let newer = before.replacen("\"version\":2", "\"version\":99", 1);
    s.raw_put(PROFILE, &newer);
    assert_eq!(block_on(s.load()).unwrap_err().code(), "version_too_new");
    assert_eq!(track(s, "x", &unit(1)).unwrap_err().code(), "version_too_new");
    assert_eq!(block_on(s.import(&doc)).unwrap_err().code(), "version_too_new");
    assert_eq!(s.raw_get(PROFILE).unwrap(), newer);

    // A corrupt record: refused, untouched.
    s.raw_put(PROFILE, "{\"format\":\"attune-profile\",\"ver");
    assert_eq!(block_on(s.load()).unwrap_err().code(), "corrupt_record");
    assert_eq!(track(s, "x", &unit(1)).unwrap_err().code(), "corrupt_record");
    assert_eq!(s.raw_get(PROFILE).unwrap(), "{\"format\":\"attune-profile\",\"ver");

    // An older-version record is migrated on the next update and written back as current.
    let mut v1: serde_json::Value = serde_json::from_str(&before).unwrap();
    let prof = v1["profile"].as_object_mut().unwrap();
    let recent = prof.remove("recent").unwrap();
    prof.insert("seen".into(), recent);
    prof.remove("memories");
    prof.remove("hidden");
    v1["version"] = 1.into();
    s.raw_put(PROFILE, &v1.to_string());
    track(s, "after-upgrade", &unit(2)).unwrap();
    let stored: serde_json::Value = serde_json::from_str(&s.raw_get(PROFILE).unwrap()).unwrap();
    assert_eq!(stored["version"], format::VERSION);
    assert!(stored["profile"]["recent"]["items"].as_array().unwrap().len() == 5);

    check_cache(s);
    block_on(s.clear()).unwrap();
    assert_eq!(block_on(s.embedding_count()).unwrap(), 0);
    check_unreadable_set_aside(s);
}

/// A profile record that cannot be read: every call says so, `unreadable` gives it for export,
/// `clear` sets it aside (a fresh profile works after it), a second unreadable record replaces
/// the copy, and only `discard_unreadable` deletes it.
fn check_unreadable_set_aside(s: &impl Raw) {
    use super::record::UNREADABLE;
    block_on(s.clear()).unwrap();
    assert_eq!(block_on(s.unreadable()).unwrap(), None);
    track(s, "kept", &unit(1)).unwrap();
    // A readable profile is cleared as before: nothing set aside.
    block_on(s.clear()).unwrap();
    assert_eq!(block_on(s.unreadable()).unwrap(), None);
    assert!(s.raw_get(UNREADABLE).is_none());

    let garbage = "\u{0}garbage{\"not\": a profile";
    s.raw_put(PROFILE, garbage);
    assert_eq!(block_on(s.load()).unwrap_err().code(), "corrupt_record");
    assert_eq!(block_on(s.unreadable()).unwrap().as_deref(), Some(garbage));
    block_on(s.clear()).unwrap();
    assert_eq!(block_on(s.load()).unwrap().stats.events, 0, "a fresh profile after clear");
    track(s, "fresh", &unit(2)).unwrap();
    assert_eq!(block_on(s.unreadable()).unwrap().as_deref(), Some(garbage), "the copy outlives clear");
    block_on(s.clear()).unwrap();
    assert_eq!(s.raw_get(UNREADABLE).as_deref(), Some(garbage), "and a second clear of a good profile");

    // A record from a newer SDK is unreadable too; the newest one replaces the older copy.
    track(s, "x", &unit(3)).unwrap();
    let newer = s.raw_get(PROFILE).unwrap().replacen("\"version\":2", "\"version\":99", 1);
    s.raw_put(PROFILE, &newer);
    assert_eq!(block_on(s.unreadable()).unwrap().as_deref(), Some(newer.as_str()));
    block_on(s.clear()).unwrap();
    assert_eq!(block_on(s.unreadable()).unwrap().as_deref(), Some(newer.as_str()));

    assert!(block_on(s.discard_unreadable()).unwrap());
    assert!(!block_on(s.discard_unreadable()).unwrap());
    assert_eq!(block_on(s.unreadable()).unwrap(), None);
    assert_eq!(block_on(s.load()).unwrap().stats.events, 0);
}

fn vector(i: usize) -> CompactVector {
    let mut v = vec![0.1f32; 384];
    v[i % 384] = 1.0 + i as f32 / 1000.0;
    CompactVector::encode(&v).unwrap()
}

/// The embedding cache: hits after a put, keyed by model too, one read for many keys,
/// least recently used out past the byte budget.
fn check_cache(s: &impl Store) {
    let k = CacheKey::new("minilm", "hello");
    assert_ne!(k, CacheKey::new("other-model", "hello"));
    assert_eq!(block_on(s.embeddings(&[k])).unwrap(), vec![None]);
    block_on(s.put_embeddings(&[(k, vector(1))])).unwrap();
    assert_eq!(block_on(s.embeddings(&[k, CacheKey::new("other-model", "hello")])).unwrap(), vec![Some(vector(1)), None]);
    let max = s.embedding_budget() / entry_bytes(&vector(0));
    let batch: Vec<(CacheKey, CompactVector)> = (0..max + 100).map(|i| (CacheKey::new("minilm", &i.to_string()), vector(i))).collect();
    for (n, chunk) in batch.chunks(2000).enumerate() {
        block_on(s.put_embeddings(chunk)).unwrap();
        // Keep `k` recently used: it must survive the churn.
        assert!(block_on(s.embeddings(&[k])).unwrap()[0].is_some(), "after batch {n}");
    }
    let count = block_on(s.embedding_count()).unwrap();
    assert!(count <= max && count > max / 2, "{count} entries for a budget of {max}");
    let firsts: Vec<CacheKey> = (0..10).map(|i| CacheKey::new("minilm", &i.to_string())).collect();
    assert!(block_on(s.embeddings(&firsts)).unwrap().iter().all(Option::is_none), "the oldest are evicted");
    let last = CacheKey::new("minilm", &(max + 99).to_string());
    assert_eq!(block_on(s.embeddings(&[last])).unwrap(), vec![Some(vector(max + 99))]);
}

#[test]
fn memory_store() {
    check_all(&MemoryStore::new("site-a").unwrap());
    assert!(MemoryStore::new("../x").is_err());
    assert!(MemoryStore::new("").is_err());
}

#[test]
fn file_store() {
    let root = temp_root();
    check_all(&FileStore::open(&root, "site-a").unwrap());
    // Namespaces are separate directories; reopening sees what was written.
    let a = FileStore::open(&root, "a").unwrap();
    track(&a, "x", &unit(3)).unwrap();
    assert_eq!(block_on(FileStore::open(&root, "b").unwrap().load()).unwrap().stats.events, 0);
    assert_eq!(block_on(FileStore::open(&root, "a").unwrap().load()).unwrap().stats.events, 1);
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(root.join("a")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("profile.json")]);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn file_store_cache_survives_a_reopen_and_a_corrupt_file_is_reported() {
    let root = temp_root();
    let k = CacheKey::new("m", "text");
    block_on(FileStore::open(&root, "a").unwrap().put_embeddings(&[(k, vector(3))])).unwrap();
    assert_eq!(block_on(FileStore::open(&root, "a").unwrap().embeddings(&[k])).unwrap(), vec![Some(vector(3))]);
    let path = root.join("a").join("embeddings.bin");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
    assert_eq!(block_on(FileStore::open(&root, "a").unwrap().embeddings(&[k])).unwrap_err().code(), "corrupt_record");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn file_store_sets_aside_a_profile_that_is_not_utf8() {
    let root = temp_root();
    let s = FileStore::open(&root, "a").unwrap();
    std::fs::write(s.path(PROFILE), [0xff, 0xfe, b'{']).unwrap();
    assert_eq!(block_on(s.load()).unwrap_err().code(), "corrupt_record");
    block_on(s.clear()).unwrap();
    assert_eq!(block_on(s.load()).unwrap().stats.events, 0);
    assert_eq!(std::fs::read(s.path(super::record::UNREADABLE)).unwrap(), vec![0xff, 0xfe, b'{']);
    assert_eq!(block_on(s.unreadable()).unwrap().as_deref(), Some("\u{fffd}\u{fffd}{"));
    std::fs::remove_dir_all(&root).unwrap();
}
