//! Where profiles live: a [`Store`] per namespace, with three implementations: [`MemoryStore`],
//! [`FileStore`] (native, for the CLI) and `IndexedDbStore` (browser). Every store keeps the
//! namespace's versioned profile record (docs/profile-format.md) and its embedding cache: one
//! entry per `(model, text)` key, a compact vector each, least recently used out past a byte
//! budget (see `crate::embedding`).
//!
//! Every change is one read-modify-write transaction ([`Store::update`]): the record is read,
//! decoded (migrating older versions; refusing newer ones with `version_too_new` and corrupt ones
//! with `corrupt_record`, both left untouched), changed, validated and written, or nothing is.
//! Such an unreadable record stays until the page clears the namespace, which sets it aside
//! (`record::UNREADABLE`, retrievable with [`Store::unreadable`]) until the page discards it.

pub mod memory;
pub mod record;

#[cfg(not(target_arch = "wasm32"))]
pub mod file;
#[cfg(target_arch = "wasm32")]
mod drive_now;
#[cfg(target_arch = "wasm32")]
pub mod indexeddb;

// The memory and file stores share one test suite (the file store is native only).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

pub use crate::embedding::{CacheKey, CacheStats, CompactVector};
#[cfg(not(target_arch = "wasm32"))]
pub use file::FileStore;
#[cfg(target_arch = "wasm32")]
pub use indexeddb::IndexedDbStore;
pub use memory::MemoryStore;

use crate::error::Result;
use crate::profile::{format, Profile};

/// A profile store for one namespace. Async because the browser's storage is; native stores
/// complete immediately (drive them with `pollster::block_on`).
#[allow(async_fn_in_trait)]
pub trait Store {
    fn namespace(&self) -> &str;

    /// The stored profile (a fresh one if none is stored).
    async fn load(&self) -> Result<Profile>;

    /// Reads, changes and writes the profile in one transaction; if `f` or the write fails the
    /// stored profile is unchanged.
    async fn update<R: 'static>(&self, f: impl FnOnce(&mut Profile) -> Result<R>) -> Result<R>;

    /// Removes everything of the namespace (profile and embedding cache), except that a profile
    /// record this SDK cannot read is set aside (`record::UNREADABLE`) rather than deleted, in
    /// the same transaction: a fresh profile is usable after it and nothing unread is lost.
    async fn clear(&self) -> Result<()>;

    /// The profile record that could not be read (as stored, for export): the current one if it
    /// does not decode, else the copy the last `clear` set aside; `None` if neither.
    async fn unreadable(&self) -> Result<Option<String>>;

    /// Deletes the set-aside copy; true if there was one. A current unreadable profile record
    /// is left as it is (`clear` sets it aside).
    async fn discard_unreadable(&self) -> Result<bool>;

    /// The cached embeddings of `keys`, in order, read in one transaction; hits count as used.
    async fn embeddings(&self, keys: &[CacheKey]) -> Result<Vec<Option<CompactVector>>>;

    /// Caches `entries` in one transaction, then evicts the least recently used entries past
    /// the budget. If it fails nothing of it is kept.
    async fn put_embeddings(&self, entries: &[(CacheKey, CompactVector)]) -> Result<()>;

    /// Cached entries of this namespace.
    async fn embedding_count(&self) -> Result<usize>;

    /// The byte budget of the embedding cache.
    fn embedding_budget(&self) -> usize;

    /// The export document of the stored profile.
    async fn export(&self, now: i64) -> Result<String> {
        Ok(format::export(&self.load().await?, now))
    }

    /// Replaces the stored profile by an export, validated in full first: all or nothing.
    async fn import(&self, document: &str) -> Result<()> {
        let incoming = format::import(document)?;
        self.update(move |p| {
            *p = incoming;
            Ok(())
        })
        .await
    }
}
