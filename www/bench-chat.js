// Chat benchmark page (read by scripts/bench-chat-browser.mjs through window.__benchResult).
// One engine per page load, so each engine's memory is measured alone:
//   ?engine=attune  Attune's wasm Assistant (CPU, wasm simd128, one thread)
//   ?engine=attune-gpu  the same on WebGPU (`Assistant.create` with device 'gpu'); &tokens=N
//                   decodes fewer tokens where the GPU is emulated (SwiftShader is slow)
//   ?engine=wllama  llama.cpp compiled to wasm (@wllama/wllama, served at wllama/), n_threads 1,
//                   no GPU layers
// Both get the same GGUF and the same chat (rendered by the model's own template), decode 128
// tokens greedily and time the prompt (to the first token) and the decode (first to last token).

const MODEL_URL = 'models/smollm2-135m-instruct.q4_1.gguf';
const DECODE_TOKENS = Math.max(2, Math.min(512, Number(new URLSearchParams(location.search).get('tokens')) || 128));
const CONTEXT = 2048;
// The prompt of `attune bench-chat`, so native and browser numbers are comparable.
const MESSAGES = [{
  role: 'user',
  content: 'Write a detailed story about a lighthouse keeper who finds a message in a bottle, ' +
    'and describe the sea, the weather and the town in the morning, at noon and at night.',
}];

const $ = (id) => document.getElementById(id);
function log(msg) {
  console.log(`[bench] ${msg}`);
  const li = document.createElement('li');
  li.textContent = msg;
  $('bench-log').append(li);
  $('bench-status').textContent = msg;
}
const round = (x, d = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);
const best = (runs, key) => Math.max(...runs.map((r) => r[key]));

async function fetchBytes(url) {
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

function jsHeap() {
  const m = performance.memory;
  return m ? { used_js_heap_bytes: m.usedJSHeapSize, total_js_heap_bytes: m.totalJSHeapSize } : {};
}

async function attune(repeats, device = 'cpu') {
  const { default: init, Assistant } = await import('./pkg/attune.js');
  const wasm = await init({ module_or_path: 'pkg/attune_bg.wasm' });
  const bytes = await fetchBytes(MODEL_URL);
  let t = performance.now();
  const assistant = await Assistant.create(bytes, { context: CONTEXT, device });
  const loadMs = performance.now() - t;
  log(`attune: loaded ${assistant.modelName} (${assistant.backend}${assistant.adapter ? ` on ${assistant.adapter}` : ''}) in ${Math.round(loadMs)} ms`);
  // Warm-up (compiles hot paths, sizes the buffers).
  for await (const _ of assistant.reply(MESSAGES, { maxTokens: 8 }));
  const runs = [];
  for (let i = 0; i < repeats; i++) {
    // A different prompt first, so no cached prefix of the benchmark prompt is reused.
    for await (const _ of assistant.complete('Reset.', { maxTokens: 1 }));
    const stream = assistant.reply(MESSAGES, { maxTokens: DECODE_TOKENS });
    const t0 = performance.now();
    let first = null;
    let text = '';
    for await (const piece of stream) {
      first ??= performance.now();
      text += piece;
    }
    const end = performance.now();
    const s = stream.stats();
    // Pieces are whole characters, so a token can arrive with a later one: count tokens, and
    // time the decode from the first piece (the first sampled token) to the end.
    const run = {
      prompt_tokens: s.promptTokens,
      generated_tokens: s.generatedTokens,
      finish: s.finishReason,
      prompt_ms: round(first - t0, 2),
      decode_ms: round(end - first, 2),
      prompt_tokens_per_s: round(s.promptTokens / ((first - t0) / 1000)),
      decode_tokens_per_s: round((s.generatedTokens - 1) / ((end - first) / 1000)),
      text_chars: text.length,
    };
    runs.push(run);
    log(`attune run ${i + 1}: prompt ${run.prompt_tokens_per_s} tok/s, decode ${run.decode_tokens_per_s} tok/s (${s.generatedTokens} tokens, ${s.finishReason})`);
  }
  return {
    engine: device === 'gpu' ? 'attune-gpu' : 'attune',
    backend: assistant.backend,
    adapter: assistant.adapter ?? null,
    threads: 1,
    load_ms: round(loadMs),
    runs,
    prompt_tokens_per_s: best(runs, 'prompt_tokens_per_s'),
    decode_tokens_per_s: best(runs, 'decode_tokens_per_s'),
    wasm_memory_bytes: wasm.memory.buffer.byteLength,
    ...jsHeap(),
  };
}

async function wllama(repeats) {
  const { Wllama } = await import('./wllama/index.js');
  const w = new Wllama({ default: 'wllama/wasm/wllama.wasm' }, { suppressNativeLog: true });
  const bytes = await fetchBytes(MODEL_URL);
  let t = performance.now();
  // CPU only: no layers and no KV cache on a WebGPU device, one thread.
  await w.loadModel([new Blob([bytes])], {
    n_threads: 1, n_gpu_layers: 0, offload_kqv: false, no_kv_offload: true, n_ctx: CONTEXT, warmup: true,
  });
  const loadMs = performance.now() - t;
  log(`wllama: loaded in ${Math.round(loadMs)} ms (multithread: ${w.isMultithread()}, WebGPU available: ${w.isSupportWebGPU()})`);
  const request = (maxTokens) => ({
    messages: MESSAGES, max_tokens: maxTokens, temperature: 0, ignore_eos: true, stream: true, cache_prompt: false,
  });
  for await (const _ of await w.createChatCompletion(request(8)));
  const runs = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    const stream = await w.createChatCompletion(request(DECODE_TOKENS));
    let first = null;
    let timings = null;
    let pieces = 0;
    for await (const chunk of stream) {
      if (chunk.choices?.[0]?.delta?.content) {
        first ??= performance.now();
        pieces++;
      }
      if (chunk.timings) timings = chunk.timings;
    }
    const end = performance.now();
    const n = timings?.predicted_n ?? pieces;
    const run = {
      prompt_tokens: timings?.prompt_n ?? null,
      generated_tokens: n,
      prompt_ms: round(first - t0, 2),
      decode_ms: round(end - first, 2),
      prompt_tokens_per_s: round((timings?.prompt_n ?? NaN) / ((first - t0) / 1000)),
      decode_tokens_per_s: round((n - 1) / ((end - first) / 1000)),
      // llama.cpp's own timings (inside the worker, without message passing).
      llama_cpp_prompt_tokens_per_s: round(timings?.prompt_per_second),
      llama_cpp_decode_tokens_per_s: round(timings?.predicted_per_second),
    };
    runs.push(run);
    log(`wllama run ${i + 1}: prompt ${run.prompt_tokens_per_s} tok/s, decode ${run.decode_tokens_per_s} tok/s (llama.cpp: ${run.llama_cpp_prompt_tokens_per_s} / ${run.llama_cpp_decode_tokens_per_s})`);
  }
  const multithread = w.isMultithread();
  await w.exit();
  return {
    engine: 'wllama',
    backend: 'cpu',
    threads: 1,
    multithread_build: multithread,
    load_ms: round(loadMs),
    runs,
    prompt_tokens_per_s: best(runs, 'prompt_tokens_per_s'),
    decode_tokens_per_s: best(runs, 'decode_tokens_per_s'),
    llama_cpp_prompt_tokens_per_s: best(runs, 'llama_cpp_prompt_tokens_per_s'),
    llama_cpp_decode_tokens_per_s: best(runs, 'llama_cpp_decode_tokens_per_s'),
    ...jsHeap(),
  };
}

async function main() {
  const q = new URLSearchParams(location.search);
  const engine = q.get('engine') || 'attune';
  const repeats = Math.max(1, Math.min(10, Number(q.get('repeats')) || 3));
  const engines = { attune, 'attune-gpu': (r) => attune(r, 'gpu'), wllama };
  if (!engines[engine]) throw new Error(`unknown engine ${engine}; choose attune or wllama`);
  log(`${engine}: ${DECODE_TOKENS} greedy tokens, ${repeats} runs, best of each reported`);
  const result = { ok: true, model: MODEL_URL.split('/').pop(), decode_tokens: DECODE_TOKENS, ...(await engines[engine](repeats)) };
  $('bench-result').textContent = JSON.stringify(result, null, 2);
  window.__benchResult = result;
}

main().catch((e) => {
  log(`error: ${e && e.message ? e.message : e}`);
  window.__benchResult = { ok: false, error: { name: e?.name, code: e?.code ?? 'error', message: String(e?.message ?? e) } };
});
