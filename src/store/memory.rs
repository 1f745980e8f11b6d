//! A store in memory: for tests, and for pages that must not persist anything.

use super::record::{self, PROFILE, UNREADABLE};
use super::{CacheKey, CompactVector, Store};
use crate::embedding::{EmbeddingTable, DEFAULT_BUDGET_BYTES};
use crate::error::Result;
use crate::profile::Profile;
use std::cell::RefCell;
use std::collections::BTreeMap;

#[derive(Debug)]
pub struct MemoryStore {
    namespace: String,
    records: RefCell<BTreeMap<String, String>>,
    embeddings: RefCell<EmbeddingTable>,
}

impl MemoryStore {
    pub fn new(namespace: &str) -> Result<Self> {
        MemoryStore::with_budget(namespace, DEFAULT_BUDGET_BYTES)
    }

    /// With an embedding cache of `budget` bytes.
    pub fn with_budget(namespace: &str, budget: usize) -> Result<Self> {
        record::check_namespace(namespace)?;
        Ok(MemoryStore {
            namespace: namespace.to_string(),
            records: RefCell::default(),
            embeddings: RefCell::new(EmbeddingTable::new(budget)),
        })
    }

    /// The raw stored text of a record (`"profile"`).
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

    async fn update<R: 'static>(&self, f: impl FnOnce(&mut Profile) -> Result<R>) -> Result<R> {
        let current = self.raw(PROFILE);
        let (out, r) = record::update_profile(current.as_deref(), f)?;
        self.put_raw(PROFILE, &out);
        Ok(r)
    }

    async fn clear(&self) -> Result<()> {
        let kept = record::kept_aside(self.raw(PROFILE).as_deref(), self.raw(UNREADABLE).as_deref());
        let mut records = self.records.borrow_mut();
        records.clear();
        if let Some(k) = kept {
            records.insert(UNREADABLE.to_string(), k);
        }
        self.embeddings.borrow_mut().clear();
        Ok(())
    }

    async fn unreadable(&self) -> Result<Option<String>> {
        Ok(record::unreadable_record(self.raw(PROFILE).as_deref(), self.raw(UNREADABLE).as_deref()))
    }

    async fn discard_unreadable(&self) -> Result<bool> {
        Ok(self.records.borrow_mut().remove(UNREADABLE).is_some())
    }

    async fn embeddings(&self, keys: &[CacheKey]) -> Result<Vec<Option<CompactVector>>> {
        let mut t = self.embeddings.borrow_mut();
        Ok(keys.iter().map(|k| t.get(k).cloned()).collect())
    }

    async fn put_embeddings(&self, entries: &[(CacheKey, CompactVector)]) -> Result<()> {
        let mut t = self.embeddings.borrow_mut();
        for (k, v) in entries {
            t.put(*k, v.clone());
        }
        Ok(())
    }

    async fn embedding_count(&self) -> Result<usize> {
        Ok(self.embeddings.borrow().len())
    }

    fn embedding_budget(&self) -> usize {
        self.embeddings.borrow().stats().budget_bytes
    }
}
