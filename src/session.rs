//! One namespace's profile and the embedder that feeds it: the `track` flow (embed the item
//! text, through the embedding cache, then fold the event into the stored
//! profile in one store transaction), and the personalization flows the JS API calls: `rank`,
//! `similar`, `topics`, `context` and context-aware chat replies. Platform-free: the store
//! decides where records live.

use crate::assistant::context::{self, Context, ContextOptions};
use crate::embedding::table::entry_bytes_for;
use crate::embedding::{CacheStats, Catalog, CompactVector, EmbeddingTable, ItemMatrix, KeyMemo};
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

/// Texts embedded per encoder call when a call has many new ones: each batch is cached as one
/// store write, then reported to the caller (progress, cancellation).
pub const EMBED_BATCH: usize = 32;

/// How far a call's embedding has got: `done` of `total` new texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EmbedProgress {
    pub done: usize,
    pub total: usize,
}

/// Told after each embedded batch; `Break` cancels the call (`aborted`), keeping what is cached.
pub type OnProgress<'a> = &'a mut dyn FnMut(EmbedProgress) -> ControlFlow<()>;

/// Whether a call embeds what the caches lack, or ranks the cached items only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Embed,
    Skip,
}

pub struct Session<S: Store> {
    store: S,
    encoder: Encoder,
    /// Embeddings used this session, in front of the store's cache (same budget): a feed ranked
    /// again reads nothing from storage.
    hot: EmbeddingTable,
    /// Precomputed vectors the page loaded, by item id.
    catalog: Catalog,
    /// Cache keys of the texts seen lately.
    keys: KeyMemo,
    /// Embeddings of the taxonomy's labels by this encoder: computed on the first `topics`
    /// call (a few seconds on a CPU), then kept for the session. Not in the store's embedding
    /// cache: its few hundred entries would push out the item embeddings it is bounded for.
    label_vectors: Option<Vec<Vec<f32>>>,
    /// What the last `rank` met: items it could only rank by tags and prior.
    last_rank: RankReport,
}

/// Items of the last `rank` call that had no text (none of `text`, `title`, `name`, `summary`,
/// `description`) and no precomputed vector: `info()` shows it, so such a page is not
/// silently left unpersonalized.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RankReport {
    pub items: usize,
    pub items_without_text: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl RankReport {
    fn of(items: &[Candidate], without: &[usize]) -> Self {
        let warning = without.first().map(|&i| {
            let more = if without.len() > 1 { format!(" and {} more", without.len() - 1) } else { String::new() };
            format!(
                "item {i} ({:?}){more} had no {} and no precomputed vector: ranked by tags and prior only",
                items[i].id,
                crate::profile::item_text::FIELDS
            )
        });
        RankReport { items: items.len(), items_without_text: without.len(), warning }
    }
}

impl<S: Store> Session<S> {
    pub fn new(store: S, encoder: Encoder) -> Self {
        let hot = EmbeddingTable::new(store.embedding_budget());
        let keys = KeyMemo::new(encoder.model_id());
        Session { store, encoder, hot, catalog: Catalog::default(), keys, label_vectors: None, last_rank: RankReport::default() }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn encoder(&mut self) -> &mut Encoder {
        &mut self.encoder
    }

    /// Removes everything of the namespace (the store's profile and embedding cache) and this
    /// session's copies of cached embeddings with it, so texts embedded again are stored again
    /// (a copy kept here would be served without ever refilling the emptied cache).
    pub async fn clear(&mut self) -> Result<()> {
        self.store.clear().await?;
        self.hot.clear();
        Ok(())
    }

    /// The embedding of `text`, from the cache when this model embedded it before. Always the
    /// cached (compact) form's values, so a hit and a miss give the same vector.
    pub async fn embed_cached(&mut self, text: &str) -> Result<Vec<f32>> {
        let mut none = |_| ControlFlow::Continue(());
        let v = self.vectors(&[text], Missing::Embed, &mut none).await?.pop().flatten();
        v.map(|c| c.decode()).ok_or_else(|| AttuneError::InvalidArgument("nothing to embed".into()))
    }

    /// One compact embedding per text, in order: from this session's table, else the store's
    /// cache (one read for the whole call), else (with [`Missing::Embed`]) embedded in batches
    /// of [`EMBED_BATCH`] distinct texts, each batch cached in one write and then reported to
    /// `progress`. With [`Missing::Skip`] the texts found nowhere are `None`.
    pub async fn vectors(&mut self, texts: &[&str], missing: Missing, progress: OnProgress<'_>) -> Result<Vec<Option<CompactVector>>> {
        let keys = self.fill(texts, missing, progress).await?;
        Ok(keys.iter().map(|k| self.hot.get(k).cloned()).collect())
    }

    /// Brings the embeddings of `texts` into this session's table as [`vectors`](Self::vectors)
    /// describes; returns their keys.
    async fn fill(&mut self, texts: &[&str], missing: Missing, progress: OnProgress<'_>) -> Result<Vec<CacheKey>> {
        let keys: Vec<CacheKey> = texts.iter().map(|t| self.keys.key(t)).collect();
        let cold: Vec<CacheKey> = keys.iter().filter(|k| !self.hot.contains(k)).copied().collect();
        if !cold.is_empty() {
            for (k, v) in cold.iter().zip(self.store.embeddings(&cold).await?) {
                if let Some(v) = v {
                    self.hot.put(*k, v);
                }
            }
        }
        if missing == Missing::Embed {
            let mut seen = std::collections::HashSet::new();
            let todo: Vec<(CacheKey, &str)> =
                keys.iter().zip(texts).filter(|(k, _)| !self.hot.contains(k) && seen.insert(**k)).map(|(k, t)| (*k, *t)).collect();
            for (n, batch) in todo.chunks(EMBED_BATCH).enumerate() {
                let refs: Vec<&str> = batch.iter().map(|(_, t)| *t).collect();
                let fresh = self.encoder.embed(&refs).await?;
                let entries: Vec<(CacheKey, CompactVector)> =
                    batch.iter().zip(&fresh).map(|((k, _), v)| Ok((*k, CompactVector::encode(v)?))).collect::<Result<_>>()?;
                self.store.put_embeddings(&entries).await?;
                for (k, v) in entries {
                    self.hot.put(k, v);
                }
                let done = (n * EMBED_BATCH + batch.len()).min(todo.len());
                if progress(EmbedProgress { done, total: todo.len() }).is_break() && done < todo.len() {
                    return Err(AttuneError::Aborted(format!("cancelled after embedding {done} of {} new texts", todo.len())));
                }
            }
        }
        Ok(keys)
    }

    /// Loads a precomputed vector file ([`Catalog`]) of this embedder; its vectors serve those
    /// item ids from now on (a later file's ids replace earlier ones). Returns the ids loaded.
    pub fn add_vectors(&mut self, file: &[u8]) -> Result<usize> {
        let c = Catalog::read(file, self.encoder.model_id())?;
        if c.dim() != self.encoder.dim() {
            return Err(AttuneError::ModelUnsupported(format!("vectors of {} values, the embedder makes {}", c.dim(), self.encoder.dim())));
        }
        let n = c.len();
        self.catalog.merge(c)?;
        Ok(n)
    }

    /// The embedding cache as `info()` shows it: the store's entries, their bytes, the budget,
    /// and the precomputed vectors loaded.
    pub async fn cache_stats(&self) -> Result<(CacheStats, usize)> {
        let entries = self.store.embedding_count().await?;
        let stats = CacheStats { entries, bytes: entries * entry_bytes_for(self.encoder.dim()), budget_bytes: self.store.embedding_budget() };
        Ok((stats, self.catalog.len()))
    }

    /// What the last `rank` call met (items without text), for `info()`.
    pub fn last_rank(&self) -> &RankReport {
        &self.last_rank
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

    /// The items' vectors: a precomputed one for the id if the page loaded one, else the
    /// embedding of its text (see [`vectors`](Self::vectors)); none for an item with neither.
    async fn item_matrix(&mut self, items: &[Candidate], missing: Missing, progress: OnProgress<'_>) -> Result<ItemMatrix> {
        let needs_text: Vec<bool> = items.iter().map(|i| self.catalog.get(&i.id).is_none() && item_text(i).is_some()).collect();
        let texts: Vec<&str> = items.iter().zip(&needs_text).filter(|(_, n)| **n).filter_map(|(i, _)| item_text(i)).collect();
        let mut keys = self.fill(&texts, missing, progress).await?.into_iter();
        // Rows are copied straight from the tables into the matrix (no vector cloned per item).
        let mut m = ItemMatrix::default();
        for (i, &n) in items.iter().zip(&needs_text) {
            let v = if n { keys.next().and_then(|k| self.hot.get(&k)) } else { self.catalog.get(&i.id) };
            m.push(v)?;
        }
        Ok(m)
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
        self.rank_with(items, opts, now_ms, &mut |_| ControlFlow::Continue(())).await
    }

    /// [`rank`](Self::rank) telling `progress` how the embedding of new texts goes (and
    /// cancellable through it). With `opts.cached_only`, items whose text is not cached yet are
    /// ranked without their vector (and marked `pending`) instead of embedded.
    pub async fn rank_with(&mut self, items: &[Candidate], opts: &RankOptions, now_ms: i64, progress: OnProgress<'_>) -> Result<Vec<Ranked>> {
        opts.validate()?;
        validate_items(items)?;
        let profile = self.profile_for_scoring().await?;
        let missing = if opts.cached_only { Missing::Skip } else { Missing::Embed };
        let vectors = self.item_matrix(items, missing, progress).await?;
        let mut ranked = personalize::rank(&profile, items, &vectors, opts, now_ms)?;
        for r in &mut ranked {
            r.pending = vectors.row(r.index).is_none() && item_text(&items[r.index]).is_some();
            r.no_text = item_text(&items[r.index]).is_none() && self.catalog.get(&r.id).is_none();
        }
        let without: Vec<usize> = (0..items.len()).filter(|&i| item_text(&items[i]).is_none() && self.catalog.get(&items[i].id).is_none()).collect();
        self.last_rank = RankReport::of(items, &without);
        Ok(ranked)
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
        let vectors = self.item_matrix(items, Missing::Embed, &mut |_| ControlFlow::Continue(())).await?;
        personalize::similar(&q, items, &vectors, exclude, opts)
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

/// The text of an item that gets embedded (none when empty or blank).
fn item_text(i: &Candidate) -> Option<&str> {
    i.text.as_deref().filter(|t| !t.trim().is_empty())
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
