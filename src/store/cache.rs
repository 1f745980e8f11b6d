//! Item embeddings cached by content hash and model id, so an item is embedded once. Bounded:
//! least recently used out. Stored as one versioned record beside the profile.

use crate::error::{AttuneError, Result};
use crate::profile::vector;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const CACHE_FORMAT: &str = "attune-embeddings";
pub const CACHE_VERSION: u32 = 1;
pub const DEFAULT_CACHE_ENTRIES: usize = 256;

/// `sha256(model id ‖ 0 ‖ text)` in hex: the same text under another model is another entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CacheKey(pub String);

impl CacheKey {
    pub fn new(model_id: &str, text: &str) -> Self {
        let mut h = Sha256::new();
        h.update(model_id.as_bytes());
        h.update([0u8]);
        h.update(text.as_bytes());
        CacheKey(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    key: CacheKey,
    #[serde(with = "vector::b64")]
    vector: Vec<f32>,
    used: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingCache {
    format: String,
    version: u32,
    capacity: usize,
    tick: u64,
    entries: Vec<Entry>,
}

impl Default for EmbeddingCache {
    fn default() -> Self {
        EmbeddingCache::with_capacity(DEFAULT_CACHE_ENTRIES)
    }
}

impl EmbeddingCache {
    pub fn with_capacity(capacity: usize) -> Self {
        EmbeddingCache { format: CACHE_FORMAT.into(), version: CACHE_VERSION, capacity: capacity.max(1), tick: 0, entries: Vec::new() }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The vector under `key`, marked as just used.
    pub fn get(&mut self, key: &CacheKey) -> Option<Vec<f32>> {
        self.tick += 1;
        let tick = self.tick;
        self.entries.iter_mut().find(|e| &e.key == key).map(|e| {
            e.used = tick;
            e.vector.clone()
        })
    }

    pub fn put(&mut self, key: CacheKey, vector: Vec<f32>) {
        self.tick += 1;
        match self.entries.iter_mut().find(|e| e.key == key) {
            Some(e) => {
                e.vector = vector;
                e.used = self.tick;
            }
            None => self.entries.push(Entry { key, vector, used: self.tick }),
        }
        while self.entries.len() > self.capacity {
            let oldest = self.entries.iter().enumerate().min_by_key(|(_, e)| e.used).map(|(i, _)| i).expect("non-empty");
            self.entries.swap_remove(oldest);
        }
    }

    pub fn to_record(&self) -> String {
        serde_json::to_string(self).expect("a cache always serializes")
    }

    pub fn from_record(text: &str) -> Result<Self> {
        #[derive(Deserialize)]
        struct Head {
            format: String,
            version: u32,
        }
        let head: Head = serde_json::from_str(text).map_err(|e| AttuneError::CorruptRecord(format!("embedding cache: {e}")))?;
        if head.format != CACHE_FORMAT {
            return Err(AttuneError::CorruptRecord(format!("embedding cache has format {:?}", head.format)));
        }
        if head.version > CACHE_VERSION {
            return Err(AttuneError::VersionTooNew(format!("embedding cache version {}", head.version)));
        }
        serde_json::from_str(text).map_err(|e| AttuneError::CorruptRecord(format!("embedding cache: {e}")))
    }
}
