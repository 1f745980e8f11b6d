#!/usr/bin/env node
// `make bench-peer`: Attune against transformers.js 4 in headless Chromium on the same corpus
// (bench/peer/corpus.txt), one 127.0.0.1 server for both, method in docs/peer-benchmark.md.
//
//   node scripts/bench-peer.mjs [--tjs-models DIR] [--repeats 3] [--engines LIST] [--ort asyncify|plain]
//        [--no-isolated] [--out bench/out/peer.json] [--chromium /usr/bin/chromium]
//
// Each measurement is a fresh browser profile: a first load (cold start uncached, first
// embedding, batch 1, batch 32), then the browser again on the same profile (cold start cached).
// Engines are interleaved, each repeat in a rotated order; the summary keeps medians. A request
// to anywhere but the server fails the run; a missed target is reported, not an error.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { startServer } from './static-server.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PEER = path.join(REPO, 'bench/peer');
const CACHE = process.env.ATTUNE_CACHE || path.join(os.homedir(), '.cache/attune');

const ENGINES = {
  attune: { engine: 'attune', file: 'minilm-l6-v2.q8_0.gguf', worker: 'true', label: 'Attune Q8_0 (worker, the default)' },
  'attune-inpage': { engine: 'attune', file: 'minilm-l6-v2.q8_0.gguf', worker: 'false', label: 'Attune Q8_0 (in page, worker: false)', singleOnly: true },
  'tjs-q8': { engine: 'tjs', dtype: 'q8', label: 'transformers.js q8 (dynamic int8, per channel)' },
  'tjs-int8': { engine: 'tjs', dtype: 'int8', label: 'transformers.js int8 (weight-only int8 wheel)' },
  'tjs-fp32': { engine: 'tjs', dtype: 'fp32', label: 'transformers.js fp32 (the reference)' },
};
// Chromium as in scripts/e2e-lib.mjs (no background traffic), without WebGPU: both libraries
// run on the CPU. The resolver rule makes any host but 127.0.0.1 unreachable besides.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-gpu', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'];

function parseArgs(argv) {
  const o = {
    out: path.join(REPO, 'bench/out/peer.json'), repeats: 3, engines: Object.keys(ENGINES), ort: 'plain',
    isolated: true, tjsModels: path.join(CACHE, 'peer/models'), chromium: process.env.CHROMIUM || '/usr/bin/chromium',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => { if (argv[i + 1] === undefined) die(`${a} needs a value`); return argv[++i]; };
    if (a === '--out') o.out = path.resolve(val());
    else if (a === '--repeats') o.repeats = Number(val());
    else if (a === '--engines') o.engines = val().split(',');
    else if (a === '--ort') o.ort = val();
    else if (a === '--no-isolated') o.isolated = false;
    else if (a === '--tjs-models') o.tjsModels = path.resolve(val());
    else if (a === '--chromium') o.chromium = val();
    else die(`unknown argument ${a}`);
  }
  if (!(Number.isInteger(o.repeats) && o.repeats >= 1)) die('--repeats must be a positive integer');
  for (const e of o.engines) if (!ENGINES[e]) die(`unknown engine ${e} (${Object.keys(ENGINES).join(', ')})`);
  if (!['asyncify', 'plain', 'jspi'].includes(o.ort)) die('--ort must be asyncify, plain or jspi');
  return o;
}

function die(msg) {
  console.error(`bench-peer: ${msg}`);
  process.exit(2);
}

const median = (xs) => {
  const s = xs.filter((x) => x != null).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x, d = 2) => (x == null ? null : Math.round(x * 10 ** d) / 10 ** d);

/** The served tree: links to the package, the models, transformers.js, onnxruntime-web and the page. */
async function makeRoot(o) {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'attune-peer-root-'));
  const links = {
    page: path.join(PEER, 'www'),
    'corpus.txt': path.join(PEER, 'corpus.txt'),
    attune: path.join(REPO, 'pkg'),
    models: path.join(REPO, 'models/out'),
    tjs: path.join(PEER, 'node_modules/@huggingface/transformers/dist'),
    ort: path.join(PEER, 'node_modules/onnxruntime-web/dist'),
    'tjs-models': o.tjsModels,
  };
  for (const [name, target] of Object.entries(links)) {
    try { await fs.access(target); } catch { die(`${target} is missing (make pkg models; npm ci in bench/peer; scripts/peer-models.py)`); }
    await fs.symlink(target, path.join(root, name));
  }
  return root;
}

/** Every request the server answered, for the bytes a load fetched. */
function logRequests(server) {
  const log = [];
  server.on('request', (req, res) => {
    res.on('finish', () => log.push({ url: req.url.split('?')[0], method: req.method, status: res.statusCode }));
  });
  return log;
}

const gzipCache = new Map();
async function fileBytes(root, urlPath) {
  const file = path.join(root, decodeURIComponent(urlPath));
  if (!gzipCache.has(file)) {
    const raw = await fs.readFile(file);
    gzipCache.set(file, { raw: raw.length, gzip: zlib.gzipSync(raw, { level: 9 }).length });
  }
  return gzipCache.get(file);
}

/** JS + wasm of the library that a load fetched (not the benchmark page), raw and gzip -9. */
async function codeBytes(root, log) {
  const files = [...new Set(log.filter((r) => r.status === 200 && /^\/(attune|tjs|ort)\/.*\.(m?js|wasm)$/.test(r.url)).map((r) => r.url))].sort();
  let raw = 0;
  let gzip = 0;
  for (const f of files) {
    const b = await fileBytes(root, f);
    raw += b.raw;
    gzip += b.gzip;
  }
  return { files, raw, gzip };
}

/** Bytes of model files served (GET, 200): the whole file each time, as the server sends it. */
async function modelBytes(root, log) {
  let n = 0;
  for (const r of log) {
    if (r.method === 'GET' && r.status === 200 && /^\/(models|tjs-models)\//.test(r.url)) n += (await fs.stat(path.join(root, decodeURIComponent(r.url)))).size;
  }
  return n;
}

async function loadOnce(chromium, o, profile, url, foreign) {
  const context = await chromium.launchPersistentContext(profile, { executablePath: o.chromium, headless: true, args: CHROMIUM_ARGS });
  try {
    const origin = new URL(url).origin;
    await context.route('**/*', (route) => {
      const u = route.request().url();
      if (new URL(u).origin === origin) return route.continue();
      foreign.push(u);
      return route.abort('blockedbyclient');
    });
    context.on('requestfailed', (r) => { if (!r.url().startsWith(origin) && !/^(blob|data):/.test(r.url())) foreign.push(r.url()); });
    const page = context.pages()[0] || (await context.newPage());
    page.on('console', (m) => { if (m.type() === 'error') console.error(`  page error: ${m.text()}`); });
    await page.goto(url, { waitUntil: 'load', timeout: 120_000 });
    await page.waitForFunction(() => window.__peerResult !== undefined, null, { timeout: 600_000, polling: 200 });
    const r = await page.evaluate(() => window.__peerResult);
    if (!r.ok) throw new Error(`${url}: ${r.error}`);
    return r;
  } finally {
    await context.close();
  }
}

async function measure(chromium, o, root, server, log, name, isolated, sha256) {
  const e = ENGINES[name];
  const q = new URLSearchParams({ engine: e.engine, threads: isolated ? '2' : '1', ort: o.ort });
  if (e.engine === 'attune') { q.set('file', e.file); q.set('sha256', sha256); q.set('worker', e.worker); } else q.set('dtype', e.dtype);
  const base = `http://127.0.0.1:${server.address().port}/page/index.html?${q}`;
  const profile = await fs.mkdtemp(path.join(os.tmpdir(), 'attune-peer-profile-'));
  const foreign = [];
  try {
    log.length = 0;
    const full = await loadOnce(chromium, o, profile, `${base}&phase=full`, foreign);
    const code = await codeBytes(root, log);
    const uncachedModel = await modelBytes(root, log);
    log.length = 0;
    const cached = await loadOnce(chromium, o, profile, `${base}&phase=cold`, foreign);
    if (foreign.length) throw new Error(`requests left 127.0.0.1: ${[...new Set(foreign)].join(', ')}`);
    if (full.cross_origin_isolated !== isolated) throw new Error(`crossOriginIsolated is ${full.cross_origin_isolated}, expected ${isolated}`);
    return {
      engine: name, isolated, info: full.info, cross_origin_isolated: full.cross_origin_isolated,
      cold_start_uncached_ms: full.cold_start_ms, cold_start_cached_ms: cached.cold_start_ms,
      first_embedding_ms: full.first_embedding_ms, batch1: full.batch1, batch32: full.batch32,
      code, model_bytes_uncached: uncachedModel, model_bytes_cached: await modelBytes(root, log), vectors_b64: full.vectors_b64,
    };
  } finally {
    await fs.rm(profile, { recursive: true, force: true });
  }
}

function vectors(b64) {
  const all = new Float32Array(new Uint8Array(Buffer.from(b64, 'base64')).buffer);  // copied: aligned
  const out = [];
  for (let i = 0; i < all.length; i += 384) out.push(all.subarray(i, i + 384));
  return out;
}

function cosines(a, b) {
  const cs = a.map((v, i) => v.reduce((s, x, j) => s + x * b[i][j], 0));
  return { min: Math.min(...cs), mean: cs.reduce((s, c) => s + c, 0) / cs.length };
}

function summarise(runs, isolated, ref) {
  const out = {};
  for (const name of [...new Set(runs.filter((r) => r.isolated === isolated).map((r) => r.engine))]) {
    const rs = runs.filter((r) => r.isolated === isolated && r.engine === name);
    const cosAll = ref ? rs.map((r) => cosines(vectors(r.vectors_b64), ref)) : null;
    out[name] = {
      label: ENGINES[name].label,
      repeats: rs.length,
      info: rs[0].info,
      cross_origin_isolated: rs[0].cross_origin_isolated,
      cold_start_uncached_ms: round(median(rs.map((r) => r.cold_start_uncached_ms)), 1),
      cold_start_cached_ms: round(median(rs.map((r) => r.cold_start_cached_ms)), 1),
      first_embedding_ms: round(median(rs.map((r) => r.first_embedding_ms)), 1),
      batch1_p50_ms: round(median(rs.map((r) => r.batch1.p50_ms))),
      batch1_p90_ms: round(median(rs.map((r) => r.batch1.p90_ms))),
      batch32_sentences_per_s: round(median(rs.map((r) => r.batch32.sentences_per_s)), 1),
      batch1_p50_ms_each: rs.map((r) => round(r.batch1.p50_ms)),
      batch32_sentences_per_s_each: rs.map((r) => round(r.batch32.sentences_per_s, 1)),
      min_cos_batch32_to_batch1: round(Math.min(...rs.map((r) => r.batch32.min_cos_to_batch1)), 5),
      cos_to_fp32: cosAll ? { min: round(Math.min(...cosAll.map((c) => c.min)), 5), mean: round(median(cosAll.map((c) => c.mean)), 5) } : null,
      js_wasm_bytes: { raw: rs[0].code.raw, gzip: rs[0].code.gzip, files: rs[0].code.files },
      model_bytes: rs[0].model_bytes_uncached,
      model_bytes_fetched_when_cached: median(rs.map((r) => r.model_bytes_cached)),
    };
  }
  return out;
}

/** Word pieces per corpus sentence (without [CLS]/[SEP]), by the model's own tokenizer.json. */
async function wordPieces(corpus, tjsModels) {
  const { AutoTokenizer, env } = await import(path.join(PEER, 'node_modules/@huggingface/transformers/dist/transformers.node.mjs'));
  env.allowRemoteModels = false;
  env.localModelPath = tjsModels + path.sep;
  const tok = await AutoTokenizer.from_pretrained('all-MiniLM-L6-v2');
  const n = corpus.map((s) => tok.encode(s).length - 2);
  return { mean: round(n.reduce((a, b) => a + b, 0) / n.length, 1), median: median(n), min: Math.min(...n), max: Math.max(...n) };
}

/** Attune (worker mode, what a site gets by default) against the best transformers.js configuration of each measure. */
function compare(s, isolated) {
  const a = s.attune;
  const tjs = Object.entries(s).filter(([n]) => n.startsWith('tjs-'));
  if (!a || !tjs.length) return null;
  const [p50Name, p50] = tjs.reduce((b, x) => (x[1].batch1_p50_ms < b[1].batch1_p50_ms ? x : b));
  const [tputName, tput] = tjs.reduce((b, x) => (x[1].batch32_sentences_per_s > b[1].batch32_sentences_per_s ? x : b));
  const p50Ratio = a.batch1_p50_ms / p50.batch1_p50_ms;
  const tputRatio = a.batch32_sentences_per_s / tput.batch32_sentences_per_s;
  const target = isolated ? { p50_at_most: 1, throughput_at_least: 1 } : { p50_at_most: 0.66, throughput_at_least: 1.5 };
  return {
    best_tjs_batch1: p50Name, best_tjs_batch32: tputName,
    batch1_p50_ratio: round(p50Ratio, 3), batch32_throughput_ratio: round(tputRatio, 3), target,
    batch1_met: p50Ratio <= target.p50_at_most, batch32_met: tputRatio >= target.throughput_at_least,
  };
}

function commit() {
  try {
    const sha = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', REPO, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim();
    return dirty ? `${sha}-dirty` : sha;
  } catch { return null; }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const { chromium } = await import('playwright-core');
  const manifest = JSON.parse(readFileSync(path.join(REPO, 'models/out/manifest.json'), 'utf8'));
  const sha256 = manifest.files[ENGINES.attune.file].sha256;
  const root = await makeRoot(o);
  const started = new Date();
  const startCommit = commit();
  const runs = [];
  try {
    for (const isolated of o.isolated ? [false, true] : [false]) {
      const server = await startServer(root, { isolate: isolated });
      const log = logRequests(server);
      const engines = o.engines.filter((n) => !(isolated && ENGINES[n].singleOnly));
      try {
        for (let rep = 0; rep < o.repeats; rep++) {
          const order = engines.map((_, i) => engines[(i + rep) % engines.length]);
          for (const name of order) {
            const t = Date.now();
            const r = await measure(chromium, o, root, server, log, name, isolated, sha256);
            runs.push(r);
            console.error(`bench-peer: ${isolated ? 'coop/coep' : 'single   '} rep ${rep + 1} ${name.padEnd(13)} ` +
              `cold ${r.cold_start_uncached_ms.toFixed(0)}/${r.cold_start_cached_ms.toFixed(0)} ms  first ${r.first_embedding_ms.toFixed(1)} ms  ` +
              `b1 p50 ${r.batch1.p50_ms.toFixed(2)} p90 ${r.batch1.p90_ms.toFixed(2)} ms  b32 ${r.batch32.sentences_per_s.toFixed(1)}/s  (${((Date.now() - t) / 1000).toFixed(0)} s)`);
          }
        }
      } finally {
        await new Promise((r) => { server.close(r); server.closeAllConnections?.(); });
      }
    }
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }

  // The reference: fp32 ONNX through transformers.js, single thread, first repeat (each sentence alone).
  const refRun = runs.find((r) => r.engine === 'tjs-fp32' && !r.isolated);
  const ref = refRun ? vectors(refRun.vectors_b64) : null;
  const corpus = readFileSync(path.join(PEER, 'corpus.txt'), 'utf8').split('\n').filter((s) => s.trim());
  const single = summarise(runs, false, ref);
  const isolated = o.isolated ? summarise(runs, true, ref) : null;
  const result = {
    schema: 'attune-peer-bench/1',
    date: started.toISOString(),
    commit: startCommit,
    // Which build of the package ran (pkg/ is built by `make pkg`, not committed).
    attune_wasm_sha256: createHash('sha256').update(readFileSync(path.join(REPO, 'pkg/attune_wasm_bg.wasm'))).digest('hex'),
    chromium: execFileSync(o.chromium, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
    transformers_js: JSON.parse(readFileSync(path.join(PEER, 'node_modules/@huggingface/transformers/package.json'), 'utf8')).version,
    onnxruntime_web: JSON.parse(readFileSync(path.join(PEER, 'node_modules/onnxruntime-web/package.json'), 'utf8')).version,
    ort_wasm: o.ort,
    cpu: `${os.cpus()[0]?.model} × ${os.cpus().length}`,
    corpus: { file: 'bench/peer/corpus.txt', sentences: corpus.length, word_pieces: await wordPieces(corpus, o.tjsModels) },
    repeats: o.repeats,
    duration_s: Math.round((Date.now() - started) / 1000),
    single_thread: single,
    coop_coep: isolated,
    vs_best_transformers_js: { single_thread: compare(single, false), coop_coep: isolated && compare(isolated, true) },
  };
  await fs.mkdir(path.dirname(o.out), { recursive: true });
  await fs.writeFile(o.out, JSON.stringify(result, null, 2) + '\n');
  for (const [mode, s] of [['single thread', single], ['COOP/COEP', isolated]]) {
    if (!s) continue;
    console.log(`\n${mode}: engine | cold uncached / cached ms | first ms | batch-1 p50 / p90 ms | batch-32 /s | cos fp32 min / mean | JS+wasm gzip`);
    for (const [n, x] of Object.entries(s)) {
      console.log(`  ${n.padEnd(13)} | ${x.cold_start_uncached_ms} / ${x.cold_start_cached_ms} | ${x.first_embedding_ms} | ${x.batch1_p50_ms} / ${x.batch1_p90_ms} | ` +
        `${x.batch32_sentences_per_s} | ${x.cos_to_fp32 ? `${x.cos_to_fp32.min} / ${x.cos_to_fp32.mean}` : '-'} | ${x.js_wasm_bytes.gzip}`);
    }
  }
  for (const [mode, c] of Object.entries(result.vs_best_transformers_js)) {
    if (!c) continue;
    console.log(`${mode}: Attune / best transformers.js: batch-1 p50 ${c.batch1_p50_ratio} (${c.best_tjs_batch1}; target ≤ ${c.target.p50_at_most}: ${c.batch1_met ? 'met' : 'MISSED'}), ` +
      `batch-32 ${c.batch32_throughput_ratio} (${c.best_tjs_batch32}; target ≥ ${c.target.throughput_at_least}: ${c.batch32_met ? 'met' : 'MISSED'})`);
  }
  console.log(`bench-peer: wrote ${path.relative(REPO, o.out)}`);
}

main().catch((e) => { console.error(`bench-peer: ERROR: ${e && e.stack || e}`); process.exit(1); });
