// Attune browser benchmark. For each quantization in ?types= (default q8_0,f16,q4_0,f32):
// download + load the model, warm up, then time batch-1 and batch-32 embedding over a fixed
// corpus. The result goes to window.__benchResult (read by scripts/bench-browser.mjs) and to
// the page. Optional query parameters: batch1=N sentences embedded one by one (default 64,
// at least 32), reps=N batch-32 repetitions (default 5, at least 3).

const ALL_TYPES = ['q8_0', 'f16', 'q4_0', 'f32'];
const MODEL_URL = (type) => `models/minilm-l6-v2.${type}.gguf`;
const WASM_URL = 'pkg/attune_bg.wasm';

// 64 realistic sentences of 8–40 words: product reviews, news, support messages, notes,
// recipes and travel, mostly English with some French, German, Spanish, Italian, Portuguese,
// Dutch, Polish, Swedish, Turkish, Indonesian and Russian.
// The corpus lives in bench-corpus.txt, one sentence per line, so the native benchmark
// (`attune bench`) measures the very same sentences.
const CORPUS = (await (await fetch('bench-corpus.txt')).text()).split('\n').filter((s) => s.trim());

const $ = (id) => document.getElementById(id);

function log(msg) {
  console.log(`[bench] ${msg}`);
  const li = document.createElement('li');
  li.textContent = msg;
  $('bench-log').append(li);
  $('bench-status').textContent = msg;
}

function parseParams() {
  const q = new URLSearchParams(location.search);
  const types = (q.get('types') || ALL_TYPES.join(','))
    .split(',').map((s) => s.trim()).filter(Boolean);
  const bad = types.filter((t) => !ALL_TYPES.includes(t));
  if (bad.length) throw benchError('invalid_argument', `unknown type(s) ${bad.join(', ')}; choose from ${ALL_TYPES.join(', ')}`);
  const batch1 = Math.max(32, Math.min(CORPUS.length * 4, Number(q.get('batch1')) || CORPUS.length));
  const reps = Math.max(3, Math.min(50, Number(q.get('reps')) || 5));
  return { types, batch1, reps };
}

function benchError(code, message) {
  const e = new Error(message);
  e.name = 'BenchError';
  e.code = code;
  return e;
}

function describeError(err) {
  return {
    name: err && err.name ? String(err.name) : 'Error',
    code: err && typeof err.code === 'string' ? err.code : 'error',
    message: err && err.message ? String(err.message) : String(err),
  };
}

const round = (x, d = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function fetchBytes(url) {
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw benchError('http_' + res.status, `${url} answered HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function gzipSize(bytes) {
  if (typeof CompressionStream === 'undefined') return null;
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'));
  const out = await new Response(stream).arrayBuffer();
  return out.byteLength;
}

function checkVectors(vectors, count, dim) {
  if (!Array.isArray(vectors) || vectors.length !== count) {
    throw benchError('bad_output', `expected ${count} vectors, got ${vectors && vectors.length}`);
  }
  for (const v of vectors) {
    if (!(v instanceof Float32Array) || v.length !== dim) throw benchError('bad_output', `vector of length ${v && v.length}, expected ${dim}`);
    let n = 0;
    for (let i = 0; i < v.length; i++) n += v[i] * v[i];
    if (!(Math.abs(Math.sqrt(n) - 1) < 1e-2)) throw benchError('bad_output', `vector norm ${Math.sqrt(n)} is not 1`);
  }
}

function dot(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

const tick = () => new Promise((r) => setTimeout(r, 0));

async function benchType(attune, type, opts) {
  const url = MODEL_URL(type);
  const entry = { type, file: url };

  log(`${type}: downloading ${url}`);
  const t0 = performance.now();
  const bytes = await fetchBytes(url);
  const t1 = performance.now();
  entry.model_bytes = bytes.length;
  entry.fetch_ms = round(t1 - t0);

  const emb = attune.Embedder.load(bytes);
  const t2 = performance.now();
  entry.init_ms = round(t2 - t1);
  entry.load_ms = round(t2 - t0);
  try {
    entry.backend = emb.backend;
    entry.dim = emb.dim;
    log(`${type}: loaded ${(bytes.length / 1048576).toFixed(1)} MB in ${entry.load_ms} ms (init ${entry.init_ms} ms), backend ${entry.backend}`);

    // Warm-up: one single-sentence call and one full batch, so first-call costs (allocator
    // growth, lazy tables, JIT tiers) stay out of the measurements.
    const tw = performance.now();
    checkVectors(await emb.embed([CORPUS[0]]), 1, entry.dim);
    checkVectors(await emb.embed(CORPUS.slice(0, 32)), 32, entry.dim);
    entry.warmup_ms = round(performance.now() - tw);
    await tick();

    // Batch 1: one sentence per call.
    const times1 = [];
    for (let i = 0; i < opts.batch1; i++) {
      const s = CORPUS[i % CORPUS.length];
      const ts = performance.now();
      const v = await emb.embed([s]);
      times1.push(performance.now() - ts);
      if (i === 0) checkVectors(v, 1, entry.dim);
    }
    const total1 = times1.reduce((a, b) => a + b, 0);
    entry.batch1 = {
      sentences: opts.batch1,
      total_ms: round(total1),
      median_ms: round(median(times1), 3),
      sentences_per_s: round((1000 * opts.batch1) / total1),
    };
    log(`${type}: batch 1 → ${entry.batch1.sentences_per_s} sentences/s (median ${entry.batch1.median_ms} ms/call)`);
    await tick();

    // Batch 32: 32 sentences per call, alternating the two halves of the corpus.
    const times32 = [];
    let firstHalf = null;
    for (let r = 0; r < opts.reps; r++) {
      const batch = r % 2 === 0 ? CORPUS.slice(0, 32) : CORPUS.slice(32, 64);
      const ts = performance.now();
      const v = await emb.embed(batch);
      times32.push(performance.now() - ts);
      if (r === 0) { checkVectors(v, 32, entry.dim); firstHalf = v; }
    }
    const total32 = times32.reduce((a, b) => a + b, 0);
    entry.batch32 = {
      reps: opts.reps,
      sentences: 32 * opts.reps,
      times_ms: times32.map((t) => round(t)),
      median_ms: round(median(times32)),
      sentences_per_s: round((1000 * 32 * opts.reps) / total32),
    };
    log(`${type}: batch 32 → ${entry.batch32.sentences_per_s} sentences/s (median ${entry.batch32.median_ms} ms/call)`);
    return { entry, vectors: firstHalf };
  } finally {
    emb.free();
  }
}

function renderSummary(result) {
  const tbody = $('bench-summary').querySelector('tbody');
  tbody.replaceChildren();
  for (const r of result.results) {
    const tr = document.createElement('tr');
    const cells = r.error
      ? [r.type, '—', '—', `${r.error.code}`, r.error.message, '—']
      : [
        r.type,
        `${(r.model_bytes / 1048576).toFixed(1)} MB`,
        `${Math.round(r.load_ms)} ms`,
        String(r.batch1.sentences_per_s),
        String(r.batch32.sentences_per_s),
        r.mean_cos_vs_f32 == null ? '—' : r.mean_cos_vs_f32.toFixed(4),
      ];
    for (const c of cells) {
      const td = document.createElement('td');
      td.textContent = c;
      tr.append(td);
    }
    tbody.append(tr);
  }
}

function showError(err) {
  const box = $('error');
  box.textContent = `${err.code}: ${err.message}`;
  box.hidden = false;
}

async function main() {
  const started = new Date();
  const result = {
    schema: 'attune-browser-bench/1',
    ok: false,
    started_at: started.toISOString(),
    user_agent: navigator.userAgent,
    cross_origin_isolated: Boolean(globalThis.crossOriginIsolated),
    hardware_concurrency: navigator.hardwareConcurrency || null,
    webgpu_available: typeof navigator.gpu !== 'undefined',
    page: location.href,
    wasm: null,
    corpus: {
      sentences: CORPUS.length,
      words: CORPUS.reduce((n, s) => n + s.split(/\s+/).length, 0),
    },
    params: null,
    results: [],
    errors: [],
  };
  const finish = () => {
    result.ok = result.errors.length === 0 && result.results.length > 0;
    result.finished_at = new Date().toISOString();
    result.duration_s = round((Date.now() - started.getTime()) / 1000, 1);
    $('bench-json').textContent = JSON.stringify(result, null, 2);
    renderSummary(result);
    $('bench-status').textContent = result.ok ? 'Done.' : 'Finished with errors.';
    window.__benchResult = result;
  };

  let attune;
  try {
    result.params = parseParams();
    log(`types ${result.params.types.join(', ')}; batch 1 over ${result.params.batch1} sentences; batch 32 × ${result.params.reps}`);

    const wasmBytes = await fetchBytes(WASM_URL);
    result.wasm = { file: WASM_URL, bytes: wasmBytes.length, gzip_bytes: await gzipSize(wasmBytes) };
    log(`wasm ${(wasmBytes.length / 1024).toFixed(0)} KB, gzip ${result.wasm.gzip_bytes == null ? '?' : (result.wasm.gzip_bytes / 1024).toFixed(0) + ' KB'}`);

    try {
      attune = await import('./pkg/attune.js');
    } catch (e) {
      throw benchError('wasm_missing', `could not import pkg/attune.js: ${e.message}`);
    }
    const ti = performance.now();
    await attune.default();
    result.wasm.instantiate_ms = round(performance.now() - ti);
  } catch (err) {
    const e = describeError(err);
    result.errors.push({ stage: 'setup', ...e });
    showError(e);
    log(`setup failed: ${e.code}: ${e.message}`);
    finish();
    return;
  }

  const vectorsByType = {};
  for (const type of result.params.types) {
    try {
      const { entry, vectors } = await benchType(attune, type, result.params);
      result.results.push(entry);
      vectorsByType[type] = vectors;
    } catch (err) {
      const e = describeError(err);
      result.results.push({ type, file: MODEL_URL(type), error: e });
      result.errors.push({ stage: type, ...e });
      showError(e);
      log(`${type}: failed: ${e.code}: ${e.message}`);
    }
    renderSummary(result);
    await tick();
  }

  // Agreement with the full-precision model on the first 32 sentences, if f32 ran.
  const ref = vectorsByType.f32;
  if (ref) {
    for (const entry of result.results) {
      const v = vectorsByType[entry.type];
      if (!v) continue;
      let sum = 0;
      let min = Infinity;
      for (let i = 0; i < ref.length; i++) {
        const c = dot(ref[i], v[i]);
        sum += c;
        min = Math.min(min, c);
      }
      entry.mean_cos_vs_f32 = round(sum / ref.length, 5);
      entry.min_cos_vs_f32 = round(min, 5);
    }
  }

  log('done');
  finish();
}

main().catch((err) => {
  // Last resort: never leave the runner waiting.
  const e = describeError(err);
  window.__benchResult = { schema: 'attune-browser-bench/1', ok: false, errors: [{ stage: 'internal', ...e }] };
  $('bench-json').textContent = JSON.stringify(window.__benchResult, null, 2);
  showError(e);
});
