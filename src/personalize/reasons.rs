//! Reasons a person understands, from the scoring parts: "similar to “…” you liked",
//! "you often read “jazz”", "something new", "popular here". Strongest first, at most three.

use super::score::{Parts, Signals};
use super::types::{Reason, ReasonKind};

/// A liked item is named when the item's cosine to it is at least this.
pub const SIMILAR_TO_MIN: f32 = 0.4;
/// A tag is named when its affinity's tanh is at least this.
pub const TAG_MIN: f32 = 0.2;
/// An interest is named (without an item) when its part is at least this.
pub const INTEREST_MIN: f32 = 0.2;
/// The prior is named when it is at least this.
pub const POPULAR_MIN: f32 = 0.6;
/// Characters of a liked item's text quoted in a reason.
pub const QUOTE_CHARS: usize = 60;

fn shorten(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() <= QUOTE_CHARS {
        return s.to_string();
    }
    let cut: String = s.chars().take(QUOTE_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

pub fn reasons(s: &Signals, parts: &Parts, explored: bool) -> Vec<Reason> {
    let mut out: Vec<(f32, Reason)> = Vec::new();
    if explored {
        out.push((f32::INFINITY, Reason { kind: ReasonKind::New, text: "something new".into(), item_id: None, tag: None }));
    }
    if let Some((i, sim)) = parts.nearest.filter(|&(_, sim)| sim >= SIMILAR_TO_MIN) {
        let liked = &s.liked[i];
        let title = liked.snippet.as_deref().map(shorten).unwrap_or_else(|| liked.id.clone());
        out.push((sim, Reason {
            kind: ReasonKind::SimilarTo,
            text: format!("similar to “{title}” you liked"),
            item_id: Some(liked.id.clone()),
            tag: None,
        }));
    } else if parts.profile.interest >= INTEREST_MIN {
        out.push((parts.profile.interest, Reason {
            kind: ReasonKind::Interest,
            text: "close to your interests".into(),
            item_id: None,
            tag: None,
        }));
    }
    if let Some(tag) = &parts.profile.top_tag {
        let a = s.profile.tags.affinity(tag, s.now, s.profile.config.half_life_ms).tanh() as f32;
        if a >= TAG_MIN {
            out.push((a, Reason { kind: ReasonKind::Tag, text: format!("you often read “{tag}”"), item_id: None, tag: Some(tag.clone()) }));
        }
    }
    if parts.prior >= POPULAR_MIN {
        out.push((parts.prior * 0.5, Reason { kind: ReasonKind::Popular, text: "popular here".into(), item_id: None, tag: None }));
    }
    if out.is_empty() {
        out.push((0.0, Reason { kind: ReasonKind::PageOrder, text: "in the page's order".into(), item_id: None, tag: None }));
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out.into_iter().take(3).map(|(_, r)| r).collect()
}
