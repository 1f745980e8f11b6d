//! The most recently touched items (bounded): for explanations ("because you liked …"), for not
//! showing an item again, and as the ledger of each item's contribution, so that forgetting an
//! item takes out exactly what it put in. Items pushed out of the list are counted, and their
//! influence stays in the centroids and tags (compacted, no longer separable).

use super::config::limits;
use super::decay::Decayed;
use super::event::EventKind;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

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
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecentItems {
    /// Oldest first.
    pub items: VecDeque<RecentItem>,
    /// Items pushed out by the cap, and the latest time any of them was touched.
    pub compacted: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compacted_until_ms: Option<i64>,
}

pub fn snippet(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(limits::SNIPPET_CHARS).collect()
}

impl RecentItems {
    pub fn get(&self, id: &str) -> Option<&RecentItem> {
        self.items.iter().find(|r| r.id == id)
    }

    /// The entry of `id`, moved to the newest end (created if absent).
    pub fn touch(&mut self, id: &str, kind: EventKind, at: i64) -> &mut RecentItem {
        let entry = match self.items.iter().position(|r| r.id == id) {
            Some(i) => self.items.remove(i).expect("index from position"),
            None => RecentItem {
                id: id.to_string(),
                snippet: None,
                tags: Vec::new(),
                last_kind: kind,
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

    /// Drops the oldest entries over `cap`, counting them.
    pub fn enforce(&mut self, cap: usize) {
        while self.items.len() > cap.max(1) {
            if let Some(old) = self.items.pop_front() {
                self.compacted += 1;
                self.compacted_until_ms = Some(self.compacted_until_ms.map_or(old.last_ms, |t| t.max(old.last_ms)));
            }
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
