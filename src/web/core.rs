//! `AttuneCore` for JavaScript: the SDK core of one namespace (IndexedDB profile store, session,
//! embedder). The JS glue (pkg-template/) runs it in a worker or in the page, queues calls so
//! one runs at a time, and passes arguments as JSON text checked by `args`. Results that are
//! objects come back as JSON text; vectors as Float32Arrays.

use super::args::{self, ForgetArgs, TrackArgs};
use super::error::to_js;
use super::profile_view;
use crate::assistant::context::{byte_tokens, ContextOptions};
use crate::compute::device::{DeviceChoice, DeviceReport};
use crate::error::{AttuneError, Result};
use crate::model::bert::Encoder;
use crate::personalize::{Candidate, RankOptions, SimilarOptions, TopicOptions};
use crate::session::{RankReport, Session};
use crate::embedding::CacheStats;
use crate::session::EmbedProgress;
use super::web_store::{StorageChoice, WebStore};
use crate::store::Store;
use std::ops::ControlFlow;
use js_sys::{Array, Float32Array};
use serde::Serialize;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use wasm_bindgen::prelude::*;

type Shared = Rc<RefCell<Option<Session<WebStore>>>>;

#[wasm_bindgen]
pub struct AttuneCore {
    // Shared with the futures of pending calls; `None` once closed. A call made while another
    // holds it is refused (`busy`): the glue queues calls, so this is a guard, not the plan.
    inner: Shared,
    namespace: String,
    model_bytes: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Info<'a> {
    namespace: &'a str,
    backend: &'a str,
    /// What runs the embedder and why (the fallback reason when `auto` or a lost GPU
    /// moved it to the CPU).
    device: &'a DeviceReport,
    embedder: ModelInfo<'a>,
    storage: StorageInfo,
    /// The last `rank` call's items without text (a warning when there were any).
    ranking: RankReport,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ModelInfo<'a> {
    id: &'a str,
    name: &'a str,
    dim: usize,
    bytes: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StorageInfo {
    /// `"indexeddb"`, or `"memory"` (nothing persists) with `why`.
    backend: &'static str,
    persistent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    why: Option<String>,
    /// Bytes of the stored profile record of this namespace.
    profile_bytes: usize,
    /// The embedding cache: entries, their bytes (estimated from the vector width), the budget.
    cache_entries: usize,
    cache_bytes: usize,
    cache_budget_bytes: usize,
    /// Item ids with precomputed vectors loaded by `addVectors` (kept in memory).
    precomputed_vectors: usize,
    /// Bytes of the profile record that could not be read (`exportCorrupt`), 0 if none.
    corrupt_bytes: usize,
}

fn now() -> i64 {
    js_sys::Date::now() as i64
}

/// Smallest and largest embedding cache budget `open` accepts (`embeddingCache.maxBytes`).
const MIN_CACHE_BUDGET: f64 = 64.0 * 1024.0;
const MAX_CACHE_BUDGET: f64 = 1024.0 * 1024.0 * 1024.0;

fn cache_budget_bytes(bytes: Option<f64>) -> Result<usize> {
    match bytes {
        None => Ok(crate::embedding::DEFAULT_BUDGET_BYTES),
        Some(b) if b.is_finite() && b.fract() == 0.0 && (MIN_CACHE_BUDGET..=MAX_CACHE_BUDGET).contains(&b) => Ok(b as usize),
        Some(b) => Err(AttuneError::InvalidArgument(format!(
            "embeddingCache.maxBytes {b} is not a whole number of bytes in {MIN_CACHE_BUDGET}..={MAX_CACHE_BUDGET}"
        ))),
    }
}

fn closed() -> AttuneError {
    AttuneError::StorageUnavailable("this Attune instance is closed".into())
}

fn busy() -> AttuneError {
    AttuneError::Busy("another call on this Attune instance has not finished".into())
}

fn json<T: Serialize>(v: &T) -> Result<JsValue> {
    serde_json::to_string(v)
        .map(|s| JsValue::from_str(&s))
        .map_err(|e| AttuneError::InvalidArgument(format!("result not representable as JSON: {e}")))
}

/// Runs `f` on the open session, refusing when closed or busy.
async fn with_session<R>(
    inner: &Shared,
    f: impl AsyncFnOnce(&mut Session<WebStore>) -> Result<R>,
) -> Result<R> {
    let mut guard = inner.try_borrow_mut().map_err(|_| busy())?;
    let session = guard.as_mut().ok_or_else(closed)?;
    f(session).await
}

#[wasm_bindgen]
impl AttuneCore {
    /// Opens (creating) the namespace's store and loads the embedder from GGUF bytes onto
    /// `device` ("auto", "gpu" or "cpu"; see `compute::device`).
    /// `cache_budget` is the embedding cache's byte budget (`None`: the default); `storage` is
    /// "auto" (IndexedDB, else memory), "indexeddb" or "memory" (see `web_store`).
    pub async fn open(namespace: String, embedder: Vec<u8>, device: String, cache_budget: Option<f64>, storage: String) -> Result<AttuneCore, JsValue> {
        let model_bytes = embedder.len();
        let choice: DeviceChoice = device.parse().map_err(to_js)?;
        let storage: StorageChoice = storage.parse().map_err(to_js)?;
        let budget = cache_budget_bytes(cache_budget).map_err(to_js)?;
        let encoder = Encoder::load_on(Arc::new(embedder), choice).await.map_err(to_js)?;
        let store = WebStore::open(&namespace, storage, budget).await.map_err(to_js)?;
        Ok(AttuneCore { inner: Rc::new(RefCell::new(Some(Session::new(store, encoder)))), namespace, model_bytes })
    }

    /// The compute devices this build can run the embedder on (the GPU needs WebGPU too,
    /// which `open` finds out).
    pub fn devices() -> Vec<String> {
        vec!["cpu".to_string(), "gpu".to_string()]
    }

    /// Records an event: `{"type":"click","item":{"id":…,"text":…,"tags":[…]},…}`.
    pub async fn track(&self, event_json: String) -> Result<(), JsValue> {
        let event = args::parse::<TrackArgs>(&event_json, "track(event)").and_then(TrackArgs::into_event).map_err(to_js)?;
        with_session(&self.inner, async |s| s.track(&event, now()).await).await.map_err(to_js)
    }

    /// Adds an explicit memory (a JSON string); resolves to its id.
    pub async fn remember(&self, text_json: String) -> Result<String, JsValue> {
        let text = args::memory_text(&text_json).map_err(to_js)?;
        with_session(&self.inner, async |s| s.remember(&text, now()).await).await.map_err(to_js)
    }

    /// Forgets an item, a tag, a memory or a time range; resolves to the report as JSON
    /// (`{"removed":n,"exact":bool}`).
    pub async fn forget(&self, what_json: String) -> Result<JsValue, JsValue> {
        let what = args::parse::<ForgetArgs>(&what_json, "forget(what)").and_then(ForgetArgs::into_forget).map_err(to_js)?;
        let report = with_session(&self.inner, async |s| s.store().update(|p| Ok(p.forget(&what))).await)
            .await
            .map_err(to_js)?;
        json(&report).map_err(to_js)
    }

    /// The profile as a readable summary (JSON, see `profile_view`).
    pub async fn profile(&self) -> Result<JsValue, JsValue> {
        let p = with_session(&self.inner, async |s| s.profile().await).await.map_err(to_js)?;
        json(&profile_view::view(&p, now())).map_err(to_js)
    }

    /// The export document (docs/profile-format.md).
    pub async fn export(&self) -> Result<String, JsValue> {
        with_session(&self.inner, async |s| s.store().export(now()).await).await.map_err(to_js)
    }

    /// Replaces the stored profile by an export document, all or nothing.
    pub async fn import(&self, document: String) -> Result<(), JsValue> {
        with_session(&self.inner, async |s| s.store().import(&document).await).await.map_err(to_js)
    }

    /// Removes everything of the namespace (profile and embedding cache); a profile record
    /// that cannot be read is set aside instead (`exportCorrupt`).
    pub async fn clear(&self) -> Result<(), JsValue> {
        with_session(&self.inner, async |s| s.clear().await).await.map_err(to_js)
    }

    /// The stored profile record that could not be read (`corrupt_record`, `version_too_new`),
    /// as stored: the current one, else the copy `clear` set aside; `null` if none.
    #[wasm_bindgen(js_name = exportCorrupt)]
    pub async fn export_corrupt(&self) -> Result<Option<String>, JsValue> {
        with_session(&self.inner, async |s| s.store().unreadable().await).await.map_err(to_js)
    }

    /// Deletes the copy `clear` set aside; resolves to whether there was one.
    #[wasm_bindgen(js_name = discardCorrupt)]
    pub async fn discard_corrupt(&self) -> Result<bool, JsValue> {
        with_session(&self.inner, async |s| s.store().discard_unreadable().await).await.map_err(to_js)
    }

    /// Embeds a JSON array of texts; resolves to an array of unit-length Float32Arrays.
    pub async fn embed(&self, texts_json: String) -> Result<Array, JsValue> {
        let texts = args::embed_texts(&texts_json).map_err(to_js)?;
        let vectors = with_session(&self.inner, async |s| {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            s.encoder().embed(&refs).await
        })
        .await
        .map_err(to_js)?;
        Ok(vectors.iter().map(|v| JsValue::from(Float32Array::from(v.as_slice()))).collect())
    }

    /// Ranks items (`[{id, text?, title?, name?, summary?, description?, tags?, prior?}]`) for
    /// the profile: JSON `[{id, index, score, explored, pending?, noText?, reasons: [{kind, text,
    /// itemId?, tag?, event?}]}]`, best
    /// first. `on_progress(done, total)` is called after each batch of new texts embedded; a
    /// truthy return cancels the call (`aborted`; what was embedded stays cached).
    pub async fn rank(&self, items_json: String, options_json: String, on_progress: Option<js_sys::Function>) -> Result<JsValue, JsValue> {
        let items: Vec<Candidate> = args::parse(&items_json, "rank(items)").map_err(to_js)?;
        let opts: RankOptions = args::options(&options_json, "rank(options)").map_err(to_js)?;
        let mut progress = |p: EmbedProgress| match &on_progress {
            Some(f) if f.call2(&JsValue::NULL, &p.done.into(), &p.total.into()).is_ok_and(|r| r.is_truthy()) => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        };
        let ranked =
            with_session(&self.inner, async |s| s.rank_with(&items, &opts, now(), &mut progress).await).await.map_err(to_js)?;
        json(&ranked).map_err(to_js)
    }

    /// Loads a precomputed vector file (`attune catalog`) of this embedder; resolves to the
    /// number of item ids it holds. Those items are ranked by these vectors from now on.
    #[wasm_bindgen(js_name = addVectors)]
    pub async fn add_vectors(&self, file: Vec<u8>) -> Result<u32, JsValue> {
        with_session(&self.inner, async |s| s.add_vectors(&file).map(|n| n as u32)).await.map_err(to_js)
    }

    /// The items most similar to a text or an item: JSON `[{id, index, similarity}]`.
    pub async fn similar(&self, query_json: String, items_json: String, options_json: String) -> Result<JsValue, JsValue> {
        let query = args::similar_query(&query_json).map_err(to_js)?;
        let items: Vec<Candidate> = args::parse(&items_json, "similar(items)").map_err(to_js)?;
        let opts: SimilarOptions = args::options(&options_json, "similar(options)").map_err(to_js)?;
        let found = with_session(&self.inner, async |s| s.similar(&query, &items, &opts).await).await.map_err(to_js)?;
        json(&found).map_err(to_js)
    }

    /// The profile's top interests as taxonomy labels: JSON `[{label, parent, weight, similarity}]`.
    pub async fn topics(&self, options_json: String) -> Result<JsValue, JsValue> {
        let opts: TopicOptions = args::options(&options_json, "topics(options)").map_err(to_js)?;
        let topics = with_session(&self.inner, async |s| s.topics(&opts, now()).await).await.map_err(to_js)?;
        json(&topics).map_err(to_js)
    }

    /// The context block for a query within `options.maxTokens`. Tokens are counted by
    /// `count_tokens(text) → number` when given (the chat model's tokenizer), else as UTF-8
    /// bytes, which no byte-level BPE exceeds. JSON `{text, tokens, memories, topics, tags, items}`.
    pub async fn context(&self, query_json: String, options_json: String, count_tokens: Option<js_sys::Function>) -> Result<JsValue, JsValue> {
        let query: String = args::parse(&query_json, "context(query)").map_err(to_js)?;
        let opts: ContextOptions = args::options(&options_json, "context(options)").map_err(to_js)?;
        let mut count = |t: &str| -> Result<usize> {
            match &count_tokens {
                None => byte_tokens(t),
                Some(f) => f
                    .call1(&JsValue::NULL, &JsValue::from_str(t))
                    .ok()
                    .and_then(|n| n.as_f64())
                    .filter(|n| n.is_finite() && *n >= 0.0)
                    .map(|n| n as usize)
                    .ok_or_else(|| AttuneError::InvalidArgument("the token counter did not return a count".into())),
            }
        };
        let ctx = with_session(&self.inner, async |s| s.context(&query, &opts, &mut count, now()).await).await.map_err(to_js)?;
        json(&ctx).map_err(to_js)
    }

    /// Backend, embedder id and size, and this namespace's stored bytes, as JSON.
    pub async fn info(&self) -> Result<JsValue, JsValue> {
        let (ns, model_bytes) = (self.namespace.clone(), self.model_bytes);
        with_session(&self.inner, async |s| {
            let profile_bytes = s.store().profile_bytes().await?;
            let (backend, why) = s.store().kind();
            let why = why.map(str::to_string);
            let (cache, precomputed_vectors): (CacheStats, usize) = s.cache_stats().await?;
            let corrupt_bytes = s.store().unreadable().await?.map_or(0, |r| r.len());
            let ranking = s.last_rank().clone();
            let enc = s.encoder();
            json(&Info {
                namespace: &ns,
                backend: enc.backend_name(),
                device: enc.device(),
                embedder: ModelInfo { id: enc.model_id(), name: enc.model_name(), dim: enc.dim(), bytes: model_bytes },
                storage: StorageInfo {
                    backend,
                    persistent: why.is_none(),
                    why,
                    profile_bytes,
                    cache_entries: cache.entries,
                    cache_bytes: cache.bytes,
                    cache_budget_bytes: cache.budget_bytes,
                    precomputed_vectors,
                    corrupt_bytes,
                },
                ranking,
            })
        })
        .await
        .map_err(to_js)
    }

    /// Closes the store connection; later calls fail. The stored data stays.
    pub fn close(&self) -> Result<(), JsValue> {
        let mut guard = self.inner.try_borrow_mut().map_err(|_| to_js(busy()))?;
        if let Some(s) = guard.take() {
            s.store().close();
        }
        Ok(())
    }
}
