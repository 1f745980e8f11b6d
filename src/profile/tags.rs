//! Signed, decayed affinity per tag. Over the cap the weakest tag is folded into `compacted`
//! (its count and weight kept as totals), never dropped without a trace.

use super::config::limits;
use super::decay::Decayed;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TagEntry {
    pub affinity: Decayed,
    pub count: u64,
}

/// Totals of the tags folded away to respect the cap.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompactedTags {
    pub tags: u64,
    pub events: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TagAffinities {
    pub tags: BTreeMap<String, TagEntry>,
    pub compacted: CompactedTags,
}

/// Lowercased, trimmed, cut to [`limits::TAG_CHARS`]; `None` if nothing is left.
pub fn normalize(tag: &str) -> Option<String> {
    let t: String = tag.trim().to_lowercase().chars().filter(|c| !c.is_control()).take(limits::TAG_CHARS).collect();
    (!t.is_empty()).then_some(t)
}

/// The distinct normalized tags of an item, at most [`limits::TAGS_PER_ITEM`].
pub fn normalize_all(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags.iter().filter_map(|t| normalize(t)) {
        if !out.contains(&t) && out.len() < limits::TAGS_PER_ITEM {
            out.push(t);
        }
    }
    out
}

impl TagAffinities {
    pub fn add(&mut self, tag: &str, w: f64, at: i64, hl: i64, cap: usize) {
        let e = self.tags.entry(tag.to_string()).or_default();
        e.affinity.add(w, at, hl);
        e.count += 1;
        while self.tags.len() > cap.max(1) {
            self.compact_weakest(tag, at, hl);
        }
    }

    /// Takes out `w` (as of `at`) and `events` from `tag`, as an item is forgotten.
    pub fn remove(&mut self, tag: &str, w: f64, at: i64, hl: i64, events: u64) {
        if let Some(e) = self.tags.get_mut(tag) {
            e.affinity.add(-w, at, hl);
            e.count = e.count.saturating_sub(events);
            if e.count == 0 {
                self.tags.remove(tag);
            }
        }
    }

    pub fn affinity(&self, tag: &str, now: i64, hl: i64) -> f64 {
        self.tags.get(tag).map_or(0.0, |e| e.affinity.at(now, hl))
    }

    fn compact_weakest(&mut self, keep: &str, now: i64, hl: i64) {
        let weakest = self
            .tags
            .iter()
            .filter(|(k, _)| k.as_str() != keep)
            .min_by(|a, b| a.1.affinity.at(now, hl).abs().total_cmp(&b.1.affinity.at(now, hl).abs()))
            .map(|(k, _)| k.clone());
        if let Some(k) = weakest.and_then(|k| self.tags.remove_entry(&k)) {
            self.compacted.tags += 1;
            self.compacted.events += k.1.count;
        }
    }
}
