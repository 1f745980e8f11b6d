// Attune demo: load a GGUF embedder into WebAssembly and show pairwise sentence similarity.
// Plain ES module, no dependencies. Everything runs in this tab; nothing is uploaded.

const MODEL_URL = (type) => `models/minilm-l6-v2.${type}.gguf`;
const MODEL_TYPES = ['q8_0', 'f16', 'q4_0', 'f32'];
const MAX_LINES = 32;
const DEBOUNCE_MS = 450;

const $ = (id) => document.getElementById(id);
const ui = {
  select: $('model-select'),
  progressWrap: $('progress-wrap'),
  progress: $('load-progress'),
  progressLabel: $('load-progress-label'),
  status: $('fact-status'),
  size: $('fact-size'),
  load: $('fact-load'),
  backend: $('fact-backend'),
  sentences: $('sentences'),
  embedButton: $('embed-button'),
  embedTime: $('embed-time'),
  error: $('error'),
  matrix: $('matrix'),
  matrixEmpty: $('matrix-empty'),
};

let attune = null;     // the wasm-bindgen module namespace
let embedder = null;   // the loaded Embedder
let loadSeq = 0;       // bumps on every model switch; stale loads give up
let embedSeq = 0;      // bumps on every embed request; stale results are dropped

// The Embedder refuses overlapping calls ("busy"), and a model must not be freed while it is
// embedding, so every use of the wasm object goes through this one queue.
let queue = Promise.resolve();
function exclusive(task) {
  const run = queue.then(task, task);
  queue = run.catch(() => {});
  return run;
}

// ---------- formatting ----------

function formatBytes(n) {
  if (!Number.isFinite(n)) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

function formatMs(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

// ---------- errors ----------

function errorCode(err) {
  if (err && typeof err === 'object' && typeof err.code === 'string') return err.code;
  if (err && err.name && err.name !== 'Error') return err.name;
  return 'error';
}

function showError(err, context) {
  const code = errorCode(err);
  const message = err && err.message ? err.message : String(err);
  ui.error.replaceChildren();
  const strong = document.createElement('strong');
  strong.textContent = context ? `${context}: ` : 'Error: ';
  const codeEl = document.createElement('code');
  codeEl.textContent = code;
  ui.error.append(strong, codeEl, document.createTextNode(` — ${message}`));
  ui.error.hidden = false;
  console.error(context || 'Attune', err);
}

function clearError() {
  ui.error.hidden = true;
  ui.error.replaceChildren();
}

function appError(code, message) {
  const e = new Error(message);
  e.name = 'AppError';
  e.code = code;
  return e;
}

// ---------- wasm module ----------

async function loadWasm() {
  if (attune) return attune;
  let mod;
  try {
    mod = await import('./pkg/attune.js');
  } catch (e) {
    throw appError('wasm_missing',
      `could not import pkg/attune.js (${e.message}). Build the WebAssembly package into www/pkg first.`);
  }
  await mod.default();
  attune = mod;
  return mod;
}

// ---------- model download with progress ----------

async function fetchWithProgress(url, onProgress) {
  let res;
  try {
    res = await fetch(url);
  } catch (e) {
    throw appError('network', `could not fetch ${url}: ${e.message}`);
  }
  if (!res.ok) {
    throw appError('http_' + res.status,
      `${url} answered HTTP ${res.status}${res.status === 404 ? ' — has the model been built into www/models/?' : ''}`);
  }
  const total = Number(res.headers.get('Content-Length')) || 0;
  if (!res.body) {
    const buf = new Uint8Array(await res.arrayBuffer());
    onProgress(buf.length, buf.length);
    return buf;
  }
  const reader = res.body.getReader();
  // Write straight into one buffer when the size is known; otherwise collect and join.
  let buf = total ? new Uint8Array(total) : null;
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (buf && received + value.length <= buf.length) {
      buf.set(value, received);
    } else {
      if (buf) { chunks.push(buf.subarray(0, received)); buf = null; }
      chunks.push(value);
    }
    received += value.length;
    onProgress(received, total);
  }
  if (buf) return received === buf.length ? buf : buf.subarray(0, received);
  const out = new Uint8Array(received);
  let off = 0;
  for (const c of chunks) { out.set(c, off); off += c.length; }
  return out;
}

function setProgress(received, total) {
  ui.progressWrap.hidden = false;
  if (total > 0) {
    ui.progress.max = total;
    ui.progress.value = Math.min(received, total);
    ui.progressLabel.textContent =
      `${formatBytes(received)} / ${formatBytes(total)} (${Math.floor((100 * received) / total)}%)`;
  } else {
    ui.progress.removeAttribute('value'); // indeterminate
    ui.progressLabel.textContent = `${formatBytes(received)}`;
  }
}

// Label each option with its file size (HEAD request; quietly skipped if unavailable).
async function annotateSizes() {
  await Promise.all([...ui.select.options].map(async (opt) => {
    try {
      const res = await fetch(MODEL_URL(opt.value), { method: 'HEAD' });
      const n = Number(res.headers.get('Content-Length'));
      if (res.ok && n > 0) opt.textContent = `${opt.textContent.replace(/ · .*$/, '')} · ${formatBytes(n)}`;
    } catch { /* sizes are a nicety */ }
  }));
}

const nextFrame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));

async function loadModel(type) {
  const seq = ++loadSeq;
  clearError();
  ui.embedButton.disabled = true;
  ui.status.textContent = `Downloading ${type}…`;
  ui.size.textContent = '—';
  ui.load.textContent = '—';
  ui.backend.textContent = '—';
  setProgress(0, 0);
  const t0 = performance.now();
  try {
    const mod = await loadWasm();
    const bytes = await fetchWithProgress(MODEL_URL(type), (r, t) => {
      if (seq === loadSeq) setProgress(r, t);
    });
    if (seq !== loadSeq) return;
    const tFetched = performance.now();
    ui.size.textContent = formatBytes(bytes.length);
    ui.status.textContent = `Preparing ${type}…`;
    await nextFrame(); // let the status paint: Embedder.load runs on this thread
    await exclusive(() => {
      if (seq !== loadSeq) return;
      if (embedder) { embedder.free(); embedder = null; }
      embedder = mod.Embedder.load(bytes);
    });
    if (seq !== loadSeq) return;
    const t1 = performance.now();
    ui.progressWrap.hidden = true;
    ui.status.textContent = `${type} loaded · ${embedder.dim} dimensions`;
    ui.load.textContent = `${formatMs(t1 - t0)} (download ${formatMs(tFetched - t0)}, init ${formatMs(t1 - tFetched)})`;
    ui.backend.textContent = embedder.backend || '—';
    ui.embedButton.disabled = false;
    scheduleEmbed(0);
  } catch (err) {
    if (seq !== loadSeq) return;
    ui.progressWrap.hidden = true;
    ui.status.textContent = `Failed to load ${type}`;
    showError(err, 'Loading the model failed');
  }
}

// ---------- embedding and the matrix ----------

function currentLines() {
  return ui.sentences.value
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .slice(0, MAX_LINES);
}

function dot(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

// Similarity → background colour. Values of this model sit mostly in [0, 1]; negatives clamp
// to the palest shade. The text colour is whichever of near-black and white contrasts more
// with the cell (WCAG relative luminance), so every value stays readable.
function hslToRgb(h, s, l) {
  const k = (n) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n) => l - a * Math.max(-1, Math.min(k(n) - 3, 9 - k(n), 1));
  return [f(0), f(8), f(4)];
}

function luminance([r, g, b]) {
  const lin = (c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

const DARK_TEXT = '#111418';
const DARK_TEXT_LUM = luminance([0x11 / 255, 0x14 / 255, 0x18 / 255]);

function cellColours(sim) {
  const t = Math.max(0, Math.min(1, sim));
  const h = 214;
  const s = 0.35 + t * 0.4;
  const l = 0.97 - t * 0.66;               // 97% → 31%
  const bg = luminance(hslToRgb(h, s, l));
  const onWhite = 1.05 / (bg + 0.05);
  const onDark = (bg + 0.05) / (DARK_TEXT_LUM + 0.05);
  return {
    background: `hsl(${h} ${(s * 100).toFixed(0)}% ${(l * 100).toFixed(1)}%)`,
    color: onWhite > onDark ? '#ffffff' : DARK_TEXT,
  };
}

function renderMatrix(lines, vectors) {
  const n = lines.length;
  const table = ui.matrix;
  const caption = table.querySelector('caption');
  table.replaceChildren(caption);
  if (n === 0) {
    ui.matrixEmpty.hidden = false;
    return;
  }
  ui.matrixEmpty.hidden = true;

  const sims = vectors.map((a) => vectors.map((b) => dot(a, b)));

  const thead = document.createElement('thead');
  const hr = document.createElement('tr');
  const corner = document.createElement('th');
  corner.scope = 'col';
  corner.innerHTML = '<span class="visually-hidden">Sentence</span>';
  hr.append(corner);
  for (let j = 0; j < n; j++) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = String(j + 1);
    th.title = lines[j];
    th.setAttribute('aria-label', `${j + 1}: ${lines[j]}`);
    hr.append(th);
  }
  thead.append(hr);

  const tbody = document.createElement('tbody');
  for (let i = 0; i < n; i++) {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.title = lines[i];
    const num = document.createElement('span');
    num.className = 'num';
    num.textContent = String(i + 1);
    th.append(num, document.createTextNode(lines[i]));
    tr.append(th);

    let best = -1;
    for (let j = 0; j < n; j++) if (j !== i && (best < 0 || sims[i][j] > sims[i][best])) best = j;

    for (let j = 0; j < n; j++) {
      const td = document.createElement('td');
      const s = sims[i][j];
      td.textContent = s.toFixed(2);
      const { background, color } = cellColours(s);
      td.style.background = background;
      td.style.color = color;
      if (i === j) td.classList.add('self');
      if (j === best) {
        td.classList.add('best');
        td.title = `Closest to sentence ${i + 1}`;
      }
      tr.append(td);
    }
    tbody.append(tr);
  }
  table.append(thead, tbody);
}

let debounceTimer = 0;
function scheduleEmbed(delay = DEBOUNCE_MS) {
  clearTimeout(debounceTimer);
  debounceTimer = setTimeout(runEmbed, delay);
}

async function runEmbed() {
  clearTimeout(debounceTimer);
  if (!embedder) return;
  const seq = ++embedSeq;
  const lines = currentLines();
  if (lines.length === 0) {
    renderMatrix([], []);
    ui.embedTime.textContent = '';
    return;
  }
  ui.embedTime.textContent = 'Embedding…';
  try {
    const result = await exclusive(async () => {
      if (seq !== embedSeq || !embedder) return null; // superseded while queued
      let tokens = 0;
      for (const line of lines) {
        try { tokens += embedder.tokenize(line).length; } catch { /* embed reports it */ }
      }
      const t0 = performance.now();
      const vectors = await embedder.embed(lines);
      return { vectors, tokens, ms: performance.now() - t0 };
    });
    if (!result || seq !== embedSeq) return;
    clearError();
    renderMatrix(lines, result.vectors);
    ui.embedTime.textContent =
      `Embedded ${lines.length} sentence${lines.length === 1 ? '' : 's'} (${result.tokens} tokens) in ${formatMs(result.ms)}`;
  } catch (err) {
    if (seq !== embedSeq) return;
    ui.embedTime.textContent = '';
    showError(err, 'Embedding failed');
  }
}

// ---------- wiring ----------

function start() {
  const wanted = new URLSearchParams(location.search).get('model');
  if (wanted && MODEL_TYPES.includes(wanted)) ui.select.value = wanted;

  ui.select.addEventListener('change', () => loadModel(ui.select.value));
  ui.embedButton.addEventListener('click', () => runEmbed());
  ui.sentences.addEventListener('input', () => scheduleEmbed());
  ui.sentences.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); runEmbed(); }
  });

  annotateSizes();
  loadModel(ui.select.value);
}

start();
