//! Forgetting: an item, a tag, a memory, or a time range. An item still in the recent list is
//! taken out exactly (its share of its centroids, up to the 8-bit rounding of its stored vector,
//! and of its tags); detail already compacted can no longer be separated, and the report says so
//! (also for an item that left the list and came back: `RecentItems::compacted_ids`).

use super::recent::RecentItem;
use super::Profile;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Forget {
    Item { id: String },
    Tag { tag: String },
    Memory { id: String },
    /// Everything that happened in `from_ms..=to_ms`.
    Range { from_ms: i64, to_ms: i64 },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ForgetReport {
    /// Entries removed (items, tags, memories, centroids).
    pub removed: usize,
    /// False when some matching influence was already compacted into aggregates (older items
    /// that left the recent list) and could not be taken out separately.
    pub exact: bool,
}

impl Profile {
    pub fn forget(&mut self, what: &Forget) -> ForgetReport {
        let mut r = ForgetReport { removed: 0, exact: true };
        match what {
            Forget::Item { id } => {
                let hidden = self.hidden.remove(id);
                match self.recent.take(id) {
                    Some(entry) => {
                        // Events before its return to the list were compacted away.
                        r.exact &= self.take_out(&entry) && !entry.compacted_before;
                        r.removed += 1;
                    }
                    None => {
                        r.removed += hidden as usize;
                        // It may have been compacted away: its influence is then inseparable.
                        r.exact = !self.recent.maybe_compacted(id);
                    }
                }
            }
            Forget::Tag { tag } => {
                let Some(tag) = super::tags::normalize(tag) else { return r };
                r.removed += self.tags.tags.remove(&tag).is_some() as usize;
                for e in self.recent.items.iter_mut() {
                    e.tags.retain(|t| *t != tag);
                }
            }
            Forget::Memory { id } => r.removed += self.memories.remove(id) as usize,
            Forget::Range { from_ms, to_ms } => {
                let (from, to) = (*from_ms, *to_ms);
                let inside = |a: i64, b: i64| a >= from && b <= to;
                let overlaps = |a: i64, b: i64| a <= to && b >= from;
                let (gone, kept): (Vec<RecentItem>, Vec<RecentItem>) =
                    self.recent.items.drain(..).partition(|e| inside(e.first_ms, e.last_ms));
                self.recent.items = kept.into();
                for e in &gone {
                    r.exact &= self.take_out(e);
                    self.hidden.remove(&e.id);
                    r.removed += 1;
                }
                // Items with events both inside and outside the range cannot be split.
                r.exact &= !self.recent.items.iter().any(|e| overlaps(e.first_ms, e.last_ms));
                let before = self.hidden.items.len();
                self.hidden.items.retain(|h| !inside(h.at_ms, h.at_ms));
                r.removed += before - self.hidden.items.len();
                let before = self.memories.items.len();
                self.memories.items.retain(|m| !inside(m.created_ms, m.created_ms));
                r.removed += before - self.memories.items.len();
                // Centroids made only of in-range events go whole; compacted detail that
                // overlaps the range stays (inexact).
                for set in [&mut self.interests, &mut self.negatives] {
                    let before = set.centroids.len();
                    set.centroids.retain(|c| !inside(c.first_ms, c.last_ms));
                    r.removed += before - set.centroids.len();
                }
                if self.recent.compacted_until_ms.is_some_and(|t| t >= from)
                    && self.stats.first_ms.is_some_and(|t| t <= to)
                {
                    r.exact = false;
                }
            }
        }
        r
    }

    /// Takes one ledger entry's shares out of the centroids and tags. False if a share could not
    /// be taken out (no stored vector).
    fn take_out(&mut self, e: &RecentItem) -> bool {
        let hl = self.config.half_life_ms;
        let mut exact = true;
        let v = e.vector.as_ref().and_then(|q| q.dequantize().ok());
        for (share, set) in [(e.interest, &mut self.interests), (e.negative, &mut self.negatives)] {
            if let Some(s) = share {
                match &v {
                    // A centroid already gone (decayed away) holds nothing of the item.
                    Some(v) => {
                        set.remove(s.centroid, v, s.weight.v, s.weight.t, hl, e.events as u64);
                    }
                    None => exact = false,
                }
            }
        }
        for t in &e.tags {
            self.tags.remove(t, e.tag_weight.v, e.tag_weight.t, hl, e.events as u64);
        }
        exact
    }
}
