//! Items a ranking leaves out: those the user hid or dismissed (always), and those the user
//! already touched (on request).

use crate::profile::{EventKind, Profile};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filtered {
    Hidden,
    Dismissed,
    Seen,
}

pub fn filtered(p: &Profile, id: &str, exclude_seen: bool) -> Option<Filtered> {
    if p.hidden.contains(id) {
        return Some(Filtered::Hidden);
    }
    let recent = p.recent.get(id)?;
    if matches!(recent.last_kind, EventKind::Dismiss | EventKind::Hide) {
        return Some(Filtered::Dismissed);
    }
    exclude_seen.then_some(Filtered::Seen)
}
