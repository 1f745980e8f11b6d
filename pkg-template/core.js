// The SDK runtime: loads the wasm module and the models, then runs calls on the Rust core one at
// a time. It runs inside the worker (worker.js) or, with { worker: false }, in the calling
// context. Arguments go to Rust as JSON text and are validated there; core methods with object
// results answer JSON text. Methods of the wasm `AttuneCore` (src/web/core.rs):
//   rank(itemsJson, optionsJson, onBatch?)  → '[{"id","index","score","explored","pending"?,"noText"?,"reasons":[…]}]'
//       (onBatch(done, total) after each batch of new texts embedded; true cancels)
//   addVectors(bytes)                       → number of item ids (a precomputed vector file)
//   similar(queryJson, itemsJson, optsJson) → '[{"id","index","similarity"}]' (query: a text or an item)
//   topics(optionsJson)                     → '[{"label","parent","weight","similarity"}]'
//   context(queryJson, optionsJson, count?) → '{"text","tokens",…}'
// (optionsJson is "null" when no options were given). The wasm `Assistant` (src/web/assistant.rs):
// Assistant.create(bytes, { context, device }) (async), reply(messages, options) → async iterator, countTokens(text).

import initSingle, * as single from './attune_wasm.js';
import initThreaded, * as threaded from './attune_wasm_mt.js';
import initChat, { Assistant } from './attune_chat.js';
import { AttuneError, abortError, toAttuneError } from './errors.js';
import { startWorker } from './worker-policy.js';
import { checkSource, loadModel, modelStorage } from './models.js';
import { explainLoadFailure } from './probe.js';

const DEVICES = ['auto', 'gpu', 'cpu'];
const STORAGES = ['auto', 'indexeddb', 'memory'];

/** The chat module (attune_chat: the wasm Assistant). Its JS glue is imported with the rest
 * (a dynamic import would make bundlers split the worker into chunks, which Vite's default
 * worker format refuses); its wasm is fetched and instantiated on the first reply only, so
 * pages that never chat never download it. */
let chatReady = null;
function loadChat() {
  const url = new URL('./attune_chat_bg.wasm', import.meta.url);
  chatReady ??= initChat({ module_or_path: url }).catch(async (e) => {
    chatReady = null;
    throw await wasmLoadError(e, url, 'the Attune chat module');
  });
  return chatReady;
}

/** A failed wasm load: a CSP that refuses WebAssembly says what to add (`unsupported`); any
 * other failure says what a second look at the URL found (probe.js), else the browser's error
 * ("expected magic word", "Failed to fetch"), which hides the cause. */
async function wasmLoadError(e, url, what) {
  const why = e && e.message ? e.message : String(e);
  if (/Content Security Policy|wasm-eval|wasm-unsafe-eval/i.test(why)) {
    return new AttuneError('unsupported', "the Content-Security-Policy refuses WebAssembly: add 'wasm-unsafe-eval' to script-src "
      + "(a browser extension: to content_security_policy.extension_pages in manifest.json, "
      + `"script-src 'self' 'wasm-unsafe-eval'"). ${why}`);
  }
  const found = await explainLoadFailure(url, 'wasm');
  return new AttuneError('model_load', `loading ${what} failed: ${found ?? why}`);
}

/** How many threads the core may use. The threaded module needs memory shared between
 * workers (a cross-origin-isolated page) and a thread that may block while its workers compute
 * (a worker, not a page's main thread); `auto` then takes up to four of the machine's cores. */
export function threadPlan(asked, { wasmUrl } = {}) {
  const cores = (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) || 1;
  const want = asked === 'auto' ? Math.min(4, cores) : asked;
  const one = (why) => ({ threads: 1, why });
  if (want <= 1) return one(asked === 'auto' ? 'one core' : 'asked for 1');
  if (typeof WorkerGlobalScope === 'undefined' || !(self instanceof WorkerGlobalScope)) return one('runs in the page ({ worker: false })');
  if (!globalThis.crossOriginIsolated) return one('the page is not cross-origin isolated (COOP/COEP)');
  if (wasmUrl) return one('options.wasmUrl names a single-thread module');
  return { threads: want, why: asked === 'auto' ? `auto: ${want} of ${cores} cores` : `asked for ${want}` };
}

/** The loaded core: its bindings (`mod`), its exports, and the thread plan it runs with. */
let wasmReady = null;
function loadWasm(wasmUrl, plan) {
  // One instance per context; a failed load may be retried.
  wasmReady ??= (plan.threads > 1 ? loadThreaded(plan) : loadSingle(wasmUrl, plan)).catch((e) => {
    wasmReady = null;
    throw e;
  });
  return wasmReady;
}

async function loadSingle(wasmUrl, plan) {
  const url = wasmUrl ?? new URL('./attune_wasm_bg.wasm', import.meta.url);
  const exports = await initSingle({ module_or_path: url }).catch(async (e) => {
    throw await wasmLoadError(e, url, `the Attune wasm module${wasmUrl ? ' (options.wasmUrl)' : ''}`);
  });
  return { mod: single, exports, plan };
}

/** The threaded module, then its thread workers; if they do not all start, the module still
 * works on one thread and `plan.why` says why. */
async function loadThreaded(plan) {
  const url = new URL('./attune_wasm_mt_bg.wasm', import.meta.url);
  let module;
  let exports;
  try {
    const response = fetch(url);
    module = await (WebAssembly.compileStreaming ? WebAssembly.compileStreaming(response)
      : response.then((r) => r.arrayBuffer()).then((b) => WebAssembly.compile(b)));
    exports = await initThreaded({ module_or_path: module });
  } catch (e) {
    throw await wasmLoadError(e, url, 'the threaded Attune wasm module');
  }
  try {
    await startThreads(module, exports.memory, plan.threads);
    return { mod: threaded, exports, plan };
  } catch (e) {
    return { mod: threaded, exports, plan: { threads: 1, why: `the thread workers did not start: ${e && e.message ? e.message : e}` } };
  }
}

const THREAD_START_MS = 30_000;
let threadWorkers = [];

/** `n` threads: this one and `n - 1` thread workers. */
async function startThreads(module, memory, n) {
  const waiting = [];
  for (let i = 0; i < n - 1; i++) {
    const { worker, stop } = startWorker(() => new Worker(new URL('./thread.js', import.meta.url), { type: 'module', name: 'attune-thread' }));
    stop();
    threadWorkers.push(worker);
    waiting.push(new Promise((resolve, reject) => {
      worker.onmessage = ({ data }) => (data === 'attune:thread-waiting' ? resolve() : reject(new Error(data?.error ?? 'unexpected message')));
      worker.onerror = (e) => { e.preventDefault?.(); reject(new Error(e.message || 'thread.js failed to load')); };
    }));
    worker.postMessage({ module, memory });
  }
  let timer;
  try {
    await Promise.race([Promise.all(waiting),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`not all ${n - 1} started in ${THREAD_START_MS / 1000} s`)), THREAD_START_MS); })]);
  } catch (e) {
    // The pool never counts on them, so nothing waits on a thread that is not there.
    for (const w of threadWorkers) w.terminate();
    threadWorkers = [];
    throw e;
  } finally {
    clearTimeout(timer);
  }
  // Every worker runs its pool thread (or is about to: work waits for whoever is free).
  threaded.threadsStart(n);
}

/** JSON for Rust. JSON has no NaN, Infinity or bigint: such a value is refused here, naming it
 * (JSON.stringify would silently write null, which Rust would take as "absent"). The plain
 * stringify comes first: only where it wrote a null (or threw) can such a value hide, and only
 * then is the value walked with a replacer (a call per value: a quarter of a large rank). */
function toJson(value, what) {
  try {
    const s = JSON.stringify(value === undefined ? null : value);
    if (s !== undefined && !s.includes('null')) return s;
  } catch {
    // A bigint or a cycle: the checked path below names it.
  }
  return checkedJson(value, what);
}

function checkedJson(value, what) {
  let bad = null;
  let s;
  try {
    s = JSON.stringify(value === undefined ? null : value, function (k, v) {
      if (bad === null && (typeof v === 'bigint' || (typeof v === 'number' && !Number.isFinite(v)))) bad = `${k || 'the value'} is ${String(v)}`;
      return typeof v === 'bigint' ? null : v;
    });
  } catch (e) {
    throw new AttuneError('invalid_argument', `${what}: ${e && e.message ? e.message : e}`);
  }
  if (bad !== null) throw new AttuneError('invalid_argument', `${what}: ${bad}, not a finite number`);
  return s === undefined ? 'null' : s;
}

/** A precomputed vector file (`attune catalog`) as bytes for Rust. */
function vectorBytes(data) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new AttuneError('invalid_argument', 'addVectors takes the bytes of a vector file (ArrayBuffer or Uint8Array)');
}

/** `opts` without `signal` (which stays on this side). */
function plainOptions(opts) {
  if (opts === undefined || opts === null) return undefined;
  if (typeof opts !== 'object') return opts; // Rust refuses it with a typed message
  const { signal: _signal, onProgress: _onProgress, ...rest } = opts;
  return rest;
}

/** Rank options with the `reasonTexts` given to `open` under the call's own (Rust checks the
 * keys and placeholders). */
function withReasonTexts(opts, texts) {
  if (texts === undefined || (opts !== undefined && (typeof opts !== 'object' || opts === null))) return opts;
  return { ...opts, reasonTexts: { ...texts, ...opts?.reasonTexts } };
}

/** Failures that are about a model file: their message names which one it was. */
const MODEL_CODES = new Set(['model_load', 'model_format', 'model_unsupported', 'tokenizer', 'chat_template']);
function aboutModel(e, which) {
  const err = toAttuneError(e, 'model_load');
  return err.message.startsWith(which) ? err : new AttuneError(err.code, `${which}: ${err.message}`, { cause: err });
}

/** `gpu` asked for where WebGPU is missing or fails its self-test: the `device` code. */
function deviceError(err) {
  return err.code === 'gpu_unavailable' ? new AttuneError('device', err.message, { cause: err }) : err;
}

/** What runs a model (Info.device): `why` is the fallback reason, else what was asked for. */
function deviceInfo(asked, used, adapter, fallbackReason) {
  return { asked, used, adapter: adapter ?? null, why: fallbackReason ?? `asked for ${asked}` };
}

/** Checks open() options (again, on this side of the worker boundary). */
export function checkOpenOptions(o) {
  if (!o || typeof o !== 'object') throw new AttuneError('invalid_argument', 'Attune.open(options): needs an options object ({ namespace })');
  if (typeof o.namespace !== 'string') throw new AttuneError('invalid_argument', 'Attune.open(options.namespace): must be a string');
  const device = o.device ?? 'auto';
  if (!DEVICES.includes(device)) throw new AttuneError('invalid_argument', `Attune.open(options.device): must be one of ${DEVICES.join(', ')}`);
  const base = o.base ?? (typeof location !== 'undefined' ? location.href : undefined);
  const embedder = checkSource(o.embedder, 'Attune.open(options.embedder)', base);
  const assistant = o.assistant === undefined || o.assistant === false ? undefined
    : { ...checkSource(o.assistant, 'Attune.open(options.assistant)', base), context: o.assistant.context, device: o.assistant.device ?? device };
  if (assistant && assistant.context !== undefined && !(Number.isInteger(assistant.context) && assistant.context > 0)) {
    throw new AttuneError('invalid_argument', 'Attune.open(options.assistant.context): must be a positive integer');
  }
  if (assistant && !DEVICES.includes(assistant.device)) {
    throw new AttuneError('invalid_argument', `Attune.open(options.assistant.device): must be one of ${DEVICES.join(', ')}`);
  }
  const maxBytes = o.embeddingCache?.maxBytes;
  if (o.embeddingCache !== undefined && (typeof o.embeddingCache !== 'object' || o.embeddingCache === null
      || (maxBytes !== undefined && typeof maxBytes !== 'number'))) {
    throw new AttuneError('invalid_argument', 'Attune.open(options.embeddingCache): must be { maxBytes?: number }');
  }
  const threads = o.threads ?? 'auto';
  if (threads !== 'auto' && !(Number.isInteger(threads) && threads >= 1 && threads <= 16)) {
    throw new AttuneError('invalid_argument', "Attune.open(options.threads): must be 'auto' or an integer from 1 to 16");
  }
  const storage = o.storage ?? 'auto';
  if (!STORAGES.includes(storage)) throw new AttuneError('invalid_argument', `Attune.open(options.storage): must be one of ${STORAGES.join(', ')}`);
  if (o.reasonTexts !== undefined && (typeof o.reasonTexts !== 'object' || o.reasonTexts === null
      || Object.values(o.reasonTexts).some((t) => typeof t !== 'string'))) {
    throw new AttuneError('invalid_argument', 'Attune.open(options.reasonTexts): must be an object of texts by reason key (e.g. { "similarTo.like": "…{title}…" })');
  }
  return { namespace: o.namespace, device, embedder, assistant, cache: o.cache !== false, wasmUrl: o.wasmUrl, cacheBudget: maxBytes, storage, threads,
    reasonTexts: o.reasonTexts, assistantMissing: typeof o.assistantMissing === 'string' ? o.assistantMissing : undefined };
}

/**
 * Opens the runtime. `progress(event)` receives model download events.
 * Returns { call(method, args, signal), reply(messages, options), close() }.
 */
export async function openRuntime(rawOptions, progress = () => {}) {
  const options = checkOpenOptions(rawOptions);
  const [bytes, { mod: wasm, plan }] = await Promise.all([
    loadModel('embedder', options.embedder, { progress, cache: options.cache }).catch((e) => { throw aboutModel(e, 'Attune.open(options.embedder)'); }),
    loadWasm(options.wasmUrl, threadPlan(options.threads, options)),
  ]);
  const devices = wasm.AttuneCore.devices();
  for (const [what, d] of [['device', options.device], ['assistant.device', options.assistant?.device]]) {
    if (d === 'gpu' && !devices.includes('gpu')) {
      throw new AttuneError('device', `Attune.open(options.${what}): 'gpu' was asked for, this build runs on: ${devices.join(', ')}`);
    }
  }
  progress({ model: 'embedder', phase: 'load', loaded: bytes.byteLength, total: bytes.byteLength, fromCache: false });
  const core = await wasm.AttuneCore.open(options.namespace, bytes, options.device, options.cacheBudget, options.storage).catch((e) => {
    const err = toAttuneError(e, 'model_load');
    // `gpu` asked for where WebGPU is missing or fails its self-test.
    throw deviceError(MODEL_CODES.has(err.code) ? aboutModel(err, 'Attune.open(options.embedder)') : err);
  });
  let closed = false;
  let queue = Promise.resolve();
  let assistant = null; // Promise<Assistant>, made on the first reply
  // Replies run one after another, like calls: a reply asked for while another is still
  // streaming (or still winding down after a cancel, which reaches the worker as a message)
  // starts when that one has finished.
  let replyTail = Promise.resolve();

  const json = async (p) => JSON.parse(await p);

  const methods = {
    track: (event) => core.track(toJson(event, 'track(event)')),
    remember: (text) => core.remember(toJson(text, 'remember(text)')),
    forget: (what) => json(core.forget(toJson(what, 'forget(what)'))),
    profile: () => json(core.profile()),
    export: () => core.export(),
    import: (data) => core.import(typeof data === 'string' ? data : toJson(data, 'import(data)')),
    clear: () => core.clear(),
    exportCorrupt: async () => (await core.exportCorrupt()) ?? null,
    discardCorrupt: () => core.discardCorrupt(),
    embed: (texts) => core.embed(toJson(texts, 'embed(texts)')),
    // Between batches of new texts the worker reads its messages, so an abort arrives here.
    rank: (items, opts, ctx = {}) => json(core.rank(toJson(items, 'rank(items)'), toJson(withReasonTexts(plainOptions(opts), options.reasonTexts), 'rank(options)'),
      (done, total) => { ctx.progress?.({ done, total }); return !!ctx.signal?.aborted; })),
    addVectors: (data) => core.addVectors(vectorBytes(data)),
    similar: (query, items, opts) =>
      json(core.similar(toJson(query, 'similar(query)'), toJson(items, 'similar(items)'), toJson(plainOptions(opts), 'similar(options)'))),
    topics: (opts) => json(core.topics(toJson(plainOptions(opts), 'topics(options)'))),
    context: async (query, opts) => {
      // Counted by the chat model's tokenizer once it is loaded, else as UTF-8 bytes (a bound
      // no byte-level BPE exceeds).
      const a = assistant && (await assistant.catch(() => null));
      const count = a ? (t) => a.countTokens(t) : undefined;
      return json(core.context(toJson(query, 'context(query)'), toJson(plainOptions(opts), 'context(options)'), count));
    },
    info: async () => {
      const info = await json(core.info());
      info.devices = devices;
      // The core's linear memory (grows, never shrinks: its size is the module's peak use).
      info.memory = { wasmBytes: (await wasmReady).exports.memory.buffer.byteLength };
      // The CPU kernels' threads (the GPU, when it runs the model, does not use them).
      info.threads = { asked: options.threads, used: plan.threads, why: plan.why };
      const d = info.device;
      info.device = deviceInfo(options.device, d.backend, d.adapter, d.fallbackReason);
      const a = assistant && (await assistant.catch(() => null));
      info.assistant = a
        ? { name: a.modelName, context: a.context, backend: a.backend, loaded: true,
            device: deviceInfo(options.assistant.device, a.backend, a.adapter, a.fallbackReason) }
        : { loaded: false, configured: !!options.assistant };
      if (typeof navigator !== 'undefined' && navigator.storage && navigator.storage.estimate) {
        const { usage, quota } = await navigator.storage.estimate();
        info.storage.originUsage = usage;
        info.storage.originQuota = quota;
      }
      // The model files kept for later visits (all of this origin's, not only this instance's).
      Object.assign(info.storage, await modelStorage());
      return info;
    },
  };

  function loadAssistant() {
    if (!options.assistant) {
      throw new AttuneError(options.assistantMissing ? 'model_load' : 'invalid_argument',
        options.assistantMissing ?? 'no chat model: Attune.open was given assistant: false; open with an assistant ({ assistant: { url, sha256 } }, or none for the default model)');
    }
    if (assistant) return assistant;
    const which = 'the chat model (Attune.open options.assistant)';
    const model = loadModel('assistant', options.assistant, { progress, cache: options.cache }).catch((e) => { throw aboutModel(e, which); });
    assistant = Promise.all([model, loadChat()])
      .then(([b]) => {
        progress({ model: 'assistant', phase: 'load', loaded: b.byteLength, total: b.byteLength, fromCache: false });
        const { context, device } = options.assistant;
        return Assistant.create(b, context ? { context, device } : { device });
      })
      .catch((e) => {
        assistant = null;
        const err = toAttuneError(e, 'model_load');
        // Assistant.create refuses the file itself (format, tokenizer, template): name it too.
        throw deviceError(MODEL_CODES.has(err.code) && !err.message.startsWith('loading the Attune') ? aboutModel(err, which) : err);
      });
    return assistant;
  }

  const runtime = {
    /** Runs `method` after the calls before it; an abort before it starts drops it. Methods
     * that take long (rank) report `progress` and stop at `signal` between batches. */
    call(method, args, signal, progress) {
      if (closed) return Promise.reject(new AttuneError('closed', 'this Attune instance is closed'));
      if (!Object.hasOwn(methods, method)) return Promise.reject(new AttuneError('invalid_argument', `no method ${String(method)}`));
      const run = queue.then(async () => {
        if (closed) throw new AttuneError('closed', 'this Attune instance is closed');
        if (signal && signal.aborted) throw abortError(signal);
        return methods[method](...args, { signal, progress });
      });
      queue = run.catch(() => {});
      return run.catch((e) => { throw toAttuneError(e); });
    },

    /** An async iterator of reply pieces; `return()` cancels generation. */
    async *reply(messages, opts) {
      if (closed) throw new AttuneError('closed', 'this Attune instance is closed');
      const a = await loadAssistant();
      const previous = replyTail;
      let finished;
      replyTail = new Promise((resolve) => { finished = resolve; });
      await previous;
      let stream;
      try {
        const { useContext = true, contextOptions, ...sampling } = plainOptions(opts) ?? {};
        if (useContext && sampling.context === undefined) {
          // The profile's context for the last user message, in the system prompt (opt out
          // with { useContext: false }); counted by the chat model's own tokenizer.
          const last = Array.isArray(messages) ? [...messages].reverse().find((m) => m && m.role === 'user') : undefined;
          const query = last && typeof last.content === 'string' ? last.content : '';
          const ctx = await runtime.call('context', [query, contextOptions]);
          if (ctx.text) sampling.context = ctx.text;
        }
        stream = a.reply(messages, sampling);
        for await (const piece of stream) yield piece;
        return stream.stats();
      } catch (e) {
        throw toAttuneError(e);
      } finally {
        try {
          if (stream) await stream.return?.();
        } finally {
          finished();
        }
      }
    },

    close() {
      if (closed) return;
      closed = true;
      queue.finally(() => {
        try {
          core.close();
          core.free();
        } catch (e) {
          console.warn('attune: closing the core failed', e);
        }
      });
    },
  };
  return runtime;
}
