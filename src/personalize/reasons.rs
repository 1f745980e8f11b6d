//! Reasons a person can believe, from the scoring parts. The rules:
//! - `seen` ("you liked this"): the user acted on this very item; the verb is the strongest
//!   positive event it got.
//! - `similarTo` ("similar to “…”, which you liked"): the closest item the user acted on, at
//!   cosine ≥ [`SIMILAR_TO_MIN`], that is neither this item (same id) nor a near-duplicate of it
//!   (cosine ≥ [`DUPLICATE_MIN`]); the verb is that item's strongest positive event.
//! - `interest`: close to the interests (≥ [`INTEREST_MIN`]) when no single item is cited.
//! - `tag`: the item's tag with the largest liked affinity (tanh ≥ [`TAG_MIN`]).
//! - `popular`: the page's prior ≥ [`POPULAR_MIN`].
//! - `new`: placed by exploration (always first).
//! - `pageOrder`: only when none of these hold and the profile adds nothing to the item's score,
//!   so its place among such items is the page's own. An item with a weak personal score and
//!   none of the above gets no reason rather than an untrue one.
//!
//! At most [`MAX_REASONS`], strongest first; texts from [`ReasonTexts`].

use super::reason_texts::{event_key, ReasonTexts};
use super::score::{Parts, Signals};
use super::types::{Candidate, Reason, ReasonKind};
use crate::profile::recent::RecentItem;
use crate::profile::EventKind;

/// A liked item is named when the item's cosine to it is at least this.
pub const SIMILAR_TO_MIN: f32 = 0.4;
/// Cosine at or above which two items count as the same one (a re-post, the same text under
/// another id): never cited as a reason for each other. MiniLM puts close paraphrases at
/// 0.8-0.9 and the same text, quantized, above 0.99.
pub const DUPLICATE_MIN: f32 = 0.95;
/// A tag is named when its affinity's tanh is at least this.
pub const TAG_MIN: f32 = 0.2;
/// An interest is named (without an item) when its part is at least this.
pub const INTEREST_MIN: f32 = 0.2;
/// The prior is named when it is at least this.
pub const POPULAR_MIN: f32 = 0.6;
/// Characters of a cited item's title quoted in a reason.
pub const QUOTE_CHARS: usize = 60;
/// Reasons per item at most.
pub const MAX_REASONS: usize = 2;

/// What a reason quotes of a cited item: its first sentence (the title, for items whose text
/// was built from `title` + `summary`), cut at a word to [`QUOTE_CHARS`].
pub fn quote(text: &str) -> String {
    let text = text.trim();
    let first = [". ", "? ", "! "].iter().filter_map(|end| text.find(end).map(|i| i + end.len() - 1)).min();
    let s = first.map_or(text, |i| &text[..i]).trim_end_matches('.').trim();
    if s.chars().count() <= QUOTE_CHARS {
        return s.to_string();
    }
    let cut: String = s.chars().take(QUOTE_CHARS - 1).collect();
    let at_word = cut.rfind(char::is_whitespace).filter(|&i| i >= QUOTE_CHARS / 2).map_or(cut.as_str(), |i| &cut[..i]);
    format!("{}…", at_word.trim_end())
}

/// The strongest positive event an item of the recent list got: its `top_kind`, else (records
/// from before it was kept) its last event when that was positive.
pub fn strongest_event(r: &RecentItem, positive: impl Fn(EventKind) -> bool) -> Option<EventKind> {
    r.top_kind.or(Some(r.last_kind)).filter(|&k| positive(k))
}

pub fn reasons(s: &Signals, item: &Candidate, parts: &Parts, explored: bool, texts: &ReasonTexts) -> Vec<Reason> {
    let plain = |kind: ReasonKind, key: &str| Reason { kind, text: texts.render(key, ""), item_id: None, tag: None, event: None };
    let mut out: Vec<(f32, Reason)> = Vec::new();
    if explored {
        out.push((f32::INFINITY, plain(ReasonKind::New, "new")));
    }
    let weights = &s.profile.config.type_weights;
    let seen = s.profile.recent.get(&item.id).filter(|r| r.negative.is_none()).and_then(|r| strongest_event(r, |k| weights.base(k) > 0.0));
    if let Some(event) = seen {
        out.push((2.0, Reason { event: Some(event), ..plain(ReasonKind::Seen, &event_key("seen", event)) }));
    }
    if let Some((i, sim)) = parts.cited.filter(|&(_, sim)| sim >= SIMILAR_TO_MIN) {
        let liked = &s.liked[i];
        let title = liked.snippet.as_deref().map(quote).filter(|t| !t.is_empty()).unwrap_or_else(|| liked.id.clone());
        out.push((sim, Reason {
            kind: ReasonKind::SimilarTo,
            text: texts.render(&event_key("similarTo", liked.event), &title),
            item_id: Some(liked.id.clone()),
            tag: None,
            event: Some(liked.event),
        }));
    } else if parts.profile.interest >= INTEREST_MIN && seen.is_none() {
        out.push((parts.profile.interest, plain(ReasonKind::Interest, "interest")));
    }
    if let Some(tag) = &parts.profile.top_tag {
        let a = s.profile.tags.affinity(tag, s.now, s.profile.config.half_life_ms).tanh() as f32;
        if a >= TAG_MIN {
            let text = texts.render("tag", tag);
            out.push((a, Reason { kind: ReasonKind::Tag, text, item_id: None, tag: Some(tag.clone()), event: None }));
        }
    }
    if parts.prior >= POPULAR_MIN {
        out.push((parts.prior * 0.5, plain(ReasonKind::Popular, "popular")));
    }
    if out.is_empty() && parts.personal == 0.0 {
        out.push((0.0, plain(ReasonKind::PageOrder, "pageOrder")));
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out.into_iter().take(MAX_REASONS).map(|(_, r)| r).collect()
}
