//! Cache keys: `sha256(model id ‖ 0 ‖ text)`, so the same text under another model is another
//! entry, and the key says nothing readable about the text.

use sha2::{Digest, Sha256};
use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(pub [u8; 32]);

impl CacheKey {
    pub fn new(model_id: &str, text: &str) -> Self {
        let mut h = Sha256::new();
        h.update(model_id.as_bytes());
        h.update([0u8]);
        h.update(text.as_bytes());
        CacheKey(h.finalize().into())
    }

    /// Lower-case hex: the key of the entry's IndexedDB record.
    pub fn hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(DIGITS[(b >> 4) as usize] as char);
            s.push(DIGITS[(b & 15) as usize] as char);
        }
        s
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 64 {
            return None;
        }
        let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = digit(b[2 * i])? << 4 | digit(b[2 * i + 1])?;
        }
        Some(CacheKey(out))
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheKey({})", &self.hex()[..12])
    }
}

/// Keys of the texts seen lately, so a page ranked again hashes nothing (SHA-256 in wasm costs
/// more than the rest of the lookup). Bounded by texts and bytes; cleared whole when full.
#[derive(Debug, Default)]
pub struct KeyMemo {
    model: String,
    keys: std::collections::HashMap<Box<str>, CacheKey>,
    bytes: usize,
}

impl KeyMemo {
    pub const MAX_TEXTS: usize = 50_000;
    pub const MAX_BYTES: usize = 8 << 20;

    pub fn new(model_id: &str) -> Self {
        KeyMemo { model: model_id.to_string(), ..Default::default() }
    }

    pub fn key(&mut self, text: &str) -> CacheKey {
        if let Some(k) = self.keys.get(text) {
            return *k;
        }
        let k = CacheKey::new(&self.model, text);
        if self.keys.len() >= Self::MAX_TEXTS || self.bytes + text.len() > Self::MAX_BYTES {
            self.keys.clear();
            self.bytes = 0;
        }
        self.bytes += text.len();
        self.keys.insert(text.into(), k);
        k
    }
}
