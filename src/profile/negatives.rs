//! What the user does not want: negative centroids (dislike, dismiss, hide) live in a
//! [`CentroidSet`](super::interests::CentroidSet); items explicitly hidden are also kept by id
//! (bounded, oldest out and counted) so a hidden item is never shown again while listed.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hidden {
    pub id: String,
    pub at_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HiddenItems {
    /// Oldest first.
    pub items: VecDeque<Hidden>,
    /// Ids pushed out by the cap (their vectors remain in the negative centroids).
    pub compacted: u64,
}

impl HiddenItems {
    pub fn contains(&self, id: &str) -> bool {
        self.items.iter().any(|h| h.id == id)
    }

    pub fn hide(&mut self, id: &str, at: i64, cap: usize) {
        self.remove(id);
        self.items.push_back(Hidden { id: id.to_string(), at_ms: at });
        while self.items.len() > cap.max(1) {
            self.items.pop_front();
            self.compacted += 1;
        }
    }

    pub fn remove(&mut self, id: &str) -> bool {
        let before = self.items.len();
        self.items.retain(|h| h.id != id);
        self.items.len() != before
    }
}
