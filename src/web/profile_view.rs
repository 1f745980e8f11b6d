//! What `profile()` shows a page: the profile as a person would read it (interests with their
//! weights now and the items behind them, tags, recent items, memories, counts), without the
//! raw vectors. The full stored form is what `export()` gives.

use crate::profile::{EventKind, Profile};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    pub model: Option<String>,
    pub interests: Vec<InterestView>,
    /// Disliked, dismissed or hidden areas (weights now).
    pub negatives: Vec<InterestView>,
    pub tags: Vec<TagView>,
    pub recent: Vec<RecentView>,
    pub hidden: Vec<String>,
    pub memories: Vec<MemoryView>,
    pub stats: StatsView,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InterestView {
    pub id: u32,
    pub weight: f64,
    pub events: u64,
    pub first_at: i64,
    pub last_at: i64,
    /// Ids of recent items that fed this interest (newest first).
    pub items: Vec<String>,
}

#[derive(Serialize)]
pub struct TagView {
    pub tag: String,
    pub affinity: f64,
    pub events: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentView {
    pub id: String,
    pub last_type: EventKind,
    pub events: u32,
    pub last_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub tags: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryView {
    pub id: String,
    pub text: String,
    pub created_at: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsView {
    pub events: u64,
    pub by_type: BTreeMap<EventKind, u64>,
    pub first_at: Option<i64>,
    pub last_at: Option<i64>,
    /// Stored size of the profile (compact JSON bytes).
    pub bytes: usize,
}

/// The view of `p` with decayed weights as of `now`, heaviest first.
pub fn view(p: &Profile, now: i64) -> ProfileView {
    let hl = p.config.half_life_ms;
    // Newest first, so `items` lists the latest evidence first.
    let recent: Vec<_> = p.recent.items.iter().rev().collect();
    let centroids = |set: &crate::profile::interests::CentroidSet, negative: bool| {
        let mut v: Vec<InterestView> = set
            .centroids
            .iter()
            .map(|c| InterestView {
                id: c.id,
                weight: c.weight.at(now, hl),
                events: c.count,
                first_at: c.first_ms,
                last_at: c.last_ms,
                items: recent
                    .iter()
                    .filter(|r| if negative { r.negative } else { r.interest }.is_some_and(|s| s.centroid == c.id))
                    .map(|r| r.id.clone())
                    .collect(),
            })
            .collect();
        v.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        v
    };
    let mut tags: Vec<TagView> = p
        .tags
        .tags
        .iter()
        .map(|(t, e)| TagView { tag: t.clone(), affinity: e.affinity.at(now, hl), events: e.count })
        .collect();
    tags.sort_by(|a, b| b.affinity.total_cmp(&a.affinity));
    ProfileView {
        model: p.model.clone(),
        interests: centroids(&p.interests, false),
        negatives: centroids(&p.negatives, true),
        tags,
        recent: recent
            .iter()
            .map(|r| RecentView {
                id: r.id.clone(),
                last_type: r.last_kind,
                events: r.events,
                last_at: r.last_ms,
                text: r.snippet.clone(),
                tags: r.tags.clone(),
            })
            .collect(),
        hidden: p.hidden.items.iter().map(|h| h.id.clone()).collect(),
        memories: p
            .memories
            .items
            .iter()
            .map(|m| MemoryView { id: m.id.clone(), text: m.text.clone(), created_at: m.created_ms })
            .collect(),
        stats: StatsView {
            events: p.stats.events,
            by_type: p.stats.by_kind.clone(),
            first_at: p.stats.first_ms,
            last_at: p.stats.last_ms,
            bytes: p.serialized_len(),
        },
    }
}
