// One measurement in a fresh page: load one engine and model (`?engine=attune&file=…&sha256=…
// &worker=true` or `?engine=tjs&dtype=q8|int8|fp32&threads=N&ort=asyncify`), then
//   cold start: navigation start → embedder ready (JS, wasm and model fetched and initialised);
//   first embedding: the first one-sentence call;
// and with `phase=full` also batch 1 (each corpus sentence alone, after one untimed batch of 32)
// and batch 32 (the corpus in batches of 32). The result goes to window.__peerResult, the batch-1
// vectors as base64 little-endian float32 (the runner compares them with the fp32 reference).

import { open } from './engines.js';

const params = new URLSearchParams(location.search);
const status = (s) => { document.getElementById('status').textContent = s; };

function toBase64(vectors) {
  const dim = vectors[0].length;
  const all = new Float32Array(vectors.length * dim);
  vectors.forEach((v, i) => all.set(v, i * dim));
  const bytes = new Uint8Array(all.buffer);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (i - lo);
};

const cos = (a, b) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

function check(vectors, n) {
  if (vectors.length !== n) throw new Error(`expected ${n} vectors, got ${vectors.length}`);
  for (const v of vectors) {
    const norm = Math.sqrt(cos(v, v));
    if (v.length !== 384 || !(Math.abs(norm - 1) < 1e-2)) throw new Error(`bad vector (length ${v.length}, norm ${norm})`);
  }
}

async function run() {
  const corpus = (await (await fetch('/corpus.txt')).text()).split('\n').filter((s) => s.trim());
  const engine = await open(params);
  const r = {
    cold_start_ms: engine.ready,
    cross_origin_isolated: globalThis.crossOriginIsolated,
    hardware_concurrency: navigator.hardwareConcurrency,
    webgpu_api: 'gpu' in navigator,
    user_agent: navigator.userAgent,
    info: engine.info,
  };
  let t = performance.now();
  check(await engine.embed([corpus[0]]), 1);
  r.first_embedding_ms = performance.now() - t;
  if (params.get('phase') !== 'full') return r;

  status('batch 1');
  check(await engine.embed(corpus.slice(0, 32)), 32);
  const times = [];
  const single = [];
  for (const s of corpus) {
    t = performance.now();
    const [v] = await engine.embed([s]);
    times.push(performance.now() - t);
    single.push(v);
  }
  check(single, corpus.length);
  r.batch1 = { sentences: corpus.length, p50_ms: quantile(times, 0.5), p90_ms: quantile(times, 0.9), mean_ms: times.reduce((a, b) => a + b) / times.length };

  status('batch 32');
  const batched = [];
  t = performance.now();
  for (let i = 0; i < corpus.length; i += 32) batched.push(...(await engine.embed(corpus.slice(i, i + 32))));
  const total = performance.now() - t;
  check(batched, corpus.length);
  r.batch32 = { sentences: corpus.length, total_ms: total, sentences_per_s: (1000 * corpus.length) / total, min_cos_to_batch1: Math.min(...batched.map((v, i) => cos(v, single[i]))) };
  r.vectors_b64 = toBase64(single);
  return r;
}

run().then(
  (r) => { status('done'); window.__peerResult = { ok: true, ...r }; },
  (e) => { status(`failed: ${e.message}`); window.__peerResult = { ok: false, error: String(e && e.stack || e) }; },
);
