//! A store in memory: for tests, and for pages that must not persist anything.

use super::record::{self, EMBEDDINGS, PROFILE};
use super::{CacheKey, Store};
use crate::error::Result;
use crate::profile::Profile;
use std::cell::RefCell;
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct MemoryStore {
    namespace: String,
    records: RefCell<BTreeMap<String, String>>,
}

impl MemoryStore {
    pub fn new(namespace: &str) -> Result<Self> {
        record::check_namespace(namespace)?;
        Ok(MemoryStore { namespace: namespace.to_string(), records: RefCell::default() })
    }

    /// The raw stored text of a record (`"profile"`, `"embeddings"`).
    pub fn raw(&self, name: &str) -> Option<String> {
        self.records.borrow().get(name).cloned()
    }

    /// Puts raw text as a record, bypassing all checks (tests of old, new and corrupt records).
    pub fn put_raw(&self, name: &str, text: &str) {
        self.records.borrow_mut().insert(name.to_string(), text.to_string());
    }
}

impl Store for MemoryStore {
    fn namespace(&self) -> &str {
        &self.namespace
    }

    async fn load(&self) -> Result<Profile> {
        record::decode_profile(self.records.borrow().get(PROFILE).map(String::as_str))
    }

    async fn update<R>(&self, f: impl FnOnce(&mut Profile) -> Result<R>) -> Result<R> {
        let current = self.raw(PROFILE);
        let (out, r) = record::update_profile(current.as_deref(), f)?;
        self.put_raw(PROFILE, &out);
        Ok(r)
    }

    async fn clear(&self) -> Result<()> {
        self.records.borrow_mut().clear();
        Ok(())
    }

    async fn cached_embedding(&self, key: &CacheKey) -> Result<Option<Vec<f32>>> {
        let mut cache = record::decode_cache(self.raw(EMBEDDINGS).as_deref())?;
        let hit = cache.get(key);
        if hit.is_some() {
            self.put_raw(EMBEDDINGS, &cache.to_record());
        }
        Ok(hit)
    }

    async fn cache_embedding(&self, key: &CacheKey, vector: &[f32]) -> Result<()> {
        let mut cache = record::decode_cache(self.raw(EMBEDDINGS).as_deref())?;
        cache.put(key.clone(), vector.to_vec());
        self.put_raw(EMBEDDINGS, &cache.to_record());
        Ok(())
    }
}
