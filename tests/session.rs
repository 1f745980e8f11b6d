//! `Session::track`: real embeddings through the cache into the stored profile.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use attune::profile::{Event, EventKind, Item};
use attune::session::{Missing, Session};
use std::ops::ControlFlow;
use attune::store::{CacheKey, MemoryStore, Store};
use common::encoder;

const DAY: i64 = 86_400_000;

fn like(id: &str, text: &str) -> Event {
    Event::new(EventKind::Like, Item::new(id).with_text(text))
}

#[test]
fn track_embeds_through_the_cache_and_updates_the_profile() {
    pollster::block_on(async {
        let enc = encoder("q8_0");
        let model_id = enc.model_id().to_string();
        let mut s = Session::new(MemoryStore::new("test").unwrap(), enc);
        let text = "A long gravel ride through the hills on my new bike";
        s.track(&like("ride", text), DAY).await.unwrap();
        assert!(s.store().embeddings(&[CacheKey::new(&model_id, text)]).await.unwrap()[0].is_some());
        s.track(&like("jazz", "The saxophonist's solo at the jazz club was superb"), DAY).await.unwrap();

        let p = s.profile().await.unwrap();
        assert!(!p.interest_weights(DAY).is_empty());
        let bike = s.embed_cached("Tips for cycling up steep climbs").await.unwrap();
        let tax = s.embed_cached("How to file a corporate tax return").await.unwrap();
        let (sb, st) = (p.score(Some(&bike), &[], None, DAY), p.score(Some(&tax), &[], None, DAY));
        assert!(sb.total > st.total, "cycling {} should beat taxes {}", sb.total, st.total);
    });
}

#[test]
fn a_refused_event_leaves_the_stored_profile_unchanged() {
    pollster::block_on(async {
        let mut s = Session::new(MemoryStore::new("test").unwrap(), encoder("q8_0"));
        s.track(&like("a", "Fresh pasta with basil"), DAY).await.unwrap();
        let before = s.store().export(DAY).await.unwrap();
        let err = s.track(&like("", "no id"), DAY).await.unwrap_err();
        assert_eq!(err.code(), "invalid_argument");
        assert_eq!(s.store().export(DAY).await.unwrap(), before);
    });
}

#[test]
fn a_profile_built_by_another_model_is_not_mixed() {
    pollster::block_on(async {
        let store = MemoryStore::new("test").unwrap();
        store.update(|p| {
            p.model = Some("some-other-model/768".into());
            Ok(())
        }).await.unwrap();
        let mut s = Session::new(store, encoder("q8_0"));
        let err = s.track(&like("a", "Fresh pasta with basil"), DAY).await.unwrap_err();
        assert_eq!(err.code(), "model_unsupported");
    });
}

// After `clear`, texts met again are embedded from this session's memory no more: they go back
// into the emptied store, so the next visit finds them cached.
#[test]
fn clear_empties_the_session_copies_so_the_cache_refills() {
    pollster::block_on(async {
        let mut s = Session::new(MemoryStore::new("test").unwrap(), encoder("q8_0"));
        let texts = ["Fresh pasta with basil", "A night of jazz in the old town", "Gravel bikes for long rides"];
        s.vectors(&texts, Missing::Embed, &mut |_| ControlFlow::Continue(())).await.unwrap();
        assert_eq!(s.store().embedding_count().await.unwrap(), 3);
        s.clear().await.unwrap();
        assert_eq!(s.store().embedding_count().await.unwrap(), 0);
        s.vectors(&texts, Missing::Embed, &mut |_| ControlFlow::Continue(())).await.unwrap();
        assert_eq!(s.store().embedding_count().await.unwrap(), 3);
    });
}
