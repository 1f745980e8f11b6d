// Model delivery: fetch by URL with progress, verify the sha256 when given, keep the bytes in
// the Cache API (IndexedDB where the Cache API is missing) so a second visit makes no model
// request. Bytes are stored only after the whole body arrived and (if given) its hash matched,
// so a failed or partial download is never used.

import { AttuneError, abortError } from './errors.js';

const CACHE_NAME = 'attune-models-v1';
const IDB_NAME = 'attune-models';
const SHA_HEADER = 'x-attune-sha256';

export async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Checks a model source `{ url, sha256? }` and returns it normalized. */
export function checkSource(src, what, base) {
  // `what` names the argument: "Attune.open(options.embedder)" → "Attune.open(options.embedder.url)".
  const field = (f) => (what.endsWith(')') ? `${what.slice(0, -1)}.${f})` : `${what}.${f}`);
  if (!src || typeof src !== 'object') throw new AttuneError('invalid_argument', `${what}: expected { url, sha256? }`);
  if (typeof src.url !== 'string' && !(src.url instanceof URL)) throw new AttuneError('invalid_argument', `${field('url')}: must be a string or URL`);
  let url;
  try {
    url = new URL(String(src.url), base).href;
  } catch {
    throw new AttuneError('invalid_argument', `${field('url')}: not a URL: ${String(src.url).slice(0, 200)}`);
  }
  if (src.sha256 !== undefined && (typeof src.sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(src.sha256))) {
    throw new AttuneError('invalid_argument', `${field('sha256')}: must be 64 hex digits`);
  }
  return { url, sha256: src.sha256 && src.sha256.toLowerCase() };
}

// --- storage: the Cache API, else IndexedDB -------------------------------------------------

function hasCacheApi() {
  return typeof caches !== 'undefined' && typeof caches.open === 'function';
}

function idb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(IDB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore('models');
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function idbDo(mode, f) {
  const db = await idb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction('models', mode);
      const req = f(tx.objectStore('models'));
      let value;
      req.onsuccess = () => { value = req.result; };
      tx.oncomplete = () => resolve(value);
      tx.onabort = tx.onerror = () => reject(tx.error || req.error);
    });
  } finally {
    db.close();
  }
}

async function readStored(url) {
  if (hasCacheApi()) {
    const cache = await caches.open(CACHE_NAME);
    const res = await cache.match(url);
    if (!res) return null;
    return { bytes: new Uint8Array(await res.arrayBuffer()), sha256: res.headers.get(SHA_HEADER) || undefined };
  }
  const rec = await idbDo('readonly', (s) => s.get(url));
  return rec ? { bytes: new Uint8Array(rec.bytes), sha256: rec.sha256 } : null;
}

async function writeStored(url, bytes, sha256) {
  if (hasCacheApi()) {
    const cache = await caches.open(CACHE_NAME);
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(bytes.byteLength) };
    if (sha256) headers[SHA_HEADER] = sha256;
    await cache.put(url, new Response(bytes, { headers }));
    return;
  }
  await idbDo('readwrite', (s) => s.put({ bytes: bytes.buffer, sha256 }, url));
}

async function deleteStored(url) {
  try {
    if (hasCacheApi()) await (await caches.open(CACHE_NAME)).delete(url);
    else await idbDo('readwrite', (s) => s.delete(url));
  } catch { /* nothing stored, or storage gone: nothing to delete */ }
}

// --- download -------------------------------------------------------------------------------

async function download(url, onChunk, signal) {
  let res;
  try {
    res = await fetch(url, { signal, credentials: 'same-origin' });
  } catch (e) {
    if (signal && signal.aborted) throw abortError(signal);
    throw new AttuneError('model_load', `fetching ${url} failed: ${e && e.message ? e.message : e}`);
  }
  if (!res.ok) throw new AttuneError('model_load', `fetching ${url}: HTTP ${res.status} ${res.statusText}`);
  // Content-Length is the transfer size; with a content-encoding it does not count the bytes.
  const declared = res.headers.get('content-encoding') ? null : Number(res.headers.get('content-length'));
  const total = Number.isFinite(declared) && declared > 0 ? declared : undefined;
  const chunks = [];
  let loaded = 0;
  try {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.byteLength;
      onChunk(loaded, total);
    }
  } catch (e) {
    if (signal && signal.aborted) throw abortError(signal);
    throw new AttuneError('model_load', `download of ${url} broke off after ${loaded} bytes: ${e && e.message ? e.message : e}`);
  }
  if (total !== undefined && loaded !== total) {
    throw new AttuneError('model_load', `download of ${url} is incomplete: ${loaded} of ${total} bytes`);
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) { bytes.set(c, at); at += c.byteLength; }
  return bytes;
}

/**
 * The bytes of a model: from the cache when stored (and, with a sha256, verified), else
 * downloaded, verified and stored. `progress(event)` gets
 * { model, phase: 'cache' | 'download' | 'verify' | 'store' | 'ready', loaded, total, fromCache }.
 */
export async function loadModel(model, src, { progress = () => {}, cache = true, signal } = {}) {
  const { url, sha256 } = src;
  // The Cache API keeps http(s) responses only: a model packaged in a browser extension
  // (chrome-extension://, moz-extension://) or given as a data:/blob: URL is read where it is,
  // each time, and never stored (it is on the device already).
  if (!/^https?:/i.test(url)) cache = false;
  if (cache) {
    let stored = null;
    try {
      stored = await readStored(url);
    } catch { /* unreadable storage: download instead */ }
    if (stored) {
      const ok = !sha256 || (await sha256Hex(stored.bytes)) === sha256;
      if (ok) {
        const n = stored.bytes.byteLength;
        progress({ model, phase: 'ready', loaded: n, total: n, fromCache: true });
        return stored.bytes;
      }
      await deleteStored(url); // stale (another hash) or damaged: fetch again
    }
  }
  progress({ model, phase: 'download', loaded: 0, total: undefined, fromCache: false });
  const bytes = await download(url, (loaded, total) => progress({ model, phase: 'download', loaded, total, fromCache: false }), signal);
  const n = bytes.byteLength;
  if (sha256) {
    progress({ model, phase: 'verify', loaded: n, total: n, fromCache: false });
    const got = await sha256Hex(bytes);
    if (got !== sha256) throw new AttuneError('model_load', `sha256 of ${url} is ${got}, expected ${sha256}; not used`);
  }
  if (cache) {
    progress({ model, phase: 'store', loaded: n, total: n, fromCache: false });
    try {
      await writeStored(url, bytes, sha256);
    } catch (e) {
      await deleteStored(url);
      if (e && e.name === 'QuotaExceededError') {
        throw new AttuneError('quota_exceeded', `no room to keep ${url} (${n} bytes) in the browser's storage; free space or open with { cache: false }`);
      }
      throw new AttuneError('storage', `cannot keep ${url} in the browser's storage: ${e && e.message ? e.message : e}`);
    }
  }
  progress({ model, phase: 'ready', loaded: n, total: n, fromCache: false });
  return bytes;
}

// --- what is kept (info().storage) --------------------------------------------------------

/** The model files kept in this origin's storage for later visits: their bytes, how many, and
 * where new ones go (`cache-api`, `indexeddb`, or `none` where neither exists). The IndexedDB
 * store is read only if it exists (counting must not create it). */
export async function modelStorage() {
  let bytes = 0;
  let files = 0;
  const store = hasCacheApi() ? 'cache-api' : typeof indexedDB !== 'undefined' ? 'indexeddb' : 'none';
  try {
    if (hasCacheApi() && (await caches.has(CACHE_NAME))) {
      const cache = await caches.open(CACHE_NAME);
      for (const req of await cache.keys()) {
        const res = await cache.match(req);
        if (!res) continue;
        const n = Number(res.headers.get('content-length'));
        bytes += Number.isFinite(n) && n > 0 ? n : (await res.blob()).size;
        files++;
      }
    }
    const dbs = typeof indexedDB !== 'undefined' && indexedDB.databases ? await indexedDB.databases() : [];
    if (dbs.some((d) => d.name === IDB_NAME)) {
      const records = await idbDo('readonly', (s) => s.getAll());
      for (const r of records ?? []) { bytes += r.bytes?.byteLength ?? 0; files++; }
    }
  } catch { /* storage gone or refused: report what was counted */ }
  return { modelBytes: bytes, modelFiles: files, modelStore: store };
}
