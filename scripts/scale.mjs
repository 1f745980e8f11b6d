#!/usr/bin/env node
// A real catalog through the public package (pkg/index.js), in headless Chromium, in worker and
// in-page modes: thousands of items, hundreds of events, repeated calls, memory after garbage
// collection (CDP: HeapProfiler.collectGarbage + Runtime.getHeapUsage of the page and of the
// worker; the core's wasm memory from info()).
//   node scripts/scale.mjs            the test (make test): bounds on memory growth and on results
//   node scripts/scale.mjs --bench    the benchmark (make bench-rank): timings → bench/out/rank.json
// Options: --chromium PATH, --headed, --modes worker,page, --port N (SCALE_PORT, default 8110).

import { createServer } from 'node:http';
import { promises as fs, createReadStream } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TYPES, launch } from './e2e-lib.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : dflt);
const BENCH = process.argv.includes('--bench');
const MODES = arg('--modes', 'worker,page').split(',');
const PORT = Number(arg('--port', process.env.SCALE_PORT || 8110));
const EMBEDDER = 'minilm-l6-v2.q8_0.gguf';
const CLI = path.join(process.env.CARGO_TARGET_DIR || path.join(REPO, 'target'), 'release/attune');
/** Growth allowed between the warm-up and the end of the repeated calls, after GC. */
const JS_HEAP_BOUND = 4 << 20;
const WASM_BOUND = 8 << 20;

// Items: distinct texts across a dozen topics, like a site's catalog.
const TOPICS = [
  ['cycling', ['road bike', 'gravel tyres', 'bike commute', 'cycling shoes', 'derailleur', 'mountain trail']],
  ['cooking', ['sourdough bread', 'tomato pasta', 'vegetable curry', 'knife skills', 'roast chicken', 'winter soup']],
  ['jazz', ['saxophone solo', 'jazz trio', 'bebop records', 'piano standards', 'big band', 'jazz festival']],
  ['finance', ['index funds', 'tax return', 'mortgage rates', 'retirement savings', 'stock market', 'household budget']],
  ['gardening', ['tomato seedlings', 'compost heap', 'rose pruning', 'raised beds', 'houseplants', 'lawn care']],
  ['astronomy', ['telescope guide', 'meteor shower', 'lunar eclipse', 'exoplanets', 'dark skies', 'star charts']],
  ['travel', ['train across Europe', 'hostel tips', 'packing light', 'city breaks', 'island hopping', 'travel insurance']],
  ['fitness', ['strength training', 'marathon plan', 'yoga routine', 'stretching', 'interval running', 'home workout']],
  ['photography', ['portrait lighting', 'film cameras', 'street photography', 'lens choice', 'photo editing', 'night shots']],
  ['gaming', ['strategy games', 'indie platformer', 'console review', 'speedrunning', 'board games', 'game music']],
  ['science', ['climate models', 'gene editing', 'particle physics', 'ocean currents', 'volcanoes', 'fossil finds']],
  ['books', ['crime novels', 'poetry collection', 'history books', 'science fiction', 'book club', 'short stories']],
];
const FORMS = ['A beginner guide to', 'Ten things about', 'What experts say on', 'The best of', 'Why people love', 'Notes on', 'A week of', 'Common mistakes with'];
function items(n, from = 0) {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const [topic, subjects] = TOPICS[i % TOPICS.length];
    const subject = subjects[Math.floor(i / TOPICS.length) % subjects.length];
    const form = FORMS[Math.floor(i / (TOPICS.length * subjects.length)) % FORMS.length];
    return { id: `item-${i}`, text: `${form} ${subject}, part ${i}`, tags: [topic], prior: (i % 10) / 10 };
  });
}

// The page: the package as an ES module; the test drives it through window.run.
const PAGE = `<!doctype html><meta charset="utf-8"><title>Attune at scale</title>
<script type="module">
import Attune from '/pkg/index.js';
window.Attune = Attune;
window.ready = true;
</script>`;

function serve(port) {
  const roots = { '/pkg/': path.join(REPO, 'pkg'), '/models/': path.join(REPO, 'models/out'), '/bench/': path.join(REPO, 'bench/out') };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/' || url.pathname === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(PAGE);
    }
    const root = Object.keys(roots).find((r) => url.pathname.startsWith(r));
    const file = root && path.join(roots[root], path.normalize(url.pathname.slice(root.length)));
    if (!file || !(await fs.stat(file).catch(() => null))?.isFile()) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

/** GC then used JS heap, of the page's isolate or of a worker's (browser CDP, non-flat). */
async function heapMeter(browserSession, page) {
  const pageSession = await page.context().newCDPSession(page);
  let worker = null;
  let id = 0;
  const waits = new Map();
  browserSession.on('Target.receivedMessageFromTarget', (e) => {
    if (e.sessionId !== worker) return; // another mode's worker
    const m = JSON.parse(e.message);
    waits.get(m.id)?.(m.result);
    waits.delete(m.id);
  });
  const viaWorker = (method) => new Promise((resolve) => {
    const i = ++id;
    waits.set(i, resolve);
    browserSession.send('Target.sendMessageToTarget', { sessionId: worker, message: JSON.stringify({ id: i, method, params: {} }) });
  });
  return {
    async attachWorker() {
      const { targetInfos } = await browserSession.send('Target.getTargets');
      const t = targetInfos.find((x) => x.type === 'worker' && x.url.includes('/pkg/'));
      assert.ok(t, 'the Attune worker is running');
      worker = (await browserSession.send('Target.attachToTarget', { targetId: t.targetId, flatten: false })).sessionId;
    },
    async used(mode) {
      const send = mode === 'worker' ? viaWorker : (m) => pageSession.send(m);
      for (let k = 0; k < 3; k++) await send('HeapProfiler.collectGarbage');
      return (await send('Runtime.getHeapUsage')).usedSize;
    },
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function runMode(context, browserSession, mode, report) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${PORT}/`);
  await page.waitForFunction(() => window.ready === true);
  const meter = await heapMeter(browserSession, page);
  const open = await page.evaluate(async ({ worker, embedder }) => {
    const t = performance.now();
    window.attune = await window.Attune.open({ namespace: 'scale', worker, embedder: { url: `/models/${embedder}` } });
    return performance.now() - t;
  }, { worker: mode === 'worker', embedder: EMBEDDER });
  if (mode === 'worker') await meter.attachWorker();
  const call = (fn, a) => page.evaluate(fn, a);
  const out = { mode, openMs: open };
  const cat = items(1000);

  // The first rank of 1 000 new texts embeds them in batches, with progress; compared with
  // `embed` of other texts of the same shape (the same work without the cache).
  await call(() => window.attune.clear());
  const first = await call(async (its) => {
    const progress = [];
    const t = performance.now();
    const r = await window.attune.rank(its, { onProgress: (p) => progress.push(p) });
    return { ms: performance.now() - t, n: r.length, ids: new Set(r.map((x) => x.id)).size, progress };
  }, cat);
  assert.equal(first.n, 1000);
  assert.equal(first.ids, 1000, 'rank returns a permutation');
  assert.ok(first.progress.length >= 1000 / 32 - 1, `progress after each batch (${first.progress.length})`);
  assert.deepEqual(first.progress.at(-1), { done: 1000, total: 1000 });
  out.firstRank1000Ms = first.ms;
  if (BENCH) {
    const other = items(1000, 50_000).map((i) => i.text);
    out.embed1000Ms = await call(async (texts) => {
      const t = performance.now();
      for (let k = 0; k < texts.length; k += 256) await window.attune.embed(texts.slice(k, k + 256));
      return performance.now() - t;
    }, other);
    out.firstRankOverEmbed = out.firstRank1000Ms / out.embed1000Ms;
  }

  // Hundreds of events: 100 distinct items, each tracked several times (seen before after the
  // first), then the repeated ranks; memory is measured after a warm-up and at the end.
  const tracked = items(100, 2000);
  const trackTimes = await call(async (its) => {
    const times = [];
    for (let k = 0; k < 300; k++) {
      const it = its[k % its.length];
      const t = performance.now();
      await window.attune.track({ type: k % 7 === 0 ? 'like' : 'click', item: it });
      if (k >= its.length) times.push(performance.now() - t);
    }
    return times;
  }, tracked);
  out.trackSeenMedianMs = median(trackTimes);
  const rankTimes = async (n, its, opts = {}) => call(async ({ n, its, opts }) => {
    const times = [];
    for (let k = 0; k < n; k++) {
      const t = performance.now();
      const r = await window.attune.rank(its, opts);
      times.push(performance.now() - t);
      if (r.length !== Math.min(opts.limit ?? Infinity, its.length)) throw new Error(`rank returned ${r.length} of ${its.length}`);
    }
    return times;
  }, { n, its, opts });
  await rankTimes(10, cat);
  const heap0 = await meter.used(mode);
  const wasm0 = (await call(() => window.attune.info())).memory.wasmBytes;
  const ranks = await rankTimes(BENCH ? 20 : 100, cat, { limit: 50 });
  out.rank1000CachedMedianMs = median(ranks);
  if (!BENCH) {
    // 700 more tracks (1 000 in all) between the measurements.
    await call(async (its) => {
      for (let k = 0; k < 700; k++) await window.attune.track({ type: 'view', item: its[k % its.length] });
    }, tracked);
  }
  const heap1 = await meter.used(mode);
  const info = await call(() => window.attune.info());
  const wasm1 = info.memory.wasmBytes;
  Object.assign(out, { heapBefore: heap0, heapAfter: heap1, wasmBefore: wasm0, wasmAfter: wasm1, storage: info.storage });
  if (!BENCH) {
    assert.ok(heap1 - heap0 < JS_HEAP_BOUND, `${mode}: JS heap grew ${heap1 - heap0} B over 100 rank(1000) + 700 track`);
    assert.ok(wasm1 - wasm0 < WASM_BOUND, `${mode}: wasm memory grew ${wasm1 - wasm0} B`);
    assert.equal(info.storage.cacheEntries, 1100, 'the catalog and the tracked items are cached, once each');

    // Cancellation between batches keeps what was embedded; cachedOnly ranks without waiting.
    const fresh = items(200, 10_000);
    const cancelled = await call(async (its) => {
      const ctl = new AbortController();
      let batches = 0;
      const err = await window.attune.rank(its, { signal: ctl.signal, onProgress: () => { if (++batches === 2) ctl.abort(); } })
        .then(() => null, (e) => e.code);
      const now = await window.attune.rank(its, { cachedOnly: true });
      return { err, batches, pending: now.filter((r) => r.pending).length, n: now.length };
    }, fresh);
    // A page firing calls without awaiting them meets back-pressure, not an unbounded queue.
    const flood = await call(async (it) => {
      const all = Array.from({ length: 2500 }, () => window.attune.track({ type: 'view', item: it }).then(() => 'ok', (e) => e.code));
      const codes = await Promise.all(all);
      return { ok: codes.filter((c) => c === 'ok').length, busy: codes.filter((c) => c === 'busy').length };
    }, tracked[0]);
    assert.equal(flood.ok + flood.busy, 2500, JSON.stringify(flood));
    assert.ok(flood.ok >= 1000 && flood.busy >= 1000, `back-pressure: ${JSON.stringify(flood)}`);
    assert.equal(cancelled.err, 'aborted');
    assert.equal(cancelled.n, 200);
    assert.ok(cancelled.pending > 0 && cancelled.pending <= 200 - 32, `pending ${cancelled.pending} after ${cancelled.batches} batches`);
  }

  // Precomputed vectors: a catalog file made by `attune catalog`; ranking it embeds nothing.
  const big = items(BENCH ? 10_000 : 2000, 100_000);
  const file = await vectorFile(big);
  const pre = await call(async ({ its, url }) => {
    const loaded = await window.attune.addVectors(url);
    const before = (await window.attune.info()).storage.cacheEntries;
    const times = [];
    for (let k = 0; k < 10; k++) {
      const t = performance.now();
      const r = await window.attune.rank(its, { limit: 50 });
      times.push(performance.now() - t);
      if (r.length !== 50) throw new Error(`${r.length} results`);
    }
    const after = (await window.attune.info()).storage.cacheEntries;
    const wrong = await window.attune.addVectors(new Uint8Array([1, 2, 3])).then(() => null, (e) => e.code);
    return { loaded, times, embedded: after - before, wrong };
  }, { its: big.map(({ id, tags, prior }) => ({ id, tags, prior })), url: `/bench/${path.basename(file)}` });
  assert.equal(pre.loaded, big.length);
  assert.equal(pre.embedded, 0, 'precomputed items are never embedded');
  assert.equal(pre.wrong, 'invalid_argument');
  out[`rank${big.length}PrecomputedMedianMs`] = median(pre.times);

  await call(() => window.attune.close());
  assert.deepEqual(errors, []);
  await page.close();
  report.push(out);
  console.log(JSON.stringify(out));
}

/** A vector file of `its` (cached under bench/out by the items' and the model's hash). */
async function vectorFile(its) {
  await fs.mkdir(path.join(REPO, 'bench/out'), { recursive: true });
  const lines = its.map((i) => JSON.stringify(i)).join('\n');
  const model = await fs.stat(path.join(REPO, 'models/out', EMBEDDER));
  const tag = createHash('sha256').update(`${model.size}:${model.mtimeMs}\n${lines}`).digest('hex').slice(0, 12);
  const out = path.join(REPO, `bench/out/scale-vectors-${its.length}-${tag}.bin`);
  if (await fs.stat(out).catch(() => null)) return out;
  const jsonl = path.join(REPO, `bench/out/scale-items-${its.length}.jsonl`);
  await fs.writeFile(jsonl, lines);
  execFileSync(CLI, ['catalog', '--model', path.join(REPO, 'models/out', EMBEDDER), '--items', jsonl, '--out', out], { stdio: 'inherit' });
  return out;
}

const server = await serve(PORT);
const browser = await launch(['--js-flags=--expose-gc']);
const report = [];
let failed = 0;
try {
  // The browser-level CDP session reaches the worker's isolate (a page session does not).
  const browserSession = await browser.context.browser().newBrowserCDPSession();
  for (const mode of MODES) {
    try {
      await runMode(browser.context, browserSession, mode, report);
    } catch (e) {
      failed++;
      console.error(`scale ${mode}: FAILED`, e);
    }
  }
} finally {
  await browser.close();
  server.close();
}
if (BENCH) {
  await fs.writeFile(path.join(REPO, 'bench/out/rank.json'), JSON.stringify({ date: new Date().toISOString(), modes: report }, null, 2));
  console.log('wrote bench/out/rank.json');
}
console.log(`${MODES.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
