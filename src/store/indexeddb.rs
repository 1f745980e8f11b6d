//! The browser store: one IndexedDB database per namespace (`attune:<namespace>`) with two
//! object stores: `records` holds the versioned profile record (see `store::record`), and
//! `embeddings` the embedding cache, one record `{v: Uint8Array, u: last use (ms)}` per cache
//! key (hex), with an index on `u` for least-recently-used eviction. Each change is one
//! `readwrite` transaction, so two tabs (or two connections) never lose each other's updates,
//! and a tab closed mid-write leaves the last committed state. After a commit, other tabs of
//! the origin hear of it on the BroadcastChannel `attune:<namespace>`.
//!
//! The decoded profile is kept between calls (a feed re-ranked on every interaction would
//! otherwise wait on the database and decode the record each time). It is read again after
//! any write to the namespace by another connection: one in this module instance bumps a
//! shared generation as it commits; one in another tab or worker posts on the channel, so a
//! read within the moment that message takes to arrive may still see the profile before
//! that write (every write itself reads the record inside its transaction).
//!
//! The connection is given up when another connection asks for a version change (a newer SDK
//! upgrading, another tab deleting the database) and when the browser closes it (the origin's
//! storage cleared): the next call opens the database again, so it sees what is stored then
//! (an empty database is a fresh profile; a newer layout is `version_too_new`). An open
//! blocked by another tab that keeps an older version open waits [`BLOCKED_WAIT_MS`], then fails
//! with `storage_unavailable` and changes nothing (its upgrade, if it ever runs, is aborted).
//!
//! Raw `web-sys` bindings (no wrapper crate): a request or transaction becomes a [`Pending`]
//! whose handlers are set when it is made and removed (and freed) when it settles or is
//! dropped, so no handler outlives its request. A transaction's body runs through
//! [`drive_now`]: its continuation after each request runs in the microtask checkpoint of the
//! success event, while the transaction is active, under either build's executor.

use super::drive_now::drive_now;
use super::record::{self, LEGACY_EMBEDDINGS, PROFILE, UNREADABLE};
use super::{CacheKey, CompactVector, Store};
use crate::embedding::table::entry_bytes;
use crate::embedding::DEFAULT_BUDGET_BYTES;
use crate::error::{AttuneError, Result};
use crate::profile::Profile;
use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    BroadcastChannel, DomException, Event, IdbDatabase, IdbFactory, IdbObjectStore, IdbObjectStoreParameters,
    IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbTransactionMode, MessageEvent,
};

/// Version of the database layout (object stores), distinct from the record format version.
/// 1: one object store `records`, out-of-line string keys (the cache was one record in it).
/// 2: an object store `embeddings`, one record per entry, indexed by last use.
pub const DB_VERSION: u32 = 2;
const RECORDS: &str = "records";
const EMBEDDINGS: &str = "embeddings";
const BY_USE: &str = "used";
/// A hit refreshes its entry's last use only when the stored one is older than this: eviction
/// needs no finer order, and a page's first `rank` after a reload rewrites nothing fresh.
const TOUCH_AFTER_MS: f64 = 3_600_000.0;
/// How long an open waits for another tab holding an older version to close it (tabs of this
/// SDK close theirs at once on `versionchange`) before it fails.
pub const BLOCKED_WAIT_MS: i32 = 3_000;
/// How long an open may take in all: one queued behind another open of the same database that
/// is itself blocked hears no `blocked` event of its own.
pub const OPEN_WAIT_MS: i32 = 10_000;
/// How a blocked open's error begins ([`IndexedDbStore::is_blocked`]).
const BLOCKED: &str = "another tab of this site keeps an older version of the database open";

thread_local! {
    /// Committed writes per namespace by the stores of this module instance.
    static GENERATIONS: RefCell<HashMap<String, u64>> = RefCell::new(HashMap::new());
}

fn generation(namespace: &str) -> u64 {
    GENERATIONS.with(|g| g.borrow().get(namespace).copied().unwrap_or(0))
}

fn bump_generation(namespace: &str) -> u64 {
    GENERATIONS.with(|g| {
        let mut g = g.borrow_mut();
        let n = g.entry(namespace.to_string()).or_insert(0);
        *n += 1;
        *n
    })
}

pub fn database_name(namespace: &str) -> String {
    format!("attune:{namespace}")
}

pub struct IndexedDbStore {
    namespace: String,
    /// The current connection; replaced when `lost` says it was given up or closed.
    db: RefCell<IdbDatabase>,
    /// Set when the connection closed under us (`versionchange`, `close`).
    lost: Rc<Cell<bool>>,
    channel: Option<BroadcastChannel>,
    budget: usize,
    /// The profile as last read or written here, with the namespace's generation then.
    profile: RefCell<Option<(u64, Profile)>>,
    /// Set when another tab or worker reports a change on the channel.
    changed_elsewhere: Rc<Cell<bool>>,
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

type Handler = Closure<dyn FnMut(Event)>;

/// A request or transaction in flight: a promise fed by its two event handlers. The handlers
/// are detached and freed when this is dropped, whichever (if either) ran.
struct Pending {
    promise: Promise,
    target: web_sys::EventTarget,
    events: [&'static str; 2],
    _handlers: [Handler; 2],
}

impl Pending {
    /// Settles with the request's result, or rejects with its error.
    fn request(req: &IdbRequest) -> Self {
        let (r1, r2) = (req.clone(), req.clone());
        Pending::new(
            req.unchecked_ref(),
            ["success", "error"],
            move |resolve| Box::new(move |_| drop(resolve.call1(&JsValue::UNDEFINED, &r1.result().unwrap_or(JsValue::UNDEFINED)))),
            move |reject| {
                Box::new(move |_| {
                    let e = r2.error().ok().flatten().map(JsValue::from).unwrap_or_else(|| "request failed".into());
                    drop(reject.call1(&JsValue::UNDEFINED, &e));
                })
            },
        )
    }

    /// Settles when the transaction commits, or rejects when it aborts. Make it right after
    /// the transaction so no event is missed.
    fn commit(tx: &IdbTransaction) -> Self {
        let t = tx.clone();
        Pending::new(
            tx.unchecked_ref(),
            ["complete", "abort"],
            |resolve| Box::new(move |_| drop(resolve.call0(&JsValue::UNDEFINED))),
            move |reject| {
                Box::new(move |_| {
                    let e = t.error().map(JsValue::from).unwrap_or_else(|| {
                        DomException::new_with_message_and_name("transaction aborted", "AbortError").map(JsValue::from).unwrap_or(JsValue::NULL)
                    });
                    drop(reject.call1(&JsValue::UNDEFINED, &e));
                })
            },
        )
    }

    fn new(
        target: &web_sys::EventTarget,
        events: [&'static str; 2],
        ok: impl FnOnce(Function) -> Box<dyn FnMut(Event)>,
        fail: impl FnOnce(Function) -> Box<dyn FnMut(Event)>,
    ) -> Self {
        let mut handlers: Option<[Handler; 2]> = None;
        let mut ok = Some(ok);
        let mut fail = Some(fail);
        let promise = Promise::new(&mut |resolve, reject| {
            if let (Some(ok), Some(fail)) = (ok.take(), fail.take()) {
                let pair = [Closure::wrap(ok(resolve)), Closure::wrap(fail(reject))];
                for (ev, h) in events.iter().zip(&pair) {
                    let _ = target.add_event_listener_with_callback(ev, h.as_ref().unchecked_ref());
                }
                handlers = Some(pair);
            }
        });
        // The executor runs synchronously inside `Promise::new`, so the handlers are set.
        let handlers = handlers.unwrap_or_else(|| [Closure::wrap(Box::new(|_| {}) as Box<dyn FnMut(Event)>), Closure::wrap(Box::new(|_| {}) as Box<dyn FnMut(Event)>)]);
        Pending { promise, target: target.clone(), events, _handlers: handlers }
    }

    async fn settled(&self) -> std::result::Result<JsValue, JsValue> {
        JsFuture::from(self.promise.clone()).await
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        for (ev, h) in self.events.iter().zip(&self._handlers) {
            let _ = self.target.remove_event_listener_with_callback(ev, h.as_ref().unchecked_ref());
        }
    }
}

async fn request(req: &IdbRequest) -> std::result::Result<JsValue, JsValue> {
    Pending::request(req).settled().await
}

/// The record as a string, `None` if absent; anything else stored there is corrupt.
fn as_record(v: JsValue, name: &str) -> Result<Option<String>> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_string().map(Some).ok_or_else(|| AttuneError::CorruptRecord(format!("{name}: not a string record")))
}

/// A cache entry's record: `{v: bytes, u: last use}`.
fn entry_value(v: &CompactVector, used: f64) -> JsValue {
    let o = Object::new();
    let _ = Reflect::set(&o, &"v".into(), &Uint8Array::from(v.to_bytes().as_slice()));
    let _ = Reflect::set(&o, &"u".into(), &used.into());
    o.into()
}

/// A stored entry (and its last use); `None` if absent. A record that does not decode counts
/// as absent: the entry is embedded again and overwritten.
fn decode_entry(v: &JsValue) -> Option<(CompactVector, f64)> {
    if !v.is_object() {
        return None;
    }
    let bytes = Reflect::get(v, &"v".into()).ok()?.dyn_into::<Uint8Array>().ok()?.to_vec();
    let used = Reflect::get(v, &"u".into()).ok()?.as_f64().unwrap_or(0.0);
    CompactVector::from_bytes(&bytes).ok().map(|c| (c, used))
}

/// The IndexedDB factory of this global (window or worker), if it has one.
fn factory() -> Result<IdbFactory> {
    let f = Reflect::get(&js_sys::global(), &"indexedDB".into()).map_err(|e| map_js_error(&e, "indexedDB"))?;
    f.dyn_into::<IdbFactory>().map_err(|_| AttuneError::StorageUnavailable("this context has no IndexedDB".into()))
}

/// A promise that resolves to `value` after `ms` milliseconds (at once where the global has no
/// `setTimeout`).
fn delay(ms: i32, value: &JsValue) -> Promise {
    Promise::new(&mut |resolve, _| {
        let timer = Reflect::get(&js_sys::global(), &"setTimeout".into()).ok().and_then(|f| f.dyn_into::<Function>().ok());
        let started = timer.is_some_and(|f| f.call3(&JsValue::UNDEFINED, &resolve, &ms.into(), value).is_ok());
        if !started {
            let _ = resolve.call1(&JsValue::UNDEFINED, value);
        }
    })
}

/// Whether `v` is the very object `token`.
fn is(v: &JsValue, token: &Object) -> bool {
    Object::is(v, token)
}

/// An open request given up on (blocked too long): if it ever gets to upgrade, the upgrade is
/// aborted (the database stays as it was), and a connection it opens anyway is closed.
fn abandon(req: &IdbOpenDbRequest) {
    let r = req.clone();
    let abort_upgrade = Closure::once_into_js(move |_: Event| {
        if let Some(tx) = r.transaction() {
            let _ = tx.abort();
        }
    });
    req.set_onupgradeneeded(Some(abort_upgrade.unchecked_ref()));
    let r = req.clone();
    let close = Closure::once_into_js(move |_: Event| {
        if let Ok(db) = r.result().and_then(|d| d.dyn_into::<IdbDatabase>().map_err(JsValue::from)) {
            db.close();
        }
    });
    req.set_onsuccess(Some(close.unchecked_ref()));
    // Opened between the timeout and now (`result` throws while the request is pending).
    if let Ok(db) = req.result().and_then(|d| d.dyn_into::<IdbDatabase>().map_err(JsValue::from)) {
        db.close();
    }
}

/// Opens (creating or upgrading) database `name` at [`DB_VERSION`], waiting at most
/// [`BLOCKED_WAIT_MS`] for other connections to step aside.
async fn open_database(name: &str) -> Result<IdbDatabase> {
    let req: IdbOpenDbRequest = factory()?.open_with_u32(name, DB_VERSION).map_err(|e| map_js_error(&e, "open"))?;
    let r = req.clone();
    let on_upgrade = Closure::once_into_js(move |e: web_sys::IdbVersionChangeEvent| {
        if let Ok(db) = r.result().and_then(|d| d.dyn_into::<IdbDatabase>().map_err(JsValue::from)) {
            if upgrade(&db, r.transaction(), e.old_version() as u32).is_err() {
                if let Some(tx) = r.transaction() {
                    let _ = tx.abort();
                }
            }
        }
    });
    req.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
    let blocked_token = Object::new();
    let token = blocked_token.clone();
    let blocked = Promise::new(&mut |resolve: Function, _reject| {
        let token = token.clone();
        let f = Closure::once_into_js(move |_: Event| drop(resolve.call1(&JsValue::UNDEFINED, &token)));
        req.set_onblocked(Some(f.unchecked_ref()));
    });
    let opened = Pending::request(req.unchecked_ref());
    let timeout_token = Object::new();
    let deadline = delay(OPEN_WAIT_MS, &timeout_token);
    let mut result = JsFuture::from(Promise::race(&js_sys::Array::of3(&opened.promise, &blocked, &deadline))).await;
    if result.as_ref().is_ok_and(|v| is(v, &blocked_token)) {
        // The other connections were told (`versionchange`); ours close at once, a tab of
        // something else may not.
        let timeout = delay(BLOCKED_WAIT_MS, &timeout_token);
        result = JsFuture::from(Promise::race(&js_sys::Array::of2(&opened.promise, &timeout))).await;
    }
    if result.as_ref().is_ok_and(|v| is(v, &timeout_token)) {
        drop(opened);
        req.set_onblocked(None);
        abandon(&req);
        return Err(AttuneError::StorageUnavailable(format!(
            "{BLOCKED} (or another open of it is pending; waited {BLOCKED_WAIT_MS} ms after it was blocked, {OPEN_WAIT_MS} ms in all): close or reload that tab; nothing was changed"
        )));
    }
    // Neither handler runs again: free them now rather than with the request.
    req.set_onupgradeneeded(None);
    req.set_onblocked(None);
    drop(opened);
    result
        .map_err(|e| map_js_error(&e, "open"))?
        .dyn_into::<IdbDatabase>()
        .map_err(|_| AttuneError::StorageUnavailable("open gave no database".into()))
}

/// Gives the connection up when another one asks for a version change, and notes when the
/// browser closes it: either way `lost` is set, and the next call opens the database again.
fn watch(db: &IdbDatabase, lost: &Rc<Cell<bool>>, changed: &Rc<Cell<bool>>) {
    let (d, l, c) = (db.clone(), lost.clone(), changed.clone());
    let on_version_change = Closure::<dyn FnMut(Event)>::new(move |_| {
        d.close();
        l.set(true);
        c.set(true);
    });
    db.set_onversionchange(Some(on_version_change.as_ref().unchecked_ref()));
    // As long-lived as the connection: one pair per connection made.
    on_version_change.forget();
    let (l, c) = (lost.clone(), changed.clone());
    let on_close = Closure::<dyn FnMut(Event)>::new(move |_| {
        l.set(true);
        c.set(true);
    });
    let _ = db.add_event_listener_with_callback("close", on_close.as_ref().unchecked_ref());
    on_close.forget();
}

/// A stored value as text for export: a string as it is, anything else as JSON (or its
/// string form where JSON has none).
fn value_text(v: &JsValue) -> String {
    if let Some(s) = v.as_string() {
        return s;
    }
    js_sys::JSON::stringify(v).ok().and_then(|s| s.as_string()).unwrap_or_else(|| String::from(js_sys::JsString::from(v.clone())))
}

/// Whether a stored profile value is there but unreadable (not text, or text that does not decode).
fn unreadable_value(v: &JsValue) -> bool {
    !(v.is_undefined() || v.is_null()) && v.as_string().is_none_or(|s| record::is_unreadable(Some(&s)))
}

/// Creates or upgrades the object stores from `old` to [`DB_VERSION`] inside the upgrade
/// transaction `tx`.
fn upgrade(db: &IdbDatabase, tx: Option<IdbTransaction>, old: u32) -> std::result::Result<(), JsValue> {
    if old < 1 && !db.object_store_names().contains(RECORDS) {
        db.create_object_store(RECORDS)?;
    }
    if old < 2 {
        if !db.object_store_names().contains(EMBEDDINGS) {
            let st = db.create_object_store_with_optional_parameters(EMBEDDINGS, &IdbObjectStoreParameters::new())?;
            st.create_index_with_str(BY_USE, "u")?;
        }
        // The one-record cache of layout 1 is dropped: its entries are embedded again.
        if let Some(tx) = tx {
            tx.object_store(RECORDS)?.delete(&LEGACY_EMBEDDINGS.into())?;
        }
    }
    Ok(())
}

/// Object store `name` of a transaction.
fn store(tx: &IdbTransaction, name: &str) -> Result<IdbObjectStore> {
    tx.object_store(name).map_err(|e| map_js_error(&e, "object store"))
}

/// Two records' stored values, both requests issued before either is awaited.
async fn get_two(st: &IdbObjectStore, a: &str, b: &str) -> Result<(JsValue, JsValue)> {
    let ga = st.get(&a.into()).map(|r| Pending::request(&r)).map_err(|e| map_js_error(&e, "get"))?;
    let gb = st.get(&b.into()).map(|r| Pending::request(&r)).map_err(|e| map_js_error(&e, "get"))?;
    let va = ga.settled().await.map_err(|e| map_js_error(&e, "get"))?;
    let vb = gb.settled().await.map_err(|e| map_js_error(&e, "get"))?;
    Ok((va, vb))
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

impl IndexedDbStore {
    /// Opens (creating or upgrading) the namespace's database, with the default cache budget.
    pub async fn open(namespace: &str) -> Result<Self> {
        IndexedDbStore::open_with_budget(namespace, DEFAULT_BUDGET_BYTES).await
    }

    /// Opens the namespace's database; its embedding cache keeps at most `budget` bytes.
    pub async fn open_with_budget(namespace: &str, budget: usize) -> Result<Self> {
        record::check_namespace(namespace)?;
        let name = database_name(namespace);
        let db = open_database(&name).await?;
        let lost = Rc::new(Cell::new(false));
        let changed_elsewhere = Rc::new(Cell::new(false));
        watch(&db, &lost, &changed_elsewhere);
        let channel = BroadcastChannel::new(&name).ok();
        if let Some(c) = &channel {
            let flag = changed_elsewhere.clone();
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |_: MessageEvent| flag.set(true));
            let _ = c.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
            // As long-lived as the channel: one per opened store.
            on_message.forget();
        }
        Ok(IndexedDbStore {
            namespace: namespace.to_string(),
            db: RefCell::new(db),
            lost,
            channel,
            budget,
            profile: RefCell::new(None),
            changed_elsewhere,
            inject: RefCell::new(None),
        })
    }

    /// Whether an open failed because another tab kept an older version of the database open
    /// (a passing state: not a reason to keep the profile in memory instead).
    pub fn is_blocked(e: &AttuneError) -> bool {
        matches!(e, AttuneError::StorageUnavailable(m) if m.starts_with(BLOCKED))
    }

    /// The live connection, opening the database again if the last one was given up or closed.
    async fn connection(&self) -> Result<IdbDatabase> {
        if self.lost.get() {
            let db = open_database(&database_name(&self.namespace)).await?;
            self.lost.set(false);
            watch(&db, &self.lost, &self.changed_elsewhere);
            *self.db.borrow_mut() = db;
        }
        Ok(self.db.borrow().clone())
    }

    /// A transaction on `stores` (a name or an array of names). A connection found closing
    /// (its `close` event not yet delivered) is replaced once.
    async fn transaction(&self, stores: &JsValue, mode: IdbTransactionMode) -> Result<IdbTransaction> {
        for attempt in 0..2 {
            let db = self.connection().await?;
            match db.transaction_with_str_sequence_and_mode(stores, mode) {
                Ok(tx) => return Ok(tx),
                Err(e) if attempt == 0 && e.dyn_ref::<DomException>().is_some_and(|d| d.name() == "InvalidStateError") => {
                    self.lost.set(true);
                    self.changed_elsewhere.set(true);
                }
                Err(e) => return Err(map_js_error(&e, "transaction")),
            }
        }
        Err(AttuneError::StorageUnavailable("the database connection keeps closing".into()))
    }

    /// Closes the connection (the data stays).
    pub fn close(&self) {
        self.db.borrow().close();
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

    fn injected(&self) -> Result<()> {
        match self.inject.borrow().as_deref() {
            Some(ex) => {
                let e = DomException::new_with_message_and_name("injected by a test", ex).map(JsValue::from).unwrap_or(JsValue::NULL);
                Err(map_js_error(&e, "put"))
            }
            None => Ok(()),
        }
    }

    /// The raw stored text of a record; for tests and diagnostics.
    pub async fn raw(&self, name: &str) -> Result<Option<String>> {
        as_record(self.raw_value(name).await?, name)
    }

    /// The stored value of a record, whatever it is (`undefined` if absent).
    async fn raw_value(&self, name: &str) -> Result<JsValue> {
        self.transact(&[RECORDS], IdbTransactionMode::Readonly, async |tx| {
            let get = store(tx, RECORDS)?.get(&name.into()).map_err(|e| map_js_error(&e, "get"))?;
            request(&get).await.map_err(|e| map_js_error(&e, "get"))
        })
        .await
    }

    /// Writes raw text as a record, bypassing every check; for tests (old, new, corrupt records).
    #[doc(hidden)]
    pub async fn put_raw(&self, name: &str, text: &str) -> Result<()> {
        self.write_with(name, |_| Ok((Some(text.to_string()), ()))).await?;
        bump_generation(&self.namespace);
        Ok(())
    }


    fn notify(&self, change: &str) {
        if let Some(c) = &self.channel {
            let _ = c.post_message(&change.into());
        }
    }

    /// Runs `body` in a transaction on `stores` and waits for the commit; any error aborts it,
    /// so nothing of it is written.
    /// The body runs through [`drive_now`], so each of its requests is made while the
    /// transaction is still active, whichever executor runs this.
    async fn transact<R: 'static>(&self, stores: &[&str], mode: IdbTransactionMode, body: impl AsyncFnOnce(&IdbTransaction) -> Result<R>) -> Result<R> {
        let names: js_sys::Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
        let tx = self.transaction(&names, mode).await?;
        let committed = Pending::commit(&tx);
        let done = drive_now(body(&tx)).await;
        match done.unwrap_or_else(|| Err(AttuneError::StorageUnavailable("a transaction's body stopped before it finished".into()))) {
            Ok(r) => {
                committed.settled().await.map_err(|e| map_js_error(&e, "commit"))?;
                Ok(r)
            }
            Err(e) => {
                let _ = tx.abort();
                let _ = committed.settled().await;
                Err(e)
            }
        }
    }

    /// One readwrite transaction: read record `name`, let `f` decide what to write (`None`:
    /// nothing), write it, wait for the commit. Any error aborts: the record stays as it was.
    async fn write_with<R: 'static>(&self, name: &str, f: impl FnOnce(Option<&str>) -> Result<(Option<String>, R)>) -> Result<R> {
        self.transact(&[RECORDS], IdbTransactionMode::Readwrite, async |tx| {
            let st = store(tx, RECORDS)?;
            let get = st.get(&name.into()).map_err(|e| map_js_error(&e, "get"))?;
            let current = as_record(request(&get).await.map_err(|e| map_js_error(&e, "get"))?, name)?;
            let (out, r) = f(current.as_deref())?;
            self.injected()?;
            if let Some(out) = out {
                let put = st.put_with_key(&out.into(), &name.into()).map_err(|e| map_js_error(&e, "put"))?;
                request(&put).await.map_err(|e| map_js_error(&e, "put"))?;
            }
            Ok(r)
        })
        .await
    }

    /// Deletes the least recently used entries until at most nine tenths of the budget's
    /// entries (of `per_entry` bytes each) remain.
    async fn evict(&self, st: &IdbObjectStore, per_entry: usize) -> Result<()> {
        let max = (self.budget / per_entry.max(1)).max(1);
        let count = request(&st.count().map_err(|e| map_js_error(&e, "count"))?).await.map_err(|e| map_js_error(&e, "count"))?;
        let count = count.as_f64().unwrap_or(0.0) as usize;
        if count <= max {
            return Ok(());
        }
        let drop_n = count - max / 10 * 9;
        let index = st.index(BY_USE).map_err(|e| map_js_error(&e, "index"))?;
        let oldest = index.get_all_keys_with_key_and_limit(&JsValue::NULL, drop_n as u32).map_err(|e| map_js_error(&e, "evict"))?;
        let keys: js_sys::Array = request(&oldest).await.map_err(|e| map_js_error(&e, "evict"))?.unchecked_into();
        let deletes: Vec<Pending> = keys
            .iter()
            .map(|k| st.delete(&k).map(|r| Pending::request(&r)))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| map_js_error(&e, "evict"))?;
        for d in &deletes {
            d.settled().await.map_err(|e| map_js_error(&e, "evict"))?;
        }
        Ok(())
    }
}

impl Store for IndexedDbStore {
    fn namespace(&self) -> &str {
        &self.namespace
    }

    async fn load(&self) -> Result<Profile> {
        let elsewhere = self.changed_elsewhere.replace(false);
        let gen = generation(&self.namespace);
        if let Some((seen, p)) = self.profile.borrow().as_ref() {
            if *seen == gen && !elsewhere {
                return Ok(p.clone());
            }
        }
        let p = record::decode_profile(self.raw(PROFILE).await?.as_deref())?;
        *self.profile.borrow_mut() = Some((gen, p.clone()));
        Ok(p)
    }

    async fn update<R: 'static>(&self, f: impl FnOnce(&mut Profile) -> Result<R>) -> Result<R> {
        let mut written = None;
        let r = self
            .write_with(PROFILE, |cur| {
                let (out, r, p) = record::update_profile_keeping(cur, f)?;
                written = Some(p);
                Ok((Some(out), r))
            })
            .await;
        if r.is_ok() {
            let gen = bump_generation(&self.namespace);
            *self.profile.borrow_mut() = written.map(|p| (gen, p));
        }
        let r = r?;
        self.notify("profile");
        Ok(r)
    }

    async fn clear(&self) -> Result<()> {
        self.transact(&[RECORDS, EMBEDDINGS], IdbTransactionMode::Readwrite, async |tx| {
            let records = store(tx, RECORDS)?;
            // An unreadable profile is set aside in the same transaction: all of it or nothing.
            let (profile, aside) = get_two(&records, PROFILE, UNREADABLE).await?;
            let kept = if unreadable_value(&profile) { Some(profile) } else { Some(aside).filter(|a| !a.is_undefined()) };
            for name in [RECORDS, EMBEDDINGS] {
                let req = store(tx, name)?.clear().map_err(|e| map_js_error(&e, "clear"))?;
                request(&req).await.map_err(|e| map_js_error(&e, "clear"))?;
            }
            if let Some(kept) = kept {
                let put = records.put_with_key(&kept, &UNREADABLE.into()).map_err(|e| map_js_error(&e, "put"))?;
                request(&put).await.map_err(|e| map_js_error(&e, "put"))?;
            }
            Ok(())
        })
        .await?;
        bump_generation(&self.namespace);
        self.notify("clear");
        Ok(())
    }

    async fn unreadable(&self) -> Result<Option<String>> {
        self.transact(&[RECORDS], IdbTransactionMode::Readonly, async |tx| {
            let (profile, aside) = get_two(&store(tx, RECORDS)?, PROFILE, UNREADABLE).await?;
            let found = if unreadable_value(&profile) { profile } else { aside };
            Ok((!found.is_undefined() && !found.is_null()).then(|| value_text(&found)))
        })
        .await
    }

    async fn discard_unreadable(&self) -> Result<bool> {
        self.transact(&[RECORDS], IdbTransactionMode::Readwrite, async |tx| {
            let st = store(tx, RECORDS)?;
            let count = st.count_with_key(&UNREADABLE.into()).map_err(|e| map_js_error(&e, "count"))?;
            let there = request(&count).await.map_err(|e| map_js_error(&e, "count"))?.as_f64().unwrap_or(0.0) > 0.0;
            if there {
                let del = st.delete(&UNREADABLE.into()).map_err(|e| map_js_error(&e, "delete"))?;
                request(&del).await.map_err(|e| map_js_error(&e, "delete"))?;
            }
            Ok(there)
        })
        .await
    }

    async fn embeddings(&self, keys: &[CacheKey]) -> Result<Vec<Option<CompactVector>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.transact(&[EMBEDDINGS], IdbTransactionMode::Readwrite, async |tx| {
            let st = &store(tx, EMBEDDINGS)?;
            // Every get is issued before the first is awaited: one round of the database.
            let gets: Vec<Pending> = keys
                .iter()
                .map(|k| st.get(&k.hex().into()).map(|r| Pending::request(&r)))
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| map_js_error(&e, "get"))?;
            let now = now_ms();
            let mut out = Vec::with_capacity(keys.len());
            let mut touches = Vec::new();
            for (k, g) in keys.iter().zip(&gets) {
                let v = g.settled().await.map_err(|e| map_js_error(&e, "get"))?;
                let entry = decode_entry(&v);
                if let Some((c, used)) = &entry {
                    if now - used > TOUCH_AFTER_MS {
                        touches.push(st.put_with_key(&entry_value(c, now), &k.hex().into()).map_err(|e| map_js_error(&e, "put"))?);
                    }
                }
                out.push(entry.map(|(c, _)| c));
            }
            // The touches commit with the transaction; a failed one fails it.
            drop(touches);
            Ok(out)
        })
        .await
    }

    async fn put_embeddings(&self, entries: &[(CacheKey, CompactVector)]) -> Result<()> {
        let Some((_, first)) = entries.first() else { return Ok(()) };
        let per_entry = entry_bytes(first);
        self.transact(&[EMBEDDINGS], IdbTransactionMode::Readwrite, async |tx| {
            let st = &store(tx, EMBEDDINGS)?;
            self.injected()?;
            let now = now_ms();
            let puts: Vec<Pending> = entries
                .iter()
                .map(|(k, v)| st.put_with_key(&entry_value(v, now), &k.hex().into()).map(|r| Pending::request(&r)))
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| map_js_error(&e, "put"))?;
            for p in &puts {
                p.settled().await.map_err(|e| map_js_error(&e, "put"))?;
            }
            self.evict(st, per_entry).await
        })
        .await
    }

    async fn embedding_count(&self) -> Result<usize> {
        self.transact(&[EMBEDDINGS], IdbTransactionMode::Readonly, async |tx| {
            let st = store(tx, EMBEDDINGS)?;
            let n = request(&st.count().map_err(|e| map_js_error(&e, "count"))?).await.map_err(|e| map_js_error(&e, "count"))?;
            Ok(n.as_f64().unwrap_or(0.0) as usize)
        })
        .await
    }

    fn embedding_budget(&self) -> usize {
        self.budget
    }
}
