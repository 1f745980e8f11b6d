#!/usr/bin/env node
// Storage faults and oversized calls through the public package (pkg/), in headless Chromium,
// with the core in its worker and in the page (E2E_FAULTS_PORT, default 8100):
//   steps    IndexedDB wrapped where the store runs (the worker's global or the page's) so that
//            the Nth request of a call throws, aborts its transaction, or aborts it after
//            succeeding (the commit fails), for every N the call reaches, for track, remember,
//            forget, import, clear and the embedding-cache write of rank: each call rejects with
//            `storage_unavailable`, the export is the same as before, the same call then works
//   tabs     two instances (two workers) tracking the same namespace at once: no event lost
//   upgrade  a second tab holding the database open at layout 1 (raw IndexedDB, never closing):
//            `open` fails with `storage_unavailable` within the bounded wait, the old tab is sent
//            `versionchange`, nothing changes, and once it closes the data is there; a tab that
//            closes on `versionchange` lets the upgrade through at once
//   newer    another tab opening a newer layout: the SDK steps aside (that open does not hang),
//            its next call says `version_too_new`; the database deleted, calls work again
//   evicted  the database deleted by another tab, then the origin's storage cleared through
//            CDP (Storage.clearDataForOrigin), between two calls: the next call works on a
//            fresh profile, nothing hangs
//   corrupt  garbage in the profile record: `corrupt_record` from every call, the record for
//            `exportCorrupt()`; `clear()` sets it aside and a fresh profile works; the copy stays
//            until `discardCorrupt()`
//   refused  IndexedDB refused inside the worker (the getter throws SecurityError, the global is
//            missing, open() throws): storage 'auto' keeps a memory profile that ranks and says
//            why in info().storage; storage 'indexeddb' fails with `storage_unavailable`
//   limits   rank of 20 001 items, a 50 MB item text, a 100 MB import, 2 000 chat messages:
//            `input_too_large` at once (before the data crosses to the worker), profile intact;
//            10 000 tracks without awaiting: 1 000 run, 9 000 fail at once with `busy`
//   node scripts/e2e-faults.mjs [--chromium PATH] [--headed] [--only steps,tabs,upgrade,newer,evicted,corrupt,refused,limits]

import { createServer } from 'node:http';
import { promises as fs, createReadStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TYPES, checks, launch, ok } from './e2e-lib.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PORT = Number(process.env.E2E_FAULTS_PORT || 8100);
const EMBEDDER = '/models/minilm-l6-v2.q8_0.gguf';
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1].split(',') : null;
const wanted = (name) => !only || only.includes(name);
/** Every call in the page is raced against this: a hang is a failure, not a stuck test. */
const CALL_TIMEOUT_MS = 20_000;

const PAGE = `<!doctype html><meta charset="utf-8"><title>attune faults</title>
<script type="module">
import { Attune, AttuneError } from '/attune/index.js';
window.Attune = Attune;
window.AttuneError = AttuneError;
window.ready = true;
</script>`;

// IndexedDB as a private mode leaves it inside the worker: a module imported by the worker
// before the package's own (served as /refused/<how>/worker.js: the package's worker.js with this
// import first), so the store meets it from its first use.
const REFUSALS = {
  throws: "Object.defineProperty(self, 'indexedDB', { configurable: true, get() { throw new DOMException('denied by a test', 'SecurityError'); } });",
  missing: "Object.defineProperty(self, 'indexedDB', { configurable: true, value: undefined });",
  'open-throws': "IDBFactory.prototype.open = function () { throw new DOMException('A mutation operation was attempted on a database that did not allow mutations.', 'InvalidStateError'); };",
};
const refusedPage = (how) => PAGE.replace("'/attune/index.js'", `'/refused/${how}/index.js'`);

function serve(port) {
  const roots = { '/attune/': path.join(REPO, 'pkg'), '/models/': path.join(REPO, 'models/out') };
  const server = createServer(async (req, res) => {
    const p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (p === '/') return res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    const refused = /^\/refused\/([a-z-]+)\/(.*)$/.exec(p);
    if (refused && REFUSALS[refused[1]]) {
      const [, how, rest] = refused;
      const js = (body) => res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' }).end(body);
      if (rest === 'page.html') return res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(refusedPage(how));
      if (rest === 'refuse.js') return js(REFUSALS[how]);
      if (rest === 'worker.js') return js(`import './refuse.js';\n${await fs.readFile(path.join(REPO, 'pkg/worker.js'), 'utf8')}`);
      const file = path.join(REPO, 'pkg', path.normalize(rest));
      if (!file.startsWith(path.join(REPO, 'pkg')) || !(await fs.stat(file).catch(() => null))?.isFile()) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
      return createReadStream(file).pipe(res);
    }
    const root = Object.keys(roots).find((r) => p.startsWith(r));
    const file = root && path.join(roots[root], path.normalize(p.slice(root.length)));
    if (!file || !file.startsWith(roots[root]) || !(await fs.stat(file).catch(() => null))?.isFile()) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve(server)));
}

// Installed where the store runs (the worker's global, or the page's): counts the IndexedDB
// requests (and transactions) made while armed, and makes the armed one fail:
//   throw        the method throws a DOMException (UnknownError), as a broken backing store does
//   abort        the request is made, then its transaction is aborted (the request fails)
//   abort-after  the request succeeds, then its transaction is aborted (the commit fails)
function installFaults() {
  if (self.faults) return;
  const f = { armed: null, count: 0, ops: [], hit: false };
  self.faults = {
    arm(step, mode) { f.armed = { step, mode }; f.count = 0; f.ops = []; f.hit = false; },
    disarm() { const r = { count: f.count, ops: f.ops, hit: f.hit }; f.armed = null; return r; },
  };
  const wrap = (proto, name, txOf) => {
    const orig = proto[name];
    proto[name] = function (...args) {
      if (!f.armed) return orig.apply(this, args);
      const step = ++f.count;
      f.ops.push(`${proto === IDBDatabase.prototype ? 'db' : this.name}.${name}`);
      if (step !== f.armed.step) return orig.apply(this, args);
      f.hit = true;
      if (f.armed.mode === 'throw') throw new DOMException('injected by the fault test', 'UnknownError');
      const out = orig.apply(this, args);
      const tx = txOf(this, out);
      // A transaction has no success of its own: both modes abort it as it is made.
      if (f.armed.mode === 'abort' || out instanceof IDBTransaction) tx.abort();
      else out.addEventListener('success', () => { try { tx.abort(); } catch { /* already finished */ } });
      return out;
    };
  };
  for (const m of ['get', 'put', 'add', 'delete', 'count', 'clear', 'getAll', 'getAllKeys', 'openCursor']) {
    wrap(IDBObjectStore.prototype, m, (st) => st.transaction);
  }
  for (const m of ['get', 'getAll', 'getAllKeys', 'count', 'openCursor']) wrap(IDBIndex.prototype, m, (ix) => ix.objectStore.transaction);
  wrap(IDBDatabase.prototype, 'transaction', (_db, tx) => tx);
}

// Helpers in the page.
function installHelpers(timeoutMs) {
  window.h = {
    /** The call's outcome: 'ok', an AttuneError code, 'timeout', or what else was thrown. */
    async code(f) {
      let timer;
      const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
      const run = (async () => { await f(); return 'ok'; })().catch((e) =>
        e instanceof window.AttuneError ? e.code : `not an AttuneError: ${e && e.name} ${e && e.message}`);
      try { return await Promise.race([run, timeout]); } finally { clearTimeout(timer); }
    },
    /** The export without its time stamp, to compare two. */
    async snapshot(a) {
      const doc = JSON.parse(await a.export());
      delete doc.exported_ms;
      delete doc.exportedMs;
      return JSON.stringify(doc);
    },
    item: (id, text, tags = ['faults']) => ({ id, text, tags }),
    /** Raw IndexedDB, as another tab or a broken disk would use it. */
    idb: {
      open(name, version, upgrade) {
        return new Promise((resolve, reject) => {
          const req = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
          req.onupgradeneeded = () => upgrade?.(req.result, req.transaction);
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
          req.onblocked = () => { window.h.idb.blockedEvents = (window.h.idb.blockedEvents || 0) + 1; };
        });
      },
      request: (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); }),
      async put(name, value, key) {
        const db = await window.h.idb.open(name);
        const tx = db.transaction('records', 'readwrite');
        tx.objectStore('records').put(value, key);
        await new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onabort = () => reject(tx.error); });
        db.close();
      },
    },
  };
}

async function newPage(context, origin) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`  page error: ${e.message}`));
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 60_000 });
  await page.evaluate(installHelpers, CALL_TIMEOUT_MS);
  return page;
}

/** Opens `window[name]` in `mode` ('worker' or 'page'); resolves to the context where its store
 * runs (the new worker, or the page), with the fault wrapper installed there. */
async function openInstance(page, name, namespace, mode, extra = {}) {
  const workerStarted = mode === 'worker' ? page.waitForEvent('worker', { timeout: 60_000 }) : null;
  const code = await page.evaluate(async ({ name, namespace, worker, extra }) => {
    try {
      window[name] = await window.Attune.open({ namespace, embedder: { url: '/models/minilm-l6-v2.q8_0.gguf' }, worker, ...extra });
      return 'ok';
    } catch (e) {
      return e.code || String(e);
    }
  }, { name, namespace, worker: mode === 'worker', extra });
  if (code !== 'ok') throw new Error(`open ${namespace} (${mode}): ${code}`);
  const where = workerStarted ? await workerStarted : page;
  await where.evaluate(installFaults);
  return where;
}

// Each kind of call: `setup(n)` (unfaulted) makes the call change something, `run(n)` is the call.
const CALLS = {
  track: { run: (n) => a.track({ type: 'like', item: h.item(`t${n}`, `fault test item ${n}: a bicycle touring story`) }) },
  remember: { run: (n) => a.remember(`fault test memory ${n}`) },
  forget: {
    setup: (n) => a.track({ type: 'click', item: { id: `gone${n}` } }),
    run: (n) => a.forget({ itemId: `gone${n}` }),
  },
  import: {
    setup: async (n) => { window.doc ??= await a.export(); await a.track({ type: 'view', item: { id: `before-import${n}` } }); },
    run: () => a.import(window.doc),
  },
  clear: {
    setup: (n) => a.track({ type: 'view', item: { id: `before-clear${n}` } }),
    run: () => a.clear(),
  },
  // The embedding-cache write: rank of texts never seen (no profile change; the cache's
  // entries must stay as they were too).
  'rank (cache write)': { run: (n) => a.rank([h.item(`r${n}`, `fault rank text ${n} about gardening`)]), cache: true },
};
const MODES = ['throw', 'abort', 'abort-after'];

/** Runs call `name` once unfaulted to learn its requests, then, for each fault mode and each
 * chosen step, makes that step fail: the call must reject with `storage_unavailable`, the
 * export (and for cache writes the cache's entry count) be as before, and the same call then
 * work. `pick(ops)` chooses the steps (default: all). */
let n = 0;
/** `a a a b` → `a×3 b`. */
const runs = (ops) => ops.reduce((out, op) => {
  const last = out.at(-1);
  if (last && last.op === op) last.n++; else out.push({ op, n: 1 });
  return out;
}, []).map(({ op, n }) => (n > 1 ? `${op}×${n}` : op)).join(' ');
async function faultEveryStep(page, where, mode, name, call, pick = (ops) => ops.map((_, i) => i + 1)) {
  const attempt = async (step, fault) => {
    n++;
    const setup = call.setup ? `(${call.setup})(${n})` : 'undefined';
    await page.evaluate(`(async () => { await ${setup}; })()`);
    const state = () => page.evaluate(async () => ({ doc: await h.snapshot(a), cache: (await a.info()).storage.cacheEntries }));
    const before = await state();
    await where.evaluate(({ step, fault }) => self.faults.arm(step, fault), { step, fault });
    const code = await page.evaluate(`h.code(() => (${call.run})(${n}))`);
    const seen = await where.evaluate(() => self.faults.disarm());
    if (!seen.hit) return { code, ops: seen.ops };
    const after = await state();
    const again = await page.evaluate(`h.code(() => (${call.run})(${n}))`);
    return { hit: true, fault, step, op: seen.ops[step - 1], code, kept: after.doc === before.doc && (!call.cache || after.cache === before.cache), again };
  };
  const dry = await attempt(0, 'throw');
  ok(dry.code === 'ok' && dry.ops.length > 0, `${mode}: ${name} unfaulted: ${dry.ops.length} requests, works`);
  const steps = pick(dry.ops);
  const results = [];
  for (const fault of MODES) for (const step of steps) results.push(await attempt(step, fault));
  const bad = results.filter((r) => !r.hit || r.code !== 'storage_unavailable' || !r.kept || r.again !== 'ok');
  ok(bad.length === 0,
    `${mode}: ${name}: ${results.length} faults (${MODES.join(', ')} at ${steps.length === dry.ops.length ? 'each' : `${steps.length}`} of ${dry.ops.length} steps: ${runs(dry.ops)}) → storage_unavailable, export unchanged, the next call works${bad.length ? ` FAILED ${JSON.stringify(bad.slice(0, 5))}` : ''}`);
}

/** Every step of every call, each fault mode. */
async function stepsSuite(page, mode) {
  const where = await openInstance(page, 'a', `faults-steps-${mode}`, mode);
  await page.evaluate(() => a.clear());
  for (const [name, call] of Object.entries(CALLS)) await faultEveryStep(page, where, mode, name, call);
  await page.evaluate(() => a.close());
}

/** The cache write that evicts: a cache of 64 KiB filled to 15 entries short of its budget,
 * then a rank of 16 new texts puts them and deletes the least recently used in the same
 * transaction. Faults at the eviction's steps (the other steps are those of the plain cache
 * write above): the index read, the first and the last delete. */
async function evictionSuite(page, mode) {
  const where = await openInstance(page, 'a', `faults-evict-${mode}`, mode, { embeddingCache: { maxBytes: 65536 } });
  await page.evaluate(async () => {
    await a.clear();
    await a.rank([h.item('first', 'the first cached text')]);
  });
  const call = {
    setup: async (n) => {
      const s = (await a.info()).storage;
      const max = Math.floor(s.cacheBudgetBytes / (s.cacheBytes / s.cacheEntries));
      const need = max - 15 - s.cacheEntries;
      if (need > 0) await a.rank(Array.from({ length: need }, (_, i) => h.item(`fill${n}-${i}`, `filling the cache: text ${n} ${i}`)));
    },
    run: (n) => a.rank(Array.from({ length: 16 }, (_, i) => h.item(`ev${n}-${i}`, `evicting text ${n} ${i}`))),
    cache: true,
  };
  await faultEveryStep(page, where, mode, 'rank (cache write evicting)', call, (ops) => {
    const deletes = ops.map((op, i) => [op, i + 1]).filter(([op]) => op === 'embeddings.delete').map(([, s]) => s);
    ok(deletes.length > 1, `${mode}: the full cache evicts within the write (${deletes.length} deletes)`);
    return [ops.indexOf('used.getAllKeys') + 1, deletes[0], deletes.at(-1)];
  });
  await page.evaluate(() => a.close());
}

/** Two instances (two workers) of one namespace tracking at once. */
async function tabsSuite(context, origin) {
  const pages = [await newPage(context, origin), await newPage(context, origin)];
  for (const p of pages) await openInstance(p, 'a', 'faults-tabs', 'worker');
  await pages[0].evaluate(() => a.clear());
  const codes = await Promise.all(pages.map((p, i) => p.evaluate(async (i) => {
    const out = [];
    for (let k = 0; k < 20; k++) out.push(await h.code(() => a.track({ type: 'click', item: { id: `tab${i}-${k}` } })));
    return out;
  }, i)));
  // Each instance reads the record again after the other's writes (BroadcastChannel).
  await pages[0].waitForTimeout(200);
  const events = await Promise.all(pages.map((p) => p.evaluate(async () => (await a.profile()).stats.events)));
  ok(codes.flat().every((c) => c === 'ok') && events.every((e) => e === 40), `two tabs tracking 20 events each at once: ${events.join(' and ')} events seen, none lost`);
  for (const p of pages) await p.close();
}

/** A tab that holds the database at layout 1 while the SDK upgrades it. */
async function upgradeSuite(context, origin) {
  const old = await newPage(context, origin);
  const sdk = await newPage(context, origin);
  // A profile to keep: made by the SDK in another namespace, exported.
  await openInstance(sdk, 'src', 'faults-upgrade-source', 'page');
  const doc = await sdk.evaluate(async () => {
    await src.clear();
    for (let i = 0; i < 3; i++) await src.track({ type: 'like', item: h.item(`kept${i}`, `a profile kept through the upgrade ${i}`) });
    const d = await src.export();
    src.close();
    return d;
  });
  // The old tab: layout 1 (one object store, `records`), the profile in it, never closing.
  const made = await old.evaluate(async (doc) => {
    for (const ns of ['faults-upgrade-worker', 'faults-upgrade-page', 'faults-upgrade-polite']) {
      await h.idb.request(indexedDB.deleteDatabase(`attune:${ns}`));
      const db = await h.idb.open(`attune:${ns}`, 1, (db) => db.createObjectStore('records'));
      const tx = db.transaction('records', 'readwrite');
      tx.objectStore('records').put(doc, 'profile');
      await new Promise((resolve) => { tx.oncomplete = resolve; });
      window[ns] = { db, versionchange: 0 };
      db.onversionchange = () => {
        window[ns].versionchange++;
        // The polite one closes (as the SDK's own tabs do); the other never does.
        if (ns === 'faults-upgrade-polite') setTimeout(() => db.close(), 300);
      };
    }
    return 'ok';
  }, doc);
  ok(made === 'ok', 'a tab holds three databases open at layout 1, each with a profile');
  // Worker mode with storage 'indexeddb', in-page with 'auto' (which keeps no memory profile
  // here: the block passes, and a memory profile would drop this visit's events unseen).
  for (const [mode, storage] of [['worker', 'indexeddb'], ['page', 'auto']]) {
    const ns = `faults-upgrade-${mode}`;
    const t0 = Date.now();
    const code = await sdk.evaluate(({ ns, worker, storage }) =>
      h.code(() => window.Attune.open({ namespace: ns, embedder: { url: '/models/minilm-l6-v2.q8_0.gguf' }, worker, storage })),
    { ns, worker: mode === 'worker', storage });
    const ms = Date.now() - t0;
    const told = await old.evaluate((ns) => ({ versionchange: window[ns].versionchange, version: window[ns].db.version }), ns);
    ok(code === 'storage_unavailable' && ms < CALL_TIMEOUT_MS && told.versionchange === 1 && told.version === 1,
      `${mode}: an upgrade blocked by an old tab that never closes: open (storage '${storage}') → ${code} in ${ms} ms; the old tab got versionchange, still at layout ${told.version}`);
  }
  // In the page the open given up on is still queued (its upgrade will be aborted when it
  // runs): a second open of that database waits behind it, hears no `blocked` of its own, and
  // fails at the overall bound instead of hanging.
  const q0 = Date.now();
  const queued = await sdk.evaluate(() =>
    h.code(() => window.Attune.open({ namespace: 'faults-upgrade-page', embedder: { url: '/models/minilm-l6-v2.q8_0.gguf' }, worker: false })));
  const queuedMs = Date.now() - q0;
  ok(queued === 'storage_unavailable' && queuedMs < CALL_TIMEOUT_MS, `page: a second open queued behind the blocked one → ${queued} in ${queuedMs} ms`);
  // The old tab closes: the same open now upgrades and finds the profile.
  await old.evaluate(() => { window['faults-upgrade-worker'].db.close(); window['faults-upgrade-page'].db.close(); });
  for (const mode of ['worker', 'page']) {
    await openInstance(sdk, 'up', `faults-upgrade-${mode}`, mode);
    const kept = await sdk.evaluate(async () => {
      const p = await up.profile();
      const tracked = await h.code(() => up.track({ type: 'click', item: { id: 'after-upgrade' } }));
      up.close();
      return { events: p.stats.events, ids: p.recent.map((r) => r.id).sort().join(), tracked };
    });
    ok(kept.events === 3 && kept.ids === 'kept0,kept1,kept2' && kept.tracked === 'ok', `${mode}: once the old tab closes, open upgrades and the profile is there: ${JSON.stringify(kept)}`);
  }
  // The polite tab closes on versionchange: the open goes through at once.
  const t0 = Date.now();
  await openInstance(sdk, 'polite', 'faults-upgrade-polite', 'worker');
  const polite = await sdk.evaluate(async () => { const e = (await polite.profile()).stats.events; polite.close(); return e; });
  const told = await old.evaluate(() => window['faults-upgrade-polite'].versionchange);
  ok(polite === 3 && told === 1, `an old tab that closes on versionchange: the upgrade goes through (${Date.now() - t0} ms), ${polite} events kept`);
  await old.close();
  await sdk.close();
}

/** Another tab opens a newer layout; then deletes the database. */
async function newerSuite(context, origin) {
  const sdk = await newPage(context, origin);
  const other = await newPage(context, origin);
  await openInstance(sdk, 'a', 'faults-newer', 'worker');
  await sdk.evaluate(async () => { await a.clear(); await a.track({ type: 'click', item: { id: 'n1' } }); });
  const newer = await other.evaluate(async () => {
    const t0 = performance.now();
    const db = await Promise.race([h.idb.open('attune:faults-newer', 3), new Promise((r) => setTimeout(() => r(null), 10_000))]);
    if (!db) return { opened: false };
    const r = { opened: true, ms: performance.now() - t0, version: db.version };
    db.close();
    return r;
  });
  const after = await sdk.evaluate(async () => ({
    track: await h.code(() => a.track({ type: 'click', item: { id: 'n2' } })),
    profile: await h.code(() => a.profile()),
  }));
  ok(newer.opened && newer.version === 3 && after.track === 'version_too_new' && after.profile === 'version_too_new',
    `a newer layout opened by another tab: the SDK stepped aside (that open took ${newer.ms?.toFixed(0)} ms), then track → ${after.track}, profile → ${after.profile}`);
  await other.evaluate(() => h.idb.request(indexedDB.deleteDatabase('attune:faults-newer')));
  const again = await sdk.evaluate(async () => {
    const tracked = await h.code(() => a.track({ type: 'click', item: { id: 'n3' } }));
    return { tracked, events: (await a.profile()).stats.events };
  });
  ok(again.tracked === 'ok' && again.events === 1, `that database deleted: the next track works on a fresh profile (${JSON.stringify(again)})`);
  await sdk.evaluate(() => a.close());
  await sdk.close();
  await other.close();
}

/** The database deleted by another tab, and the origin's storage cleared, between two calls. */
async function evictedSuite(context, origin, mode) {
  const sdk = await newPage(context, origin);
  const other = await newPage(context, origin);
  await openInstance(sdk, 'a', `faults-evicted-${mode}`, mode);
  const fill = () => sdk.evaluate(async () => {
    await a.clear();
    await a.track({ type: 'like', item: h.item('e1', 'a profile about to be evicted') });
    await a.remember('a memory about to be evicted');
    return (await a.profile()).stats.events;
  });
  const next = () => sdk.evaluate(async () => {
    const profile = await h.code(() => a.profile());
    const events = profile === 'ok' ? (await a.profile()).stats.events : null;
    const tracked = await h.code(() => a.track({ type: 'like', item: h.item('e2', 'a profile after the eviction') }));
    const ranked = await h.code(() => a.rank([h.item('e3', 'bicycle'), h.item('e4', 'piano')]));
    return { profile, events, tracked, ranked, after: (await a.profile()).stats.events };
  });
  ok((await fill()) === 1, `${mode}: a profile with an event and a memory`);
  const deleted = await other.evaluate((ns) => Promise.race([
    h.idb.request(indexedDB.deleteDatabase(`attune:${ns}`)).then(() => 'deleted'),
    new Promise((r) => setTimeout(() => r('blocked'), 10_000)),
  ]), `faults-evicted-${mode}`);
  const r1 = await next();
  ok(deleted === 'deleted' && r1.profile === 'ok' && r1.events === 0 && r1.tracked === 'ok' && r1.ranked === 'ok' && r1.after === 1,
    `${mode}: the database deleted by another tab (${deleted}, the SDK let go): the next calls work on a fresh profile ${JSON.stringify(r1)}`);
  ok((await fill()) === 1, `${mode}: filled again`);
  const cdp = await context.newCDPSession(other);
  await cdp.send('Storage.clearDataForOrigin', { origin, storageTypes: 'indexeddb' });
  await cdp.detach();
  const r2 = await next();
  ok(r2.profile === 'ok' && r2.events === 0 && r2.tracked === 'ok' && r2.ranked === 'ok' && r2.after === 1,
    `${mode}: the origin's IndexedDB cleared (CDP Storage.clearDataForOrigin): the next calls work on a fresh profile ${JSON.stringify(r2)}`);
  await sdk.evaluate(() => a.close());
  await sdk.close();
  await other.close();
}

/** Garbage in the profile record (text, then a value that is not text). */
async function corruptSuite(context, origin, mode) {
  const page = await newPage(context, origin);
  const ns = `faults-corrupt-${mode}`;
  await openInstance(page, 'a', ns, mode);
  await page.evaluate(async () => {
    await a.clear();
    await a.discardCorrupt();
    await a.track({ type: 'like', item: h.item('c1', 'a profile that will be corrupted on disk') });
    a.close();
  });
  for (const [what, garbage] of [['text', '{"format":"attune-profile","version":2,"profile":{"interests":[{"w'], ['a number', 42]]) {
    await page.evaluate(({ ns, garbage }) => h.idb.put(`attune:${ns}`, garbage, 'profile'), { ns, garbage });
    // A fresh instance (a new page load would be the same): nothing cached.
    await openInstance(page, 'a', ns, mode);
    const r = await page.evaluate(async () => {
      const out = {};
      out.profile = await h.code(() => a.profile());
      out.track = await h.code(() => a.track({ type: 'click', item: { id: 'c2' } }));
      out.export = await h.code(() => a.export());
      out.info = (await a.info()).storage.corruptBytes;
      out.unread = await a.exportCorrupt();
      out.clear = await h.code(() => a.clear());
      out.fresh = (await a.profile()).stats.events;
      out.tracked = await h.code(() => a.track({ type: 'like', item: h.item('c3', 'a fresh profile after the reset') }));
      out.events = (await a.profile()).stats.events;
      out.kept = await a.exportCorrupt();
      out.keptBytes = (await a.info()).storage.corruptBytes;
      a.close();
      return out;
    });
    const text = typeof garbage === 'string' ? garbage : JSON.stringify(garbage);
    ok(r.profile === 'corrupt_record' && r.track === 'corrupt_record' && r.export === 'corrupt_record' && r.unread === text && r.info === text.length,
      `${mode}: a corrupt profile record (${what}): profile, track, export → corrupt_record; exportCorrupt() gives it as stored, info().storage.corruptBytes ${r.info}`);
    ok(r.clear === 'ok' && r.fresh === 0 && r.tracked === 'ok' && r.events === 1 && r.kept === text && r.keptBytes === text.length,
      `${mode}: clear() sets it aside: a fresh profile works (${r.events} event), exportCorrupt() still gives it`);
  }
  await openInstance(page, 'a', ns, mode);
  const gone = await page.evaluate(async () => {
    const r = { kept: await a.exportCorrupt(), discarded: await a.discardCorrupt(), again: await a.discardCorrupt(), after: await a.exportCorrupt(), events: (await a.profile()).stats.events };
    a.close();
    return r;
  });
  ok(gone.kept === '42' && gone.discarded === true && gone.again === false && gone.after === null && gone.events === 1,
    `${mode}: the set-aside copy survives reopening until discardCorrupt() (then null); the profile is untouched ${JSON.stringify(gone)}`);
  await page.close();
}

/** IndexedDB refused inside the worker, three ways. */
async function refusedSuite(context, origin) {
  for (const how of Object.keys(REFUSALS)) {
    const page = await context.newPage();
    page.on('pageerror', (e) => console.error(`  page error: ${e.message}`));
    await page.goto(`${origin}/refused/${how}/page.html`);
    await page.waitForFunction(() => window.ready === true, null, { timeout: 60_000 });
    await page.evaluate(installHelpers, CALL_TIMEOUT_MS);
    const r = await page.evaluate(async () => {
      const embedder = { url: '/models/minilm-l6-v2.q8_0.gguf' };
      const a = await window.Attune.open({ namespace: 'faults-refused', embedder });
      await a.track({ type: 'like', item: h.item('m1', 'Gravel bike tyres for mixed terrain', ['cycling']) });
      const ranked = await a.rank([h.item('m2', 'Jazz trio live tonight'), h.item('m3', 'Road bike wheels compared', ['cycling'])]);
      const info = await a.info();
      a.close();
      const strict = await h.code(() => window.Attune.open({ namespace: 'faults-refused', embedder, storage: 'indexeddb' }));
      return { storage: info.storage, top: ranked[0].id, strict };
    });
    ok(r.storage.backend === 'memory' && r.storage.persistent === false && /storage unavailable/.test(r.storage.why) && r.top === 'm3' && r.strict === 'storage_unavailable',
      `worker: IndexedDB refused there (${how}): storage 'auto' keeps a memory profile that ranks (why: ${r.storage.why}); 'indexeddb' → ${r.strict}`);
    await page.close();
  }
}

/** Oversized calls fail at once with input_too_large, the profile as it was. */
async function limitsSuite(context, origin, mode) {
  const page = await newPage(context, origin);
  await openInstance(page, 'a', `faults-limits-${mode}`, mode);
  const r = await page.evaluate(async () => {
    await a.clear();
    await a.track({ type: 'like', item: h.item('l1', 'a profile that oversized calls leave alone') });
    const before = await h.snapshot(a);
    const cases = {
      'rank of 20 001 items': () => a.rank(Array.from({ length: 20_001 }, (_, i) => ({ id: `i${i}`, text: `item ${i}` }))),
      'track with a 50 MB text': () => a.track({ type: 'click', item: { id: 'big', text: 'x'.repeat(50_000_000) } }),
      'remember of 50 MB': () => a.remember('m'.repeat(50_000_000)),
      'import of 100 MB': () => a.import(`{"format":"attune-profile","version":2,"profile":${' '.repeat(100_000_000)}}`),
      'embed of one 50 MB text': () => a.embed(['e'.repeat(50_000_000)]),
      'rank of 5 000 items of 1 KB': () => a.rank(Array.from({ length: 5000 }, (_, i) => ({ id: `k${i}`, text: 'k'.repeat(1000) }))),
      'reply of 2 000 messages': async () => { for await (const _ of a.assistant.reply(Array.from({ length: 2000 }, () => ({ role: 'user', content: 'hi' })))) break; },
      'reply of a 2 MB message': async () => { for await (const _ of a.assistant.reply([{ role: 'user', content: 'r'.repeat(2_000_000) }])) break; },
    };
    const out = {};
    for (const [what, f] of Object.entries(cases)) {
      const t0 = performance.now();
      const code = await h.code(f);
      out[what] = { code, ms: Math.round(performance.now() - t0) };
    }
    out.kept = (await h.snapshot(a)) === before;
    out.after = await h.code(() => a.track({ type: 'click', item: { id: 'l2' } }));
    a.close();
    return out;
  });
  const { kept, after, ...cases } = r;
  for (const [what, { code, ms }] of Object.entries(cases)) {
    // Fast: refused before the data is stringified, copied or posted (50 MB would take seconds).
    ok(code === 'input_too_large' && ms < 1500, `${mode}: ${what} → ${code} in ${ms} ms`);
  }
  ok(kept && after === 'ok', `${mode}: the profile is as it was after the oversized calls, and track works`);
  // 10 000 tracks fired without awaiting: the first 1 000 wait their turn, the rest fail at once
  // with `busy` (back-pressure, not a queue that grows without bound).
  const flood = await page.evaluate(async (worker) => {
    const b = await window.Attune.open({ namespace: 'faults-flood', embedder: { url: '/models/minilm-l6-v2.q8_0.gguf' }, worker });
    await b.clear();
    const t0 = performance.now();
    const calls = Array.from({ length: 10_000 }, (_, i) => b.track({ type: 'view', item: { id: `f${i % 50}` } }).then(() => 'ok', (e) => e.code));
    const refusedBy = await Promise.race([Promise.all(calls.slice(1000)), new Promise((r) => setTimeout(() => r(null), 50))]);
    const codes = await Promise.all(calls);
    const r = { ok: codes.filter((c) => c === 'ok').length, busy: codes.filter((c) => c === 'busy').length, busyAtOnce: !!refusedBy,
      ms: Math.round(performance.now() - t0), events: (await b.profile()).stats.events };
    b.close();
    return r;
  }, mode === 'worker');
  ok(flood.ok === 1000 && flood.busy === 9000 && flood.busyAtOnce && flood.events === 1000,
    `${mode}: 10 000 tracks without awaiting: 1 000 done, 9 000 refused at once with busy, ${flood.events} events stored (${flood.ms} ms)`);
  await page.close();
}

const started = Date.now();
let browser;
let server;
try {
  await fs.access(path.join(REPO, 'pkg/attune_wasm_bg.wasm')).catch(() => { throw new Error('pkg/ is missing; run make pkg'); });
  server = await serve(PORT);
  const origin = `http://127.0.0.1:${PORT}`;
  browser = await launch();
  const { context } = browser;
  console.log(`e2e-faults: pkg/ at ${origin}`);
  for (const mode of ['worker', 'page']) {
    if (wanted('steps')) {
      const page = await newPage(context, origin);
      await stepsSuite(page, mode);
      if (mode === 'worker') await evictionSuite(page, mode);
      await page.close();
    }
    if (wanted('evicted')) await evictedSuite(context, origin, mode);
    if (wanted('corrupt')) await corruptSuite(context, origin, mode);
    if (wanted('limits')) await limitsSuite(context, origin, mode);
  }
  if (wanted('refused')) await refusedSuite(context, origin);
  if (wanted('tabs')) await tabsSuite(context, origin);
  if (wanted('upgrade')) await upgradeSuite(context, origin);
  if (wanted('newer')) await newerSuite(context, origin);
  console.log(`e2e-faults: ${checks.count} checks passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (e) {
  console.error(`e2e-faults: FAILED after ${checks.count} checks: ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await browser?.close();
  server?.close();
}
// A child (a dev server, a browser) left running must not keep a failed run alive until CI times out.
process.exit(process.exitCode ?? 0);
