//! One namespace's profile and the embedder that feeds it: the `track` flow of DESIGN.md
//! (embed the item text, through the embedding cache, then fold the event into the stored
//! profile in one store transaction). Platform-free: the store decides where records live.

use crate::error::{AttuneError, Result};
use crate::model::bert::Encoder;
use crate::profile::{Event, Profile};
use crate::store::{CacheKey, Store};

pub struct Session<S: Store> {
    store: S,
    encoder: Encoder,
}

impl<S: Store> Session<S> {
    pub fn new(store: S, encoder: Encoder) -> Self {
        Session { store, encoder }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn encoder(&mut self) -> &mut Encoder {
        &mut self.encoder
    }

    /// The embedding of `text`, from the cache when this model embedded it before.
    pub async fn embed_cached(&mut self, text: &str) -> Result<Vec<f32>> {
        let key = CacheKey::new(self.encoder.model_id(), text);
        if let Some(v) = self.store.cached_embedding(&key).await? {
            return Ok(v);
        }
        let v = self.encoder.embed(&[text]).await?.pop().unwrap_or_default();
        self.store.cache_embedding(&key, &v).await?;
        Ok(v)
    }

    /// Records one event: its text is embedded (cached), then the profile is updated in one
    /// store transaction. On any error the stored profile is unchanged.
    pub async fn track(&mut self, event: &Event, now_ms: i64) -> Result<()> {
        let vector = match event.embed_text() {
            Some(text) if !text.is_empty() => Some(self.embed_cached(text).await?),
            _ => None,
        };
        let model = self.encoder.model_id().to_string();
        self.store
            .update(|p| {
                claim_model(p, &model)?;
                p.apply(event, vector.as_deref(), now_ms)
            })
            .await
    }

    /// Adds an explicit memory ("I am vegetarian") with its embedding; returns its id.
    pub async fn remember(&mut self, text: &str, now_ms: i64) -> Result<String> {
        let vector = self.embed_cached(text).await?;
        let model = self.encoder.model_id().to_string();
        self.store
            .update(|p| {
                claim_model(p, &model)?;
                p.remember(text, Some(&vector), now_ms)
            })
            .await
    }

    pub async fn profile(&self) -> Result<Profile> {
        self.store.load().await
    }
}

/// A profile's vectors all come from one model: the first one to write claims it, and another
/// is refused (its vectors would be meaningless next to the stored ones).
fn claim_model(p: &mut Profile, model: &str) -> Result<()> {
    match &p.model {
        Some(m) if m != model => Err(AttuneError::ModelUnsupported(format!(
            "this profile holds vectors of `{m}`, the embedder is `{model}`; clear or import the profile first"
        ))),
        Some(_) => Ok(()),
        None => {
            p.model = Some(model.to_string());
            Ok(())
        }
    }
}
