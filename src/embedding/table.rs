//! A bounded map of cached embeddings, least recently used out once the entries' bytes pass the
//! budget. The session keeps one in memory in front of its store, and the memory and file
//! stores keep theirs in one. Eviction drops the oldest tenth at once (one O(n) selection) so
//! a full table costs no scan per insert.

use super::{CacheKey, CompactVector};
use serde::Serialize;
use std::collections::HashMap;

/// Default budget of a namespace's embedding cache: about 20 000 MiniLM entries (see
/// [`entry_bytes`]).
pub const DEFAULT_BUDGET_BYTES: usize = 8 << 20;
/// Bytes an entry costs beyond its vector: the key and the last-use stamp.
pub const ENTRY_OVERHEAD: usize = 32 + 8;

/// What one entry of `v` costs against the budget.
pub fn entry_bytes(v: &CompactVector) -> usize {
    entry_bytes_for(v.dim())
}

/// What one entry of a `dim`-wide vector costs against the budget.
pub fn entry_bytes_for(dim: usize) -> usize {
    super::compact::stored_bytes(dim) + ENTRY_OVERHEAD
}

/// Entries, their bytes and the budget, as `info().storage` shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheStats {
    pub entries: usize,
    pub bytes: usize,
    pub budget_bytes: usize,
}

#[derive(Debug)]
struct Slot {
    vector: CompactVector,
    used: u64,
}

#[derive(Debug)]
pub struct EmbeddingTable {
    map: HashMap<CacheKey, Slot>,
    bytes: usize,
    budget: usize,
    tick: u64,
}

impl Default for EmbeddingTable {
    fn default() -> Self {
        EmbeddingTable::new(DEFAULT_BUDGET_BYTES)
    }
}

impl EmbeddingTable {
    pub fn new(budget_bytes: usize) -> Self {
        EmbeddingTable { map: HashMap::new(), bytes: 0, budget: budget_bytes, tick: 0 }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats { entries: self.map.len(), bytes: self.bytes, budget_bytes: self.budget }
    }

    /// The vector under `key`, marked as just used.
    pub fn get(&mut self, key: &CacheKey) -> Option<&CompactVector> {
        self.tick += 1;
        let tick = self.tick;
        self.map.get_mut(key).map(|s| {
            s.used = tick;
            &s.vector
        })
    }

    pub fn contains(&self, key: &CacheKey) -> bool {
        self.map.contains_key(key)
    }

    /// Inserts (or replaces) an entry, then evicts if the budget is passed. An entry larger
    /// than the whole budget is not kept.
    pub fn put(&mut self, key: CacheKey, vector: CompactVector) {
        self.tick += 1;
        let cost = entry_bytes(&vector);
        if let Some(old) = self.map.insert(key, Slot { vector, used: self.tick }) {
            self.bytes -= entry_bytes(&old.vector);
        }
        self.bytes += cost;
        if self.bytes > self.budget {
            self.evict();
        }
    }

    pub fn remove(&mut self, key: &CacheKey) {
        if let Some(old) = self.map.remove(key) {
            self.bytes -= entry_bytes(&old.vector);
        }
    }

    pub fn clear(&mut self) {
        self.map.clear();
        self.bytes = 0;
    }

    /// Drops the least recently used entries until the table is within nine tenths of its
    /// budget.
    fn evict(&mut self) {
        let target = self.budget / 10 * 9;
        let mut by_use: Vec<(u64, CacheKey)> = self.map.iter().map(|(k, s)| (s.used, *k)).collect();
        by_use.sort_unstable_by_key(|(used, _)| *used);
        for (_, k) in by_use {
            if self.bytes <= target {
                break;
            }
            self.remove(&k);
        }
    }

    /// Entries, least recently used first (for a store that persists the table whole).
    pub fn entries_by_use(&self) -> Vec<(&CacheKey, &CompactVector)> {
        let mut all: Vec<(&CacheKey, &Slot)> = self.map.iter().collect();
        all.sort_unstable_by_key(|(_, s)| s.used);
        all.into_iter().map(|(k, s)| (k, &s.vector)).collect()
    }
}
