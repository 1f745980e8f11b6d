//! The most recently touched items (bounded): for explanations ("because you liked …"), for not
//! showing an item again, and as the ledger of each item's contribution, so that forgetting an
//! item takes out exactly what it put in. Items pushed out of the list are counted, and their
//! influence stays in the centroids and tags (compacted, no longer separable). A bounded record
//! of the compacted ids (as stable hashes) says which items can no longer be forgotten exactly,
//! even after they come back into the list.

use super::config::limits;
use super::decay::Decayed;
use super::event::EventKind;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, VecDeque};

/// One item's share of a centroid set: which centroid it joined and its decayed weight there.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Share {
    pub centroid: u32,
    pub weight: Decayed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentItem {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub last_kind: EventKind,
    /// The positive event of greatest weight the item got (what a reason citing it says the
    /// user did: "read", "liked", "bought"); absent in records from before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_kind: Option<EventKind>,
    pub first_ms: i64,
    pub last_ms: i64,
    pub events: u32,
    /// Share in the interests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interest: Option<Share>,
    /// Share in the negative interests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative: Option<Share>,
    /// The item's embedding at 8 bits, to take its share back out when it is forgotten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<super::vector::Q8>,
    /// Signed weight added to each of `tags`.
    pub tag_weight: Decayed,
    /// The item had been compacted away before this entry was created (or that cannot be ruled
    /// out): part of its influence is outside the entry, so forgetting it is not exact.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compacted_before: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "RecentItemsIn")]
pub struct RecentItems {
    /// Oldest first.
    pub items: VecDeque<RecentItem>,
    /// Items pushed out by the cap, and the latest time any of them was touched.
    pub compacted: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compacted_until_ms: Option<i64>,
    /// [`id_hash`] of every id pushed out by the cap, at most [`limits::COMPACTED_IDS`]; emptied
    /// once more would be needed (`compacted_ids_overflowed`).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub compacted_ids: BTreeSet<u64>,
    /// `compacted_ids` no longer lists every compacted id (the cap was reached, or the record
    /// predates it): no item outside the list is known to be free of compacted influence.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compacted_ids_overflowed: bool,
}

/// What is read; a record from before `compacted_ids` (items compacted, none listed) reads as
/// overflowed, so nothing compacted can be taken for fresh.
#[derive(Deserialize)]
struct RecentItemsIn {
    items: VecDeque<RecentItem>,
    compacted: u64,
    #[serde(default)]
    compacted_until_ms: Option<i64>,
    #[serde(default)]
    compacted_ids: BTreeSet<u64>,
    #[serde(default)]
    compacted_ids_overflowed: bool,
}

impl From<RecentItemsIn> for RecentItems {
    fn from(r: RecentItemsIn) -> Self {
        let overflowed = r.compacted_ids_overflowed || (r.compacted > 0 && r.compacted_ids.is_empty());
        RecentItems {
            items: r.items,
            compacted: r.compacted,
            compacted_until_ms: r.compacted_until_ms,
            compacted_ids: if overflowed { BTreeSet::new() } else { r.compacted_ids },
            compacted_ids_overflowed: overflowed,
        }
    }
}

/// Largest [`id_hash`]: 53 bits, so the stored numbers stay exact through JavaScript's
/// `JSON.parse`.
pub const ID_HASH_MAX: u64 = (1 << 53) - 1;

/// A stable hash of an item id (the first 8 bytes of its SHA-256, big-endian, cut to 53 bits):
/// the same on every platform and in every release. A collision only makes a forget inexact.
pub fn id_hash(id: &str) -> u64 {
    let d = Sha256::digest(id.as_bytes());
    u64::from_be_bytes(d[..8].try_into().expect("8 bytes")) & ID_HASH_MAX
}

pub fn snippet(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(limits::SNIPPET_CHARS).collect()
}

impl RecentItems {
    pub fn get(&self, id: &str) -> Option<&RecentItem> {
        self.items.iter().find(|r| r.id == id)
    }

    /// True unless `id` is known never to have been compacted away (hash not in the record, and
    /// the record complete).
    pub fn maybe_compacted(&self, id: &str) -> bool {
        self.compacted_ids_overflowed || self.compacted_ids.contains(&id_hash(id))
    }

    /// The entry of `id`, moved to the newest end (created if absent).
    pub fn touch(&mut self, id: &str, kind: EventKind, at: i64) -> &mut RecentItem {
        let entry = match self.items.iter().position(|r| r.id == id) {
            Some(i) => self.items.remove(i).expect("index from position"),
            None => RecentItem {
                compacted_before: self.maybe_compacted(id),
                id: id.to_string(),
                snippet: None,
                tags: Vec::new(),
                last_kind: kind,
                top_kind: None,
                first_ms: at,
                last_ms: at,
                events: 0,
                interest: None,
                negative: None,
                vector: None,
                tag_weight: Decayed::new(0.0, at),
            },
        };
        self.items.push_back(entry);
        let e = self.items.back_mut().expect("just pushed");
        e.events = e.events.saturating_add(1);
        if at >= e.last_ms {
            e.last_kind = kind;
        }
        e.first_ms = e.first_ms.min(at);
        e.last_ms = e.last_ms.max(at);
        e
    }

    /// Drops the oldest entries over `cap`, counting them and recording their ids.
    pub fn enforce(&mut self, cap: usize) {
        while self.items.len() > cap.max(1) {
            if let Some(old) = self.items.pop_front() {
                self.compacted += 1;
                self.compacted_until_ms = Some(self.compacted_until_ms.map_or(old.last_ms, |t| t.max(old.last_ms)));
                self.record_compacted(&old.id);
            }
        }
    }

    fn record_compacted(&mut self, id: &str) {
        if self.compacted_ids_overflowed {
            return;
        }
        let h = id_hash(id);
        if !self.compacted_ids.contains(&h) && self.compacted_ids.len() >= limits::COMPACTED_IDS {
            // A partial record proves nothing about the ids it lacks: keep only the flag.
            self.compacted_ids.clear();
            self.compacted_ids_overflowed = true;
        } else {
            self.compacted_ids.insert(h);
        }
    }

    pub fn take(&mut self, id: &str) -> Option<RecentItem> {
        let i = self.items.iter().position(|r| r.id == id)?;
        self.items.remove(i)
    }

    /// After a centroid merge, entries that named the absorbed centroid name the survivor.
    pub fn remap(&mut self, negative: bool, from: u32, into: u32) {
        for r in self.items.iter_mut() {
            let share = if negative { &mut r.negative } else { &mut r.interest };
            if let Some(s) = share.as_mut().filter(|s| s.centroid == from) {
                s.centroid = into;
            }
        }
    }
}
