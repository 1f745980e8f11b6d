//! A store in a directory (native only, for the CLI): `<root>/<namespace>/profile.json` and
//! `embeddings.json`. Each write goes to a temporary file that is synced and then renamed over
//! the record, so a crash leaves either the old or the new record, never half of one. Updates
//! are serialized within the process; one process should own a namespace at a time.

use super::record::{self, EMBEDDINGS, PROFILE};
use super::{CacheKey, Store};
use crate::error::{AttuneError, Result};
use crate::profile::Profile;
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug)]
pub struct FileStore {
    namespace: String,
    dir: PathBuf,
    lock: Mutex<()>,
}

impl FileStore {
    /// Opens (creating the directory if needed) the namespace under `root`.
    pub fn open(root: impl AsRef<Path>, namespace: &str) -> Result<Self> {
        record::check_namespace(namespace)?;
        let dir = root.as_ref().join(namespace);
        fs::create_dir_all(&dir).map_err(|e| AttuneError::StorageUnavailable(format!("{}: {e}", dir.display())))?;
        Ok(FileStore { namespace: namespace.to_string(), dir, lock: Mutex::new(()) })
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
        let path = self.path(name);
        let tmp = self.dir.join(format!(".{name}.json.tmp"));
        let res = (|| {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
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

    fn locked(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
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

    async fn update<R>(&self, f: impl FnOnce(&mut Profile) -> Result<R>) -> Result<R> {
        let _g = self.locked();
        let (out, r) = record::update_profile(self.read(PROFILE)?.as_deref(), f)?;
        self.write(PROFILE, &out)?;
        Ok(r)
    }

    async fn clear(&self) -> Result<()> {
        let _g = self.locked();
        for name in [PROFILE, EMBEDDINGS] {
            match fs::remove_file(self.path(name)) {
                Err(e) if e.kind() != ErrorKind::NotFound => return Err(AttuneError::StorageUnavailable(e.to_string())),
                _ => {}
            }
        }
        Ok(())
    }

    async fn cached_embedding(&self, key: &CacheKey) -> Result<Option<Vec<f32>>> {
        let _g = self.locked();
        let mut cache = record::decode_cache(self.read(EMBEDDINGS)?.as_deref())?;
        let hit = cache.get(key);
        if hit.is_some() {
            self.write(EMBEDDINGS, &cache.to_record())?;
        }
        Ok(hit)
    }

    async fn cache_embedding(&self, key: &CacheKey, vector: &[f32]) -> Result<()> {
        let _g = self.locked();
        let mut cache = record::decode_cache(self.read(EMBEDDINGS)?.as_deref())?;
        cache.put(key.clone(), vector.to_vec());
        self.write(EMBEDDINGS, &cache.to_record())
    }
}
