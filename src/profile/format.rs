//! The versioned JSON form of a profile, shared by stored records and exports (see
//! docs/profile-format.md): `{"format": "attune-profile", "version": N, "profile": {…}}`.
//! Older versions are migrated on read; newer ones are refused. Imports are validated in full
//! before anything is replaced.

use super::config::{check_time, limits};
use super::Profile;
use crate::error::{AttuneError, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const FORMAT: &str = "attune-profile";
/// The version this SDK writes. 1: pre-release layout (recent list named `seen`; no `hidden`,
/// no `memories`).
pub const VERSION: u32 = 2;

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    format: &'static str,
    version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    exported_ms: Option<i64>,
    profile: &'a Profile,
}

#[derive(Deserialize)]
struct EnvelopeIn {
    format: String,
    version: u32,
    profile: Value,
}

/// Why a document could not be read; the caller maps it to its own error code.
#[derive(Debug)]
pub enum ReadError {
    TooNew(u32),
    Bad(String),
}

/// The stored record (compact JSON).
pub fn to_record(p: &Profile) -> String {
    serde_json::to_string(&EnvelopeOut { format: FORMAT, version: VERSION, exported_ms: None, profile: p })
        .expect("a profile always serializes")
}

/// A stored record back to a profile: `version_too_new` or `corrupt_record` if it cannot be.
pub fn from_record(text: &str) -> Result<Profile> {
    read(text).map_err(|e| match e {
        ReadError::TooNew(v) => {
            AttuneError::VersionTooNew(format!("stored profile has version {v}; this SDK reads up to {VERSION}"))
        }
        ReadError::Bad(m) => AttuneError::CorruptRecord(m),
    })
}

/// The export document (pretty JSON).
pub fn export(p: &Profile, now: i64) -> String {
    serde_json::to_string_pretty(&EnvelopeOut { format: FORMAT, version: VERSION, exported_ms: Some(now), profile: p })
        .expect("a profile always serializes")
}

/// An export document back to a profile, validated in full; `invalid_import` otherwise (a
/// document of a newer version is `version_too_new`).
pub fn import(text: &str) -> Result<Profile> {
    read(text).map_err(|e| match e {
        ReadError::TooNew(v) => {
            AttuneError::VersionTooNew(format!("export has version {v}; this SDK reads up to {VERSION}"))
        }
        ReadError::Bad(m) => AttuneError::InvalidImport(m),
    })
}

fn read(text: &str) -> std::result::Result<Profile, ReadError> {
    if text.len() > limits::PROFILE_BYTES {
        return Err(ReadError::Bad(format!("{} bytes is over the {} byte limit", text.len(), limits::PROFILE_BYTES)));
    }
    let env: EnvelopeIn = serde_json::from_str(text).map_err(|e| ReadError::Bad(format!("not a profile document: {e}")))?;
    if env.format != FORMAT {
        return Err(ReadError::Bad(format!("format is {:?}, not {FORMAT:?}", env.format)));
    }
    if env.version > VERSION {
        return Err(ReadError::TooNew(env.version));
    }
    if env.version == 0 {
        return Err(ReadError::Bad("version 0 does not exist".into()));
    }
    let value = migrate(env.profile, env.version).map_err(ReadError::Bad)?;
    let p: Profile = serde_json::from_value(value).map_err(|e| ReadError::Bad(format!("profile: {e}")))?;
    validate(&p).map_err(ReadError::Bad)?;
    Ok(p)
}

/// Brings a profile object of version `from` to [`VERSION`], one step at a time.
pub fn migrate(mut v: Value, from: u32) -> std::result::Result<Value, String> {
    let obj = v.as_object_mut().ok_or("profile is not an object")?;
    if from < 2 {
        // 1 → 2: `seen` became `recent`; `hidden` and `memories` were added.
        if let Some(seen) = obj.remove("seen") {
            obj.insert("recent".into(), seen);
        }
        obj.entry("hidden").or_insert_with(|| serde_json::json!({"items": [], "compacted": 0}));
        obj.entry("memories").or_insert_with(|| serde_json::json!({"items": [], "next_id": 0}));
    }
    Ok(v)
}

/// Everything a profile must satisfy, whatever document it came from.
pub fn validate(p: &Profile) -> std::result::Result<(), String> {
    let c = &p.config;
    c.validate().map_err(|e| e.to_string())?;
    let over = |what: &str, n: usize, cap: usize| {
        if n > cap {
            Err(format!("{n} {what} over the cap of {cap}"))
        } else {
            Ok(())
        }
    };
    over("interests", p.interests.len(), c.max_interests)?;
    over("negative interests", p.negatives.len(), c.max_negatives)?;
    over("tags", p.tags.tags.len(), c.max_tags)?;
    over("recent items", p.recent.items.len(), c.max_recent)?;
    over("hidden items", p.hidden.items.len(), c.max_blocked)?;
    over("memories", p.memories.items.len(), c.max_memories)?;
    over("compacted ids", p.recent.compacted_ids.len(), limits::COMPACTED_IDS)?;
    if p.recent.compacted_ids.iter().any(|&h| h > super::recent::ID_HASH_MAX) {
        return Err("compacted id hash over 53 bits".into());
    }
    if p.dim.is_some_and(|d| d == 0 || d > limits::DIM) {
        return Err("dim out of range".into());
    }
    let dim_ok = |n: usize| p.dim == Some(n);
    let finite = |x: f64| x.is_finite();
    for set in [&p.interests, &p.negatives] {
        let mut ids = std::collections::BTreeSet::new();
        for ct in &set.centroids {
            if !dim_ok(ct.mean.len()) || !finite(ct.weight.v) || ct.weight.v < 0.0 || !ids.insert(ct.id) {
                return Err(format!("centroid {}: wrong width, bad weight or duplicate id", ct.id));
            }
        }
    }
    check_times(p)?;
    for (t, e) in &p.tags.tags {
        if super::tags::normalize(t).as_deref() != Some(t.as_str()) || !finite(e.affinity.v) {
            return Err(format!("tag {t:?}: not normalized or bad affinity"));
        }
    }
    for r in &p.recent.items {
        if r.id.is_empty() || r.id.len() > limits::ID_BYTES || r.tags.len() > limits::TAGS_PER_ITEM {
            return Err("recent item: bad id or too many tags".into());
        }
        if r.snippet.as_ref().is_some_and(|s| s.chars().count() > limits::SNIPPET_CHARS) {
            return Err("recent item: snippet too long".into());
        }
        if let Some(q) = &r.vector {
            let v = q.dequantize().map_err(|e| format!("recent item {:?}: {e}", r.id))?;
            if !dim_ok(v.len()) {
                return Err(format!("recent item {:?}: vector of the wrong width", r.id));
            }
        }
        let shares = [r.interest, r.negative];
        if !finite(r.tag_weight.v) || shares.iter().flatten().any(|s| !finite(s.weight.v)) {
            return Err(format!("recent item {:?}: bad weight", r.id));
        }
    }
    for h in &p.hidden.items {
        if h.id.is_empty() || h.id.len() > limits::ID_BYTES {
            return Err("hidden item: bad id".into());
        }
    }
    for m in &p.memories.items {
        if m.text.trim().is_empty() || m.text.chars().count() > limits::MEMORY_CHARS {
            return Err(format!("memory {:?}: empty or too long", m.id));
        }
        if m.vector.as_ref().is_some_and(|v| !dim_ok(v.len())) {
            return Err(format!("memory {:?}: vector of the wrong width", m.id));
        }
    }
    Ok(())
}

/// Every stored time within range: one near `i64::MIN` or `i64::MAX` would stop the decay or
/// overflow the arithmetic on times.
fn check_times(p: &Profile) -> std::result::Result<(), String> {
    for set in [&p.interests, &p.negatives] {
        for c in &set.centroids {
            check_time(c.weight.t, "centroid weight time")?;
            check_time(c.first_ms, "centroid first_ms")?;
            check_time(c.last_ms, "centroid last_ms")?;
        }
    }
    for e in p.tags.tags.values() {
        check_time(e.affinity.t, "tag affinity time")?;
    }
    for r in &p.recent.items {
        check_time(r.first_ms, "recent first_ms")?;
        check_time(r.last_ms, "recent last_ms")?;
        check_time(r.tag_weight.t, "recent tag_weight time")?;
        for s in [r.interest, r.negative].iter().flatten() {
            check_time(s.weight.t, "recent share time")?;
        }
    }
    for t in [p.recent.compacted_until_ms, p.stats.first_ms, p.stats.last_ms].into_iter().flatten() {
        check_time(t, "profile time")?;
    }
    for h in &p.hidden.items {
        check_time(h.at_ms, "hidden at_ms")?;
    }
    for m in &p.memories.items {
        check_time(m.created_ms, "memory created_ms")?;
    }
    Ok(())
}
