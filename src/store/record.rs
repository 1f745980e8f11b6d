//! What every store does between reading and writing its records: decode (versioned, migrated),
//! run the caller's change, encode. Nothing is written unless all of it succeeds.

use crate::error::{AttuneError, Result};
use crate::profile::{format, limits, Profile};

/// Record names within a namespace.
pub const PROFILE: &str = "profile";
/// The one-record embedding cache of format 1 (before the cache got an entry per key); a
/// store deletes it when it meets it.
pub const LEGACY_EMBEDDINGS: &str = "embeddings";
/// Where `clear` sets aside a profile record this SDK cannot read (corrupt, or written by a
/// newer SDK), so resetting the profile never destroys it: kept until `discard_unreadable`.
pub const UNREADABLE: &str = "profile.unreadable";

/// The stored profile, or a fresh one if nothing is stored.
pub fn decode_profile(record: Option<&str>) -> Result<Profile> {
    record.map_or_else(|| Ok(Profile::default()), format::from_record)
}

/// Whether a stored profile record is there but cannot be read (`corrupt_record`,
/// `version_too_new`).
pub fn is_unreadable(record: Option<&str>) -> bool {
    record.is_some_and(|r| matches!(format::from_record(r), Err(AttuneError::CorruptRecord(_) | AttuneError::VersionTooNew(_))))
}

/// The record `clear` keeps under [`UNREADABLE`]: the profile record if it cannot be read (the
/// newest unreadable one wins), else the copy already set aside, if any.
pub fn kept_aside(profile: Option<&str>, aside: Option<&str>) -> Option<String> {
    if is_unreadable(profile) { profile } else { aside }.map(str::to_string)
}

/// What `exportCorrupt` answers: the stored profile record if it cannot be read, else the copy
/// `clear` set aside, else `None`. The same rule as [`kept_aside`].
pub fn unreadable_record(profile: Option<&str>, aside: Option<&str>) -> Option<String> {
    kept_aside(profile, aside)
}

/// Runs `f` on the decoded profile; returns the record to write and `f`'s result. If `f` fails
/// nothing is to be written.
pub fn update_profile<R>(record: Option<&str>, f: impl FnOnce(&mut Profile) -> Result<R>) -> Result<(String, R)> {
    update_profile_keeping(record, f).map(|(out, r, _)| (out, r))
}

/// As [`update_profile`], also returning the updated profile (for a store that keeps it).
pub fn update_profile_keeping<R>(record: Option<&str>, f: impl FnOnce(&mut Profile) -> Result<R>) -> Result<(String, R, Profile)> {
    let mut p = decode_profile(record)?;
    let r = f(&mut p)?;
    format::validate(&p).map_err(|m| AttuneError::InvalidArgument(format!("the update leaves an invalid profile: {m}")))?;
    let out = format::to_record(&p);
    if out.len() > limits::PROFILE_BYTES {
        return Err(AttuneError::InputTooLarge(format!("profile of {} bytes", out.len())));
    }
    Ok((out, r, p))
}

/// Namespaces name databases and directories: 1–64 of `A-Z a-z 0-9 . _ -`, not starting with `.`.
pub fn check_namespace(ns: &str) -> Result<()> {
    let ok = !ns.is_empty()
        && ns.len() <= 64
        && !ns.starts_with('.')
        && ns.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AttuneError::InvalidArgument(format!("namespace {ns:?}: 1-64 of A-Z a-z 0-9 . _ -")))
    }
}
