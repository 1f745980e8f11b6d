//! A site's precomputed item vectors: embedded once, offline (`attune catalog`), shipped as one
//! small binary file beside the catalog, loaded by the SDK (`addVectors`) and used for those
//! item ids instead of embedding their text. The file names the model that made it; the SDK
//! refuses a file of another model or width, so a vector is never compared with another
//! model's.
//!
//! Layout (little-endian): `ATTUNEV1`, a u32 length and that many bytes of JSON header
//! `{"model","dim","count","encoding":"q8_0"}`, then `count` entries of a u16 id length, the
//! id (UTF-8) and the vector's Q8_0 row (see [`CompactVector`]).

use super::compact::row_bytes;
use super::CompactVector;
use crate::error::{AttuneError, Result};
use crate::profile::limits;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

const MAGIC: &[u8; 8] = b"ATTUNEV1";
/// Largest header accepted (it is a few dozen bytes).
const MAX_HEADER: usize = 4096;
/// Most entries one file may hold.
pub const MAX_ENTRIES: usize = 1_000_000;

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    model: String,
    dim: usize,
    count: usize,
    encoding: String,
}

#[derive(Debug, Default)]
pub struct Catalog {
    model: String,
    dim: usize,
    vectors: HashMap<String, CompactVector>,
}

fn bad(m: impl std::fmt::Display) -> AttuneError {
    AttuneError::InvalidArgument(format!("vector file: {m}"))
}

impl Catalog {
    /// Encodes `(id, vector)` pairs of `model` (all vectors `dim` wide).
    pub fn write<'a>(model: &str, dim: usize, entries: impl IntoIterator<Item = (&'a str, &'a [f32])>) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        let mut count = 0usize;
        for (id, v) in entries {
            if v.len() != dim {
                return Err(bad(format!("item {id:?} has {} values, not {dim}", v.len())));
            }
            if id.is_empty() || id.len() > limits::ID_BYTES {
                return Err(bad(format!("item id of {} bytes (1..={})", id.len(), limits::ID_BYTES)));
            }
            body.extend_from_slice(&(id.len() as u16).to_le_bytes());
            body.extend_from_slice(id.as_bytes());
            body.extend_from_slice(CompactVector::encode(v)?.q8_0());
            count += 1;
        }
        let header = serde_json::to_vec(&Header { model: model.into(), dim, count, encoding: "q8_0".into() })
            .map_err(|e| bad(e))?;
        let mut out = Vec::with_capacity(12 + header.len() + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Reads a file made by [`write`](Self::write) for `model` (the embedder's id).
    pub fn read(bytes: &[u8], model: &str) -> Result<Self> {
        let mut r = Reader { b: bytes, at: 0 };
        if r.take(8)? != MAGIC {
            return Err(bad("not an Attune vector file (no ATTUNEV1 header)"));
        }
        let len = u32::from_le_bytes(r.array()?) as usize;
        if len > MAX_HEADER {
            return Err(bad(format!("header of {len} bytes")));
        }
        let h: Header = serde_json::from_slice(r.take(len)?).map_err(|e| bad(format!("header: {e}")))?;
        if h.encoding != "q8_0" {
            return Err(bad(format!("encoding {:?} (this SDK reads q8_0)", h.encoding)));
        }
        if h.model != model {
            return Err(AttuneError::ModelUnsupported(format!(
                "the vector file was made with `{}`, the embedder is `{model}`; rebuild it with this model",
                h.model
            )));
        }
        if h.dim == 0 || h.dim > limits::DIM || h.count > MAX_ENTRIES {
            return Err(bad(format!("{} vectors of {} values", h.count, h.dim)));
        }
        let row = row_bytes(h.dim);
        // Each entry takes at least its row and a length: a count the bytes cannot hold is
        // refused before anything is allocated for it.
        if h.count.saturating_mul(row + 3) > bytes.len() - r.at {
            return Err(bad(format!("{} entries do not fit in {} bytes", h.count, bytes.len() - r.at)));
        }
        let mut vectors = HashMap::with_capacity(h.count);
        for _ in 0..h.count {
            let id_len = u16::from_le_bytes(r.array()?) as usize;
            let id = std::str::from_utf8(r.take(id_len)?).map_err(|_| bad("an id that is not UTF-8"))?.to_string();
            let mut rec = Vec::with_capacity(3 + row);
            rec.push(1);
            rec.extend_from_slice(&(h.dim as u16).to_le_bytes());
            rec.extend_from_slice(r.take(row)?);
            let v = CompactVector::from_bytes(&rec).map_err(|e| bad(format!("item {id:?}: {e}")))?;
            vectors.insert(id, v);
        }
        if r.at != bytes.len() {
            return Err(bad(format!("{} bytes after the last entry", bytes.len() - r.at)));
        }
        Ok(Catalog { model: h.model, dim: h.dim, vectors })
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&CompactVector> {
        self.vectors.get(id)
    }

    /// Adds another file's vectors (same model and width); later ids replace earlier ones.
    pub fn merge(&mut self, other: Catalog) -> Result<()> {
        if self.vectors.is_empty() {
            *self = other;
            return Ok(());
        }
        if other.dim != self.dim {
            return Err(bad(format!("vectors of {} values beside loaded ones of {}", other.dim, self.dim)));
        }
        self.vectors.extend(other.vectors);
        Ok(())
    }

    /// Approximate bytes held (for `info()`).
    pub fn bytes(&self) -> usize {
        self.vectors.iter().map(|(k, v)| k.len() + v.stored_bytes()).sum()
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len()).ok_or_else(|| bad("truncated"))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.take(N).and_then(|s| s.try_into().map_err(|_| bad("truncated")))
    }
}
