//! A store in a directory (native only, for the CLI): `<root>/<namespace>/profile.json` and
//! the embedding cache `embeddings.bin` (entries least recently used first, each a key, a
//! length and a compact vector). Each write goes to a temporary file that is synced and then
//! renamed over the record, so a crash leaves either the old or the new record, never half of
//! one. Updates are serialized within the process; one process should own a namespace at a
//! time. The cache is read once and rewritten whole on each batch of new entries: the CLI
//! caches a few thousand at most.

use super::record::{self, LEGACY_EMBEDDINGS, PROFILE, UNREADABLE};
use super::{CacheKey, CompactVector, Store};
use crate::embedding::{EmbeddingTable, DEFAULT_BUDGET_BYTES};
use crate::error::{AttuneError, Result};
use crate::profile::Profile;
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const CACHE_FILE: &str = "embeddings.bin";
const CACHE_MAGIC: &[u8; 8] = b"ATTUNEC1";

#[derive(Debug)]
pub struct FileStore {
    namespace: String,
    dir: PathBuf,
    lock: Mutex<()>,
    /// The cache file's entries, read on first use.
    embeddings: Mutex<Option<EmbeddingTable>>,
}

impl FileStore {
    /// Opens (creating the directory if needed) the namespace under `root`.
    pub fn open(root: impl AsRef<Path>, namespace: &str) -> Result<Self> {
        record::check_namespace(namespace)?;
        let dir = root.as_ref().join(namespace);
        fs::create_dir_all(&dir).map_err(|e| AttuneError::StorageUnavailable(format!("{}: {e}", dir.display())))?;
        Ok(FileStore { namespace: namespace.to_string(), dir, lock: Mutex::new(()), embeddings: Mutex::new(None) })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    pub fn read(&self, name: &str) -> Result<Option<String>> {
        match fs::read(self.path(name)) {
            Ok(b) => String::from_utf8(b).map(Some).map_err(|_| AttuneError::CorruptRecord(format!("{name}: not UTF-8"))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AttuneError::StorageUnavailable(format!("{}: {e}", self.path(name).display()))),
        }
    }

    /// Temp file + fsync + rename: the record is replaced whole or not at all.
    pub fn write(&self, name: &str, text: &str) -> Result<()> {
        self.write_file(&format!("{name}.json"), text.as_bytes())
    }

    fn write_file(&self, file: &str, bytes: &[u8]) -> Result<()> {
        let path = self.dir.join(file);
        let tmp = self.dir.join(format!(".{file}.tmp"));
        let res = (|| {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)
        })();
        res.map_err(|e| {
            let _ = fs::remove_file(&tmp);
            if e.kind() == ErrorKind::StorageFull {
                AttuneError::QuotaExceeded(format!("{}: {e}", path.display()))
            } else {
                AttuneError::StorageUnavailable(format!("{}: {e}", path.display()))
            }
        })
    }

    /// Whether the profile file is there but cannot be read (not UTF-8, corrupt, too new).
    fn profile_unreadable(&self) -> Result<bool> {
        match self.read(PROFILE) {
            Ok(text) => Ok(record::is_unreadable(text.as_deref())),
            Err(AttuneError::CorruptRecord(_)) => Ok(true),
            Err(e) => Err(e),
        }
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the cache table, reading the file first if this is the first use.
    fn with_cache<R>(&self, f: impl FnOnce(&mut EmbeddingTable) -> Result<R>) -> Result<R> {
        let mut guard = self.embeddings.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some(self.read_cache()?);
        }
        match guard.as_mut() {
            Some(t) => f(t),
            None => Err(AttuneError::StorageUnavailable("embedding cache not loaded".into())),
        }
    }

    fn read_cache(&self) -> Result<EmbeddingTable> {
        let mut t = EmbeddingTable::new(DEFAULT_BUDGET_BYTES);
        let path = self.dir.join(CACHE_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(t),
            Err(e) => return Err(AttuneError::StorageUnavailable(format!("{}: {e}", path.display()))),
        };
        let corrupt = || AttuneError::CorruptRecord(format!("{}: truncated or not an Attune cache", path.display()));
        let mut rest = bytes.strip_prefix(CACHE_MAGIC).ok_or_else(corrupt)?;
        while !rest.is_empty() {
            let (key, after) = rest.split_first_chunk::<32>().ok_or_else(corrupt)?;
            let (len, after) = after.split_first_chunk::<4>().ok_or_else(corrupt)?;
            let len = u32::from_le_bytes(*len) as usize;
            if after.len() < len {
                return Err(corrupt());
            }
            t.put(CacheKey(*key), CompactVector::from_bytes(&after[..len])?);
            rest = &after[len..];
        }
        Ok(t)
    }

    fn write_cache(&self, t: &EmbeddingTable) -> Result<()> {
        let mut out = CACHE_MAGIC.to_vec();
        for (k, v) in t.entries_by_use() {
            let b = v.to_bytes();
            out.extend_from_slice(&k.0);
            out.extend_from_slice(&(b.len() as u32).to_le_bytes());
            out.extend_from_slice(&b);
        }
        self.write_file(CACHE_FILE, &out)
    }
}

impl Store for FileStore {
    fn namespace(&self) -> &str {
        &self.namespace
    }

    async fn load(&self) -> Result<Profile> {
        let _g = self.locked();
        record::decode_profile(self.read(PROFILE)?.as_deref())
    }

    async fn update<R: 'static>(&self, f: impl FnOnce(&mut Profile) -> Result<R>) -> Result<R> {
        let _g = self.locked();
        let (out, r) = record::update_profile(self.read(PROFILE)?.as_deref(), f)?;
        self.write(PROFILE, &out)?;
        Ok(r)
    }

    async fn clear(&self) -> Result<()> {
        let _g = self.locked();
        // An unreadable profile is set aside by a rename (atomic), replacing an older copy.
        if self.profile_unreadable()? {
            fs::rename(self.path(PROFILE), self.path(UNREADABLE)).map_err(|e| AttuneError::StorageUnavailable(e.to_string()))?;
        }
        for file in [self.path(PROFILE), self.path(LEGACY_EMBEDDINGS), self.dir.join(CACHE_FILE)] {
            match fs::remove_file(file) {
                Err(e) if e.kind() != ErrorKind::NotFound => return Err(AttuneError::StorageUnavailable(e.to_string())),
                _ => {}
            }
        }
        *self.embeddings.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }

    async fn unreadable(&self) -> Result<Option<String>> {
        let _g = self.locked();
        let name = if self.profile_unreadable()? { PROFILE } else { UNREADABLE };
        match fs::read(self.path(name)) {
            // Not UTF-8 is corrupt too; the export shows its bytes as far as they are text.
            Ok(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AttuneError::StorageUnavailable(e.to_string())),
        }
    }

    async fn discard_unreadable(&self) -> Result<bool> {
        let _g = self.locked();
        match fs::remove_file(self.path(UNREADABLE)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(AttuneError::StorageUnavailable(e.to_string())),
        }
    }

    async fn embeddings(&self, keys: &[CacheKey]) -> Result<Vec<Option<CompactVector>>> {
        let _g = self.locked();
        self.with_cache(|t| Ok(keys.iter().map(|k| t.get(k).cloned()).collect()))
    }

    async fn put_embeddings(&self, entries: &[(CacheKey, CompactVector)]) -> Result<()> {
        let _g = self.locked();
        let mut guard = self.embeddings.lock().unwrap_or_else(|p| p.into_inner());
        let mut t = match guard.take() {
            Some(t) => t,
            None => self.read_cache()?,
        };
        for (k, v) in entries {
            t.put(*k, v.clone());
        }
        self.write_cache(&t)?;
        // On a failed write the table is dropped: the next use reads the file as it is.
        *guard = Some(t);
        Ok(())
    }

    async fn embedding_count(&self) -> Result<usize> {
        let _g = self.locked();
        self.with_cache(|t| Ok(t.len()))
    }

    fn embedding_budget(&self) -> usize {
        DEFAULT_BUDGET_BYTES
    }
}
