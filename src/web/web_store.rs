//! The SDK's store: IndexedDB where it opens, else (storage `auto`) a store in memory, as in
//! private modes that refuse IndexedDB: the profile then lasts as long as the page and still
//! ranks, and `info().storage` says so and why. `indexeddb` refuses to fall back
//! (`storage_unavailable`); `memory` never persists.

use crate::error::{AttuneError, Result};
use crate::profile::Profile;
use crate::store::record::PROFILE;
use crate::store::{CacheKey, CompactVector, IndexedDbStore, MemoryStore, Store};

/// Where `open` keeps the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageChoice {
    Auto,
    IndexedDb,
    Memory,
}

impl std::str::FromStr for StorageChoice {
    type Err = AttuneError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(StorageChoice::Auto),
            "indexeddb" => Ok(StorageChoice::IndexedDb),
            "memory" => Ok(StorageChoice::Memory),
            other => Err(AttuneError::InvalidArgument(format!("storage {other:?}: one of auto, indexeddb, memory"))),
        }
    }
}

pub enum WebStore {
    IndexedDb(IndexedDbStore),
    /// With the reason the profile is not persisted.
    Memory(MemoryStore, String),
}

impl WebStore {
    pub async fn open(namespace: &str, choice: StorageChoice, budget: usize) -> Result<Self> {
        match choice {
            StorageChoice::Memory => Ok(WebStore::Memory(MemoryStore::with_budget(namespace, budget)?, "asked for memory".into())),
            StorageChoice::IndexedDb => Ok(WebStore::IndexedDb(IndexedDbStore::open_with_budget(namespace, budget).await?)),
            StorageChoice::Auto => match IndexedDbStore::open_with_budget(namespace, budget).await {
                Ok(s) => Ok(WebStore::IndexedDb(s)),
                // Refused (a private mode): memory. Blocked by another tab is passing, and a
                // memory profile would silently drop this page's events: the open fails.
                Err(e @ AttuneError::StorageUnavailable(_)) if !IndexedDbStore::is_blocked(&e) => {
                    Ok(WebStore::Memory(MemoryStore::with_budget(namespace, budget)?, format!("{e}; kept in memory for this page")))
                }
                Err(e) => Err(e),
            },
        }
    }

    /// `"indexeddb"` or `"memory"`, and why a memory store is in use.
    pub fn kind(&self) -> (&'static str, Option<&str>) {
        match self {
            WebStore::IndexedDb(_) => ("indexeddb", None),
            WebStore::Memory(_, why) => ("memory", Some(why)),
        }
    }

    /// Bytes of the stored profile record (0 for one that is not text: it is unreadable and
    /// `unreadable()` has it).
    pub async fn profile_bytes(&self) -> Result<usize> {
        Ok(match self {
            WebStore::IndexedDb(s) => match s.raw(PROFILE).await {
                Ok(r) => r.map_or(0, |r| r.len()),
                Err(AttuneError::CorruptRecord(_)) => 0,
                Err(e) => return Err(e),
            },
            WebStore::Memory(s, _) => s.raw(PROFILE).map_or(0, |r| r.len()),
        })
    }

    pub fn close(&self) {
        if let WebStore::IndexedDb(s) = self {
            s.close();
        }
    }
}

impl Store for WebStore {
    fn namespace(&self) -> &str {
        match self {
            WebStore::IndexedDb(s) => s.namespace(),
            WebStore::Memory(s, _) => s.namespace(),
        }
    }

    async fn load(&self) -> Result<Profile> {
        match self {
            WebStore::IndexedDb(s) => s.load().await,
            WebStore::Memory(s, _) => s.load().await,
        }
    }

    async fn update<R: 'static>(&self, f: impl FnOnce(&mut Profile) -> Result<R>) -> Result<R> {
        match self {
            WebStore::IndexedDb(s) => s.update(f).await,
            WebStore::Memory(s, _) => s.update(f).await,
        }
    }

    async fn clear(&self) -> Result<()> {
        match self {
            WebStore::IndexedDb(s) => s.clear().await,
            WebStore::Memory(s, _) => s.clear().await,
        }
    }

    async fn unreadable(&self) -> Result<Option<String>> {
        match self {
            WebStore::IndexedDb(s) => s.unreadable().await,
            WebStore::Memory(s, _) => s.unreadable().await,
        }
    }

    async fn discard_unreadable(&self) -> Result<bool> {
        match self {
            WebStore::IndexedDb(s) => s.discard_unreadable().await,
            WebStore::Memory(s, _) => s.discard_unreadable().await,
        }
    }

    async fn embeddings(&self, keys: &[CacheKey]) -> Result<Vec<Option<CompactVector>>> {
        match self {
            WebStore::IndexedDb(s) => s.embeddings(keys).await,
            WebStore::Memory(s, _) => s.embeddings(keys).await,
        }
    }

    async fn put_embeddings(&self, entries: &[(CacheKey, CompactVector)]) -> Result<()> {
        match self {
            WebStore::IndexedDb(s) => s.put_embeddings(entries).await,
            WebStore::Memory(s, _) => s.put_embeddings(entries).await,
        }
    }

    async fn embedding_count(&self) -> Result<usize> {
        match self {
            WebStore::IndexedDb(s) => s.embedding_count().await,
            WebStore::Memory(s, _) => s.embedding_count().await,
        }
    }

    fn embedding_budget(&self) -> usize {
        match self {
            WebStore::IndexedDb(s) => s.embedding_budget(),
            WebStore::Memory(s, _) => s.embedding_budget(),
        }
    }
}
