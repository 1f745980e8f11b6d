//! One namespace's profile and the embedder that feeds it: the `track` flow of DESIGN.md
//! (embed the item text, through the embedding cache, then fold the event into the stored
//! profile in one store transaction), and the personalization flows the JS API calls: `rank`,
//! `similar`, `topics`, `context` and context-aware chat replies. Platform-free: the store
//! decides where records live.

use crate::assistant::context::{self, Context, ContextOptions};
use crate::assistant::{Assistant, Generation, Reply, ReplyOptions};
use crate::error::{AttuneError, Result};
use crate::model::bert::Encoder;
use crate::model::chat_template::ChatMessage;
use crate::personalize::options::{validate_items, MAX_TEXT_CHARS};
use crate::personalize::topics::topics as label_topics;
use crate::personalize::{self, Candidate, RankOptions, Ranked, SimilarItem, SimilarOptions, Taxonomy, Topic, TopicOptions};
use crate::profile::{Event, Profile};
use crate::store::{CacheKey, Store};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::ops::ControlFlow;

/// What `similar` compares to: a free text, or an item (its text; the item itself is left out
/// of the results). Exactly one of the two.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimilarQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<Candidate>,
}

pub struct Session<S: Store> {
    store: S,
    encoder: Encoder,
    /// Embeddings of the taxonomy's labels by this encoder: computed on the first `topics`
    /// call (a few seconds on a CPU), then kept for the session. Not in the store's embedding
    /// cache: its few hundred entries would push out the item embeddings it is bounded for.
    label_vectors: Option<Vec<Vec<f32>>>,
}

impl<S: Store> Session<S> {
    pub fn new(store: S, encoder: Encoder) -> Self {
        Session { store, encoder, label_vectors: None }
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

    /// One embedding per text, in order: cached ones from the cache, all others in one
    /// batched embed call (each distinct text once), which are then cached.
    pub async fn embed_many(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let model = self.encoder.model_id().to_string();
        let mut out: Vec<Option<Vec<f32>>> = Vec::with_capacity(texts.len());
        let mut missing: Vec<&str> = Vec::new();
        let mut slot: HashMap<&str, usize> = HashMap::new();
        for &t in texts {
            let hit = self.store.cached_embedding(&CacheKey::new(&model, t)).await?;
            if hit.is_none() && !slot.contains_key(t) {
                slot.insert(t, missing.len());
                missing.push(t);
            }
            out.push(hit);
        }
        let fresh = if missing.is_empty() { Vec::new() } else { self.encoder.embed(&missing).await? };
        for (t, v) in missing.iter().zip(&fresh) {
            self.store.cache_embedding(&CacheKey::new(&model, t), v).await?;
        }
        Ok(out
            .into_iter()
            .zip(texts)
            .map(|(hit, t)| hit.unwrap_or_else(|| fresh[slot[t]].clone()))
            .collect())
    }

    /// Embeddings of the items' texts (none for an item without text).
    async fn item_vectors(&mut self, items: &[Candidate]) -> Result<Vec<Option<Vec<f32>>>> {
        let texts: Vec<&str> = items.iter().filter_map(|i| i.text.as_deref()).filter(|t| !t.trim().is_empty()).collect();
        let mut vecs = self.embed_many(&texts).await?.into_iter();
        Ok(items
            .iter()
            .map(|i| i.text.as_deref().filter(|t| !t.trim().is_empty()).and_then(|_| vecs.next()))
            .collect())
    }

    /// The stored profile, refused if its vectors come from another model.
    async fn profile_for_scoring(&self) -> Result<Profile> {
        let p = self.store.load().await?;
        match &p.model {
            Some(m) if m != self.encoder.model_id() => Err(AttuneError::ModelUnsupported(format!(
                "this profile holds vectors of `{m}`, the embedder is `{}`; clear or import the profile first",
                self.encoder.model_id()
            ))),
            _ => Ok(p),
        }
    }

    /// Ranks the page's items for the stored profile (see [`personalize::rank`]).
    pub async fn rank(&mut self, items: &[Candidate], opts: &RankOptions, now_ms: i64) -> Result<Vec<Ranked>> {
        opts.validate()?;
        validate_items(items)?;
        let profile = self.profile_for_scoring().await?;
        let vectors = self.item_vectors(items).await?;
        personalize::rank(&profile, items, &vectors, opts, now_ms)
    }

    /// The items most similar to a text or an item, most similar first.
    pub async fn similar(&mut self, query: &SimilarQuery, items: &[Candidate], opts: &SimilarOptions) -> Result<Vec<SimilarItem>> {
        opts.validate()?;
        validate_items(items)?;
        let (text, exclude) = match (&query.text, &query.item) {
            (Some(t), None) => (t.as_str(), None),
            (None, Some(it)) => (it.text.as_deref().unwrap_or(""), Some(it.id.as_str())),
            _ => return Err(AttuneError::InvalidArgument("similar needs exactly one of `text` and `item`".into())),
        };
        check_query(text)?;
        if text.trim().is_empty() {
            return Err(AttuneError::InvalidArgument("similar needs a text (or an item with text)".into()));
        }
        let q = self.embed_cached(text).await?;
        let vectors = self.item_vectors(items).await?;
        Ok(personalize::similar(&q, items, &vectors, exclude, opts))
    }

    /// The profile's top interests as taxonomy labels.
    pub async fn topics(&mut self, opts: &TopicOptions, now_ms: i64) -> Result<Vec<Topic>> {
        opts.validate()?;
        let profile = self.profile_for_scoring().await?;
        if profile.interests.is_empty() {
            return Ok(Vec::new());
        }
        let labels = self.label_vectors().await?;
        label_topics(&profile, Taxonomy::builtin(), labels, opts, now_ms)
    }

    async fn label_vectors(&mut self) -> Result<&[Vec<f32>]> {
        if self.label_vectors.is_none() {
            let texts = Taxonomy::builtin().embed_texts();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            self.label_vectors = Some(self.encoder.embed(&refs).await?);
        }
        Ok(self.label_vectors.as_deref().unwrap_or_default())
    }

    /// The context block for `query` (empty: no query, most recent facts first) within
    /// `opts.budget` tokens as `count` counts them (the chat model's tokenizer, else
    /// [`context::byte_tokens`]).
    pub async fn context(
        &mut self,
        query: &str,
        opts: &ContextOptions,
        count: &mut dyn FnMut(&str) -> Result<usize>,
        now_ms: i64,
    ) -> Result<Context> {
        opts.validate()?;
        check_query(query)?;
        let profile = self.profile_for_scoring().await?;
        let q = if query.trim().is_empty() { None } else { Some(self.embed_cached(query).await?) };
        let topics = if opts.topics && !profile.interests.is_empty() {
            let t = TopicOptions { limit: opts.max_topics.clamp(1, 100), ..TopicOptions::default() };
            let labels = self.label_vectors().await?;
            label_topics(&profile, Taxonomy::builtin(), labels, &t, now_ms)?
        } else {
            Vec::new()
        };
        context::build(&profile, q.as_deref(), &topics, opts, count, now_ms)
    }

    /// `opts` with the profile's context for the last user message filled in, counted by the
    /// assistant's own tokenizer; unchanged if `use_context` is off or a context is given.
    pub async fn reply_options(&mut self, assistant: &Assistant, messages: &[ChatMessage], opts: &ReplyOptions, now_ms: i64) -> Result<ReplyOptions> {
        let mut opts = opts.clone();
        if !opts.use_context || opts.context.is_some() {
            return Ok(opts);
        }
        let query = messages.iter().rev().find(|m| m.role == "user").map_or("", |m| m.content.as_str());
        let query: String = query.chars().take(MAX_TEXT_CHARS).collect();
        let ctx = self.context(&query, &opts.context_options, &mut |t| assistant.count_tokens(t), now_ms).await?;
        opts.context = Some(ctx.text);
        Ok(opts)
    }

    /// A chat reply with the profile's context in its system prompt (unless opted out).
    pub async fn start_chat(&mut self, assistant: &Assistant, messages: &[ChatMessage], opts: &ReplyOptions, now_ms: i64) -> Result<Generation> {
        let opts = self.reply_options(assistant, messages, opts, now_ms).await?;
        assistant.start_chat(messages, &opts)
    }

    /// As [`start_chat`](Self::start_chat), driven to the end through `on_piece`.
    pub async fn reply(
        &mut self,
        assistant: &mut Assistant,
        messages: &[ChatMessage],
        opts: &ReplyOptions,
        now_ms: i64,
        on_piece: impl FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Reply> {
        let opts = self.reply_options(assistant, messages, opts, now_ms).await?;
        assistant.reply(messages, &opts, on_piece).await
    }
}

fn check_query(text: &str) -> Result<()> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(AttuneError::InputTooLarge(format!("query over {MAX_TEXT_CHARS} characters")));
    }
    Ok(())
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
