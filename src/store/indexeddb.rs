//! The browser store: one IndexedDB database per namespace (`attune:<namespace>`), one object
//! store `records` holding the versioned profile and embedding-cache records (see
//! `store::record`). Each change is one `readwrite` transaction that reads the record and
//! writes it back, so two tabs (or two connections) never lose each other's updates, and a tab
//! closed mid-write leaves the last committed profile. After a commit, other tabs of the origin
//! hear of it on the BroadcastChannel `attune:<namespace>`.
//!
//! Raw `web-sys` bindings (no wrapper crate): a request or transaction becomes a Promise that
//! settles from its events; awaiting it keeps the transaction active, since the continuation
//! runs in the microtask checkpoint of the success event.

use super::record::{self, EMBEDDINGS, PROFILE};
use super::{CacheKey, Store};
use crate::error::{AttuneError, Result};
use crate::profile::Profile;
use js_sys::{Function, Promise, Reflect};
use std::cell::RefCell;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    BroadcastChannel, DomException, IdbDatabase, IdbFactory, IdbObjectStore, IdbOpenDbRequest, IdbRequest,
    IdbTransaction, IdbTransactionMode, MessageEvent,
};

/// Version of the database layout (object stores), distinct from the record format version.
/// 1: one object store `records`, out-of-line string keys.
pub const DB_VERSION: u32 = 1;
const RECORDS: &str = "records";

pub fn database_name(namespace: &str) -> String {
    format!("attune:{namespace}")
}

pub struct IndexedDbStore {
    namespace: String,
    db: IdbDatabase,
    channel: Option<BroadcastChannel>,
    /// Test hook: raise this DOMException (by name) inside the next write transactions.
    inject: RefCell<Option<String>>,
}

/// A DOMException (or anything thrown) → the crate's error, by the exception's name.
pub fn map_js_error(v: &JsValue, what: &str) -> AttuneError {
    let (name, msg) = match v.dyn_ref::<DomException>() {
        Some(d) => (d.name(), d.message()),
        None => (String::new(), v.as_string().unwrap_or_else(|| format!("{v:?}"))),
    };
    let text = format!("{what}: {name} {msg}");
    match name.as_str() {
        "QuotaExceededError" => AttuneError::QuotaExceeded(text),
        "VersionError" => AttuneError::VersionTooNew(text),
        "DataError" | "DataCloneError" => AttuneError::CorruptRecord(text),
        _ => AttuneError::StorageUnavailable(text),
    }
}

/// Settles with the request's result, or rejects with its error.
async fn request(req: &IdbRequest) -> std::result::Result<JsValue, JsValue> {
    let mut exec = |resolve: Function, reject: Function| {
        let r = req.clone();
        let ok = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call1(&JsValue::UNDEFINED, &r.result().unwrap_or(JsValue::UNDEFINED));
        });
        let r = req.clone();
        let err = Closure::once_into_js(move |_: web_sys::Event| {
            let e = r.error().ok().flatten().map(JsValue::from).unwrap_or_else(|| "request failed".into());
            let _ = reject.call1(&JsValue::UNDEFINED, &e);
        });
        req.set_onsuccess(Some(ok.unchecked_ref()));
        req.set_onerror(Some(err.unchecked_ref()));
    };
    JsFuture::from(Promise::new(&mut exec)).await
}

/// A promise that settles when the transaction commits (or rejects when it aborts). Create it
/// right after the transaction so no event is missed.
fn done(tx: &IdbTransaction) -> Promise {
    let mut exec = |resolve: Function, reject: Function| {
        let ok = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        });
        let t = tx.clone();
        let fail = Closure::once_into_js(move |_: web_sys::Event| {
            let e = t.error().map(JsValue::from).unwrap_or_else(|| DomException::new_with_message_and_name("transaction aborted", "AbortError").map(JsValue::from).unwrap_or(JsValue::NULL));
            let _ = reject.call1(&JsValue::UNDEFINED, &e);
        });
        tx.set_oncomplete(Some(ok.unchecked_ref()));
        tx.set_onabort(Some(fail.unchecked_ref()));
    };
    Promise::new(&mut exec)
}

/// The record as a string, `None` if absent; anything else stored there is corrupt.
fn as_record(v: JsValue, name: &str) -> Result<Option<String>> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_string().map(Some).ok_or_else(|| AttuneError::CorruptRecord(format!("{name}: not a string record")))
}

/// The IndexedDB factory of this global (window or worker), if it has one.
fn factory() -> Result<IdbFactory> {
    let f = Reflect::get(&js_sys::global(), &"indexedDB".into())
        .map_err(|e| map_js_error(&e, "indexedDB"))?;
    f.dyn_into::<IdbFactory>().map_err(|_| AttuneError::StorageUnavailable("this context has no IndexedDB".into()))
}

/// Creates or upgrades the object stores from `old` to [`DB_VERSION`].
fn upgrade(db: &IdbDatabase, old: u32) -> std::result::Result<(), JsValue> {
    if old < 1 && !db.object_store_names().contains(RECORDS) {
        db.create_object_store(RECORDS)?;
    }
    Ok(())
}

impl IndexedDbStore {
    /// Opens (creating or upgrading) the namespace's database.
    pub async fn open(namespace: &str) -> Result<Self> {
        record::check_namespace(namespace)?;
        let name = database_name(namespace);
        let req: IdbOpenDbRequest =
            factory()?.open_with_u32(&name, DB_VERSION).map_err(|e| map_js_error(&e, "open"))?;
        let r = req.clone();
        let on_upgrade = Closure::once_into_js(move |e: web_sys::IdbVersionChangeEvent| {
            if let Ok(db) = r.result().and_then(|d| d.dyn_into::<IdbDatabase>().map_err(JsValue::from)) {
                if upgrade(&db, e.old_version() as u32).is_err() {
                    if let Some(tx) = r.transaction() {
                        let _ = tx.abort();
                    }
                }
            }
        });
        req.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
        let mut blocked_exec = |_resolve: Function, reject: Function| {
            let f = Closure::once_into_js(move |_: web_sys::Event| {
                let e = DomException::new_with_message_and_name("another tab holds an older version open", "InvalidStateError")
                    .map(JsValue::from)
                    .unwrap_or(JsValue::NULL);
                let _ = reject.call1(&JsValue::UNDEFINED, &e);
            });
            req.set_onblocked(Some(f.unchecked_ref()));
        };
        let blocked = Promise::new(&mut blocked_exec);
        let opened = Promise::resolve(&wasm_bindgen_futures::future_to_promise({
            let req: IdbRequest = req.clone().unchecked_into();
            async move { request(&req).await }
        }));
        let db = JsFuture::from(Promise::race(&js_sys::Array::of2(&opened, &blocked)))
            .await
            .map_err(|e| map_js_error(&e, "open"))?
            .dyn_into::<IdbDatabase>()
            .map_err(|_| AttuneError::StorageUnavailable("open gave no database".into()))?;
        // A newer SDK in another tab wants to upgrade: step aside (later calls report
        // storage_unavailable until the page reloads).
        let d = db.clone();
        let on_vc = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| d.close());
        db.set_onversionchange(Some(on_vc.as_ref().unchecked_ref()));
        on_vc.forget();
        let channel = BroadcastChannel::new(&name).ok();
        Ok(IndexedDbStore { namespace: namespace.to_string(), db, channel, inject: RefCell::new(None) })
    }

    /// Closes the connection (the data stays).
    pub fn close(&self) {
        self.db.close();
        if let Some(c) = &self.channel {
            c.close();
        }
    }

    /// Deletes the namespace's whole database (close every connection first).
    pub async fn delete_database(namespace: &str) -> Result<()> {
        record::check_namespace(namespace)?;
        let req = factory()?.delete_database(&database_name(namespace)).map_err(|e| map_js_error(&e, "delete"))?;
        request(&req).await.map(|_| ()).map_err(|e| map_js_error(&e, "delete"))
    }

    /// Calls `f` with the change name (`"profile"`, `"clear"`) when another connection of the
    /// origin commits a change to this namespace. Returns false without BroadcastChannel.
    pub fn on_change(&self, mut f: impl FnMut(String) + 'static) -> bool {
        let Some(c) = &self.channel else { return false };
        let cb = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| f(e.data().as_string().unwrap_or_default()));
        c.set_onmessage(Some(cb.as_ref().unchecked_ref()));
        cb.forget();
        true
    }

    /// Test hook: the next write transactions raise a real `DOMException` named `name` (such as
    /// `QuotaExceededError`) after reading, as the browser does when a write does not fit.
    #[doc(hidden)]
    pub fn inject_write_error(&self, name: Option<&str>) {
        *self.inject.borrow_mut() = name.map(str::to_string);
    }

    /// The raw stored text of a record; for tests and diagnostics.
    pub async fn raw(&self, name: &str) -> Result<Option<String>> {
        let (tx, st) = self.tx(IdbTransactionMode::Readonly)?;
        let committed = done(&tx);
        let get = st.get(&name.into()).map_err(|e| map_js_error(&e, "get"))?;
        let v = request(&get).await.map_err(|e| map_js_error(&e, "get"))?;
        JsFuture::from(committed).await.map_err(|e| map_js_error(&e, "read"))?;
        as_record(v, name)
    }

    /// Writes raw text as a record, bypassing every check; for tests (old, new, corrupt records).
    #[doc(hidden)]
    pub async fn put_raw(&self, name: &str, text: &str) -> Result<()> {
        self.write_with(name, |_| Ok((Some(text.to_string()), ()))).await
    }

    fn tx(&self, mode: IdbTransactionMode) -> Result<(IdbTransaction, IdbObjectStore)> {
        let tx = self.db.transaction_with_str_and_mode(RECORDS, mode).map_err(|e| map_js_error(&e, "transaction"))?;
        let st = tx.object_store(RECORDS).map_err(|e| map_js_error(&e, "object store"))?;
        Ok((tx, st))
    }

    fn notify(&self, change: &str) {
        if let Some(c) = &self.channel {
            let _ = c.post_message(&change.into());
        }
    }

    /// One readwrite transaction: read record `name`, let `f` decide what to write (`None`:
    /// nothing), write it, wait for the commit. Any error aborts: the record stays as it was.
    async fn write_with<R>(&self, name: &str, f: impl FnOnce(Option<&str>) -> Result<(Option<String>, R)>) -> Result<R> {
        let (tx, st) = self.tx(IdbTransactionMode::Readwrite)?;
        let committed = done(&tx);
        let result = async {
            let get = st.get(&name.into()).map_err(|e| map_js_error(&e, "get"))?;
            let current = as_record(request(&get).await.map_err(|e| map_js_error(&e, "get"))?, name)?;
            let (out, r) = f(current.as_deref())?;
            if let Some(ex) = self.inject.borrow().as_deref() {
                let e = DomException::new_with_message_and_name("injected by a test", ex).map(JsValue::from).unwrap_or(JsValue::NULL);
                return Err(map_js_error(&e, "put"));
            }
            if let Some(out) = out {
                let put = st.put_with_key(&out.into(), &name.into()).map_err(|e| map_js_error(&e, "put"))?;
                request(&put).await.map_err(|e| map_js_error(&e, "put"))?;
            }
            Ok(r)
        }
        .await;
        match result {
            Ok(r) => {
                JsFuture::from(committed).await.map_err(|e| map_js_error(&e, "commit"))?;
                Ok(r)
            }
            Err(e) => {
                let _ = tx.abort();
                let _ = JsFuture::from(committed).await;
                Err(e)
            }
        }
    }
}

impl Store for IndexedDbStore {
    fn namespace(&self) -> &str {
        &self.namespace
    }

    async fn load(&self) -> Result<Profile> {
        record::decode_profile(self.raw(PROFILE).await?.as_deref())
    }

    async fn update<R>(&self, f: impl FnOnce(&mut Profile) -> Result<R>) -> Result<R> {
        let r = self.write_with(PROFILE, |cur| record::update_profile(cur, f).map(|(out, r)| (Some(out), r))).await?;
        self.notify("profile");
        Ok(r)
    }

    async fn clear(&self) -> Result<()> {
        let (tx, st) = self.tx(IdbTransactionMode::Readwrite)?;
        let committed = done(&tx);
        let req = st.clear().map_err(|e| map_js_error(&e, "clear"))?;
        request(&req).await.map_err(|e| map_js_error(&e, "clear"))?;
        JsFuture::from(committed).await.map_err(|e| map_js_error(&e, "clear"))?;
        self.notify("clear");
        Ok(())
    }

    async fn cached_embedding(&self, key: &CacheKey) -> Result<Option<Vec<f32>>> {
        self.write_with(EMBEDDINGS, |cur| {
            let mut cache = record::decode_cache(cur)?;
            let hit = cache.get(key);
            Ok((hit.is_some().then(|| cache.to_record()), hit))
        })
        .await
    }

    async fn cache_embedding(&self, key: &CacheKey, vector: &[f32]) -> Result<()> {
        self.write_with(EMBEDDINGS, |cur| {
            let mut cache = record::decode_cache(cur)?;
            cache.put(key.clone(), vector.to_vec());
            Ok((Some(cache.to_record()), ()))
        })
        .await
    }
}
