// The main-thread side of the SDK: `open()` starts the runtime in a dedicated module worker (or,
// with { worker: false }, in this context) and returns the Attune instance whose methods forward
// to it: request ids and a promise map, reply streams, AbortSignal cancellation, progress events
// and close(). No imports but errors.js and worker-policy.js, so the script-tag build can inline it.

import { AttuneError, abortError, deserializeError, toAttuneError } from './errors.js';
import { startWorker } from './worker-policy.js';
import { explainLoadFailure } from './probe.js';
import { DEFAULT_MODELS, MODELS_PACKAGE, MODELS_VERSION } from './default-models.js';

const isFn = (f) => typeof f === 'function';

/** Calls one instance keeps waiting at most; past it a call fails at once with `busy`. */
export const MAX_PENDING_CALLS = 1000;

/** Most JSON one argument may take (the core's limit: src/web/args.rs MAX_ARG_BYTES, and an
 * import's, the profile's PROFILE_BYTES); the chat messages' text, MAX_MESSAGE_BYTES. */
export const MAX_ARG_BYTES = 4 << 20;
export const MAX_MESSAGE_BYTES = 1 << 20;
export const MAX_MESSAGES = 1000;
/** Calls whose arguments are bytes, not JSON (a vector file may be larger). */
const BINARY_ARGS = new Set(['addVectors']);

/** Whether `value` would take more than `limit` bytes as JSON, counted as a lower bound (a
 * string's UTF-16 length never exceeds its UTF-8 bytes) and stopped once past the limit, so a
 * 50 MB string or a million-item array is refused before it is stringified, copied or posted. */
function overLimit(value, limit) {
  let n = 0;
  const stack = [value];
  const seen = new Set();
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') n += v.length;
    else if (v === null || typeof v !== 'object') n += 1;
    else if (!seen.has(v) && !ArrayBuffer.isView(v) && !(v instanceof ArrayBuffer)) {
      seen.add(v);
      const keys = Array.isArray(v) ? null : Object.keys(v);
      n += keys ? keys.length : v.length;
      if (n > limit) return true;
      if (keys) for (const k of keys) { n += k.length; stack.push(v[k]); }
      else for (let i = 0; i < v.length; i++) stack.push(v[i]);
    }
    if (n > limit) return true;
  }
  return false;
}

/** Past the core's limits on a reply's messages (src/web/chat_args.rs): their count, or the
 * text of their roles and contents (a lower bound of its UTF-8 bytes). */
function messagesOverLimit(messages) {
  if (!Array.isArray(messages)) return false; // the core says what is wrong with it
  if (messages.length > MAX_MESSAGES) return true;
  let n = 0;
  for (const m of messages) {
    for (const v of [m?.role, m?.content]) if (typeof v === 'string') n += v.length;
    if (n > MAX_MESSAGE_BYTES) return true;
  }
  return false;
}

function tooLarge(what, limit) {
  return new AttuneError('input_too_large', `${what}: over ${limit} bytes; refused before it was sent`);
}

function checkSignal(signal) {
  if (signal !== undefined && !(typeof AbortSignal !== 'undefined' && signal instanceof AbortSignal)) {
    throw new AttuneError('invalid_argument', 'options.signal must be an AbortSignal');
  }
}

/** The options that cross to the runtime: model URLs resolved against this document. */
function transportOptions(o) {
  if (!o || typeof o !== 'object') throw new AttuneError('invalid_argument', 'Attune.open(options): needs an options object ({ namespace })');
  if (o.onProgress !== undefined && !isFn(o.onProgress)) throw new AttuneError('invalid_argument', 'Attune.open(options.onProgress): must be a function');
  if (o.worker !== undefined && typeof o.worker !== 'boolean') throw new AttuneError('invalid_argument', 'Attune.open(options.worker): must be a boolean');
  const base = typeof document !== 'undefined' ? document.baseURI : typeof location !== 'undefined' ? location.href : undefined;
  const { onProgress: _p, worker: _w, ...rest } = o;
  const resolve = (src) => {
    if (!src || typeof src !== 'object' || (typeof src.url !== 'string' && !(src.url instanceof URL))) return src;
    try { return { ...src, url: new URL(String(src.url), base).href }; } catch { return src; }
  };
  const out = { ...rest, base, embedder: resolve(o.embedder) };
  if (o.assistant !== undefined && o.assistant !== false) out.assistant = resolve(o.assistant);
  else delete out.assistant;
  if (o.wasmUrl !== undefined) out.wasmUrl = String(o.wasmUrl);
  return out;
}

/** An async iterator of reply pieces fed by `push`/`finish`/`fail`, with `stats()`. */
function replyStream(cancel, signal) {
  const pieces = [];
  let waiting = null;
  let ended = false;
  let error = null;
  let stats = { finishReason: null, promptTokens: 0, generatedTokens: 0, droppedMessages: 0 };
  const wake = () => {
    if (!waiting) return;
    const w = waiting;
    waiting = null;
    if (pieces.length) w.resolve({ value: pieces.shift(), done: false });
    else if (error) w.reject(error);
    else if (ended) w.resolve({ value: undefined, done: true });
    else waiting = w;
  };
  const onAbort = () => {
    if (ended || error) return;
    cancel();
    stream.fail(abortError(signal));
    pieces.length = 0;
    wake();
  };
  const stream = {
    push(piece) { if (!ended && !error) { pieces.push(piece); wake(); } },
    finish(s) { if (s) stats = s; ended = true; signal?.removeEventListener('abort', onAbort); wake(); },
    fail(e) { if (!ended && !error) { error = toAttuneError(e); signal?.removeEventListener('abort', onAbort); wake(); } },
    next() {
      if (pieces.length) return Promise.resolve({ value: pieces.shift(), done: false });
      if (error) return Promise.reject(error);
      if (ended) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => { waiting = { resolve, reject }; });
    },
    return() {
      if (!ended && !error) {
        cancel();
        stats = { ...stats, finishReason: 'cancelled' };
        stream.finish();
      }
      pieces.length = 0;
      return Promise.resolve({ value: undefined, done: true });
    },
    stats: () => stats,
    [Symbol.asyncIterator]() { return this; },
  };
  if (signal) {
    if (signal.aborted) queueMicrotask(onAbort);
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  return stream;
}

/** A reply stream whose errors name `attune.assistant.reply`. */
function namedStream(stream) {
  const next = stream.next.bind(stream);
  stream.next = () => next().catch((e) => { throw named('attune.assistant.reply', e); });
  return stream;
}

/** Transport over a dedicated worker; `refusal()` says whether the page's CSP refused its script,
 * `workerUrl()` where its script is (probed for the cause when it does not start). */
function workerTransport(worker, onProgress, refusal, workerUrl) {
  let nextId = 1;
  const pending = new Map(); // id → { resolve, reject } | reply stream
  let closedError = null;
  let opened;
  const open = new Promise((resolve, reject) => { opened = { resolve, reject }; });
  const failAll = (err) => {
    closedError = err;
    for (const p of pending.values()) (p.fail ?? p.reject)(err);
    pending.clear();
    opened.reject(err);
  };
  worker.onmessage = (e) => {
    const m = e.data;
    if (m.type === 'progress') { try { onProgress?.(m.event); } catch (err) { console.error(err); } return; }
    if (m.type === 'opened') { opening = false; return opened.resolve(); }
    if (m.type === 'failed') { opening = false; return opened.reject(deserializeError(m.error)); }
    const p = pending.get(m.id);
    if (!p) return; // cancelled or aborted already
    if ('piece' in m) return p.push(m.piece);
    if ('progress' in m) { try { p.onProgress?.(m.progress); } catch (err) { console.error(err); } return; }
    pending.delete(m.id);
    if (m.done) p.finish(m.stats);
    else if (m.ok) p.resolve(m.value);
    else (p.fail ?? p.reject)(deserializeError(m.error));
  };
  let opening = true;
  worker.onerror = (e) => {
    e.preventDefault?.();
    const url = workerUrl?.();
    const failed = new AttuneError('model_load', `the Attune worker failed: ${e.message || `could not load ${url || 'worker.js'}`}`);
    // A CSP violation report may be queued after the error event: look one task later.
    setTimeout(async () => {
      const refused = refusal?.();
      if (refused || !opening || !url) return failAll(refused ?? failed);
      // It never started: fetch its script to say why (status, CORS, Content-Type, Vite dev).
      const why = await explainLoadFailure(url, 'script');
      failAll(why ? new AttuneError('model_load', `the Attune worker could not start: ${why}`) : failed);
    }, 0);
  };
  const post = (msg) => {
    try {
      worker.postMessage(msg);
    } catch (e) {
      throw toAttuneError(e, 'invalid_argument');
    }
  };
  return {
    open: (options) => { post({ type: 'open', options }); return open; },
    call(method, args, signal, onProgress) {
      if (closedError) return Promise.reject(closedError);
      if (signal?.aborted) return Promise.reject(abortError(signal));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        try {
          post({ type: 'call', id, method, args, progress: !!onProgress });
        } catch (e) {
          return reject(e);
        }
        pending.set(id, { resolve, reject, onProgress });
        signal?.addEventListener('abort', () => {
          if (!pending.delete(id)) return;
          worker.postMessage({ type: 'cancel', id });
          reject(abortError(signal));
        }, { once: true });
      });
    },
    reply(messages, options, signal) {
      const id = nextId++;
      const stream = replyStream(() => { pending.delete(id); worker.postMessage({ type: 'cancel', id }); }, signal);
      if (closedError) { stream.fail(closedError); return stream; }
      try {
        post({ type: 'reply', id, messages, options });
        pending.set(id, stream);
      } catch (e) {
        stream.fail(e);
      }
      return stream;
    },
    close() {
      if (closedError) return;
      worker.postMessage({ type: 'close' });
      failAll(new AttuneError('closed', 'this Attune instance is closed'));
      // Let the worker finish the call it is in (a store write commits or aborts as a whole).
      setTimeout(() => worker.terminate(), 1000);
    },
  };
}

/** Transport in this context: the runtime's own queue, no worker. */
function localTransport(loadCore, onProgress, coreUrl) {
  let runtime = null;
  let closed = false;
  const closedErr = () => new AttuneError('closed', 'this Attune instance is closed');
  return {
    async open(options) {
      let mod;
      try {
        mod = await loadCore();
      } catch (e) {
        const why = coreUrl ? await explainLoadFailure(coreUrl, 'script') : null;
        throw new AttuneError('model_load', `loading the Attune core module failed: ${why ?? (e && e.message ? e.message : e)}`);
      }
      runtime = await mod.openRuntime(options, (ev) => { try { onProgress?.(ev); } catch (err) { console.error(err); } });
    },
    call(method, args, signal, onProgress) {
      if (closed) return Promise.reject(closedErr());
      // Arguments are copied as postMessage would, so both modes see the same values.
      let copied;
      try { copied = structuredClone(args); } catch (e) { return Promise.reject(toAttuneError(e, 'invalid_argument')); }
      const report = onProgress && ((p) => { try { onProgress(p); } catch (err) { console.error(err); } });
      // Rebuilt as this module's AttuneError (the script-tag build has its own copy of the class).
      const run = runtime.call(method, copied, signal, report).catch((e) => { throw toAttuneError(e); });
      if (!signal) return run;
      return new Promise((resolve, reject) => {
        signal.addEventListener('abort', () => reject(abortError(signal)), { once: true });
        run.then(resolve, reject);
      });
    },
    reply(messages, options, signal) {
      let it = null;
      const stream = replyStream(() => { it?.return(); }, signal);
      if (closed) { stream.fail(closedErr()); return stream; }
      (async () => {
        try {
          it = runtime.reply(structuredClone(messages), structuredClone(options));
          for (;;) {
            const { done, value } = await it.next();
            if (done) return stream.finish(value);
            stream.push(value);
          }
        } catch (e) {
          stream.fail(e);
        }
      })();
      return stream;
    },
    close() {
      if (closed) return;
      closed = true;
      runtime?.close();
    },
  };
}

/** `opts` split into what crosses to the runtime and what stays here (signal, onProgress). */
function stripSignal(opts) {
  if (!opts || typeof opts !== 'object') return { opts, signal: undefined };
  const { signal, onProgress, ...rest } = opts;
  checkSignal(signal);
  if (onProgress !== undefined && !isFn(onProgress)) throw new AttuneError('invalid_argument', 'options.onProgress must be a function');
  return { opts: rest, signal, onProgress };
}

/** The bytes of a precomputed vector file at `url`. */
async function fetchVectors(url, signal) {
  if (typeof url !== 'string' && !(url instanceof URL)) {
    throw new AttuneError('invalid_argument', 'source must be a URL or the bytes of a vector file');
  }
  let res;
  try {
    res = await fetch(url, { signal });
  } catch (e) {
    throw toAttuneError(e, 'model_load');
  }
  if (!res.ok) throw new AttuneError('model_load', `fetching the vector file ${url} (source) failed: HTTP ${res.status}`);
  return res.arrayBuffer();
}

/** The public name of a call in messages: `assistant.context` for the core's `context`. */
const callName = (method) => (method === 'context' || method === 'reply' ? `assistant.${method}` : method);

/** `e` as an AttuneError whose message starts with the call it came from (`attune.rank(items): …`,
 * `Attune.open(options.embedder): …`), so a page's error log says which call and argument. */
export function named(call, e) {
  const err = toAttuneError(e);
  if (/^(attune|Attune)\./.test(err.message)) return err;
  const bare = call.replace(/^(attune|Attune)\./, '');
  const message = err.message.startsWith(`${bare}(`)
    ? `${call.slice(0, call.length - bare.length)}${err.message}`
    : `${call}: ${err.message}`;
  return new AttuneError(err.code, message, { cause: err.cause ?? e });
}

/** The Attune instance over a transport. */
function client(transport) {
  // Back-pressure: calls queue one at a time behind the core, so a page that fires calls
  // without awaiting them (10 000 tracks in a loop) would grow the queue without bound.
  let inFlight = 0;
  const t = {
    ...transport,
    call(...a) {
      const [method, args] = a;
      const name = `attune.${callName(method)}`;
      if (!BINARY_ARGS.has(method) && args.some((v) => overLimit(v, MAX_ARG_BYTES))) {
        return Promise.reject(named(name, tooLarge(`${callName(method)}(…)`, MAX_ARG_BYTES)));
      }
      if (inFlight >= MAX_PENDING_CALLS) {
        return Promise.reject(new AttuneError('busy', `${name}: ${MAX_PENDING_CALLS} calls are already waiting; await some before making more`));
      }
      inFlight++;
      const done = () => { inFlight--; };
      const p = transport.call(...a).catch((e) => { throw named(name, e); });
      p.then(done, done);
      return p;
    },
    reply(messages, options, signal) {
      return namedStream(transport.reply(messages, options, signal));
    },
  };
  const call = (method, ...args) => t.call(method, args);
  const withOptions = (method, fixed, options) => {
    let parts;
    try { parts = stripSignal(options); } catch (e) { return Promise.reject(named(`attune.${callName(method)}`, e)); }
    return t.call(method, [...fixed, parts.opts], parts.signal, parts.onProgress);
  };
  let closed = false;
  return {
    track: (event) => call('track', event),
    remember: (text) => call('remember', text),
    forget: (what) => call('forget', what),
    profile: () => call('profile'),
    topics: (options) => withOptions('topics', [], options),
    export: () => call('export'),
    import: (data) => call('import', data),
    clear: () => call('clear'),
    exportCorrupt: () => call('exportCorrupt'),
    discardCorrupt: () => call('discardCorrupt'),
    embed: (texts, options) => {
      let parts;
      try { parts = stripSignal(options); } catch (e) { return Promise.reject(named('attune.embed', e)); }
      return t.call('embed', [texts], parts.signal);
    },
    rank: (items, options) => withOptions('rank', [items], options),
    addVectors: async (source, options) => {
      // A URL is fetched here (the page's origin, credentials and cache), the bytes go over.
      let bytes;
      try {
        bytes = source instanceof ArrayBuffer || ArrayBuffer.isView(source) ? source : await fetchVectors(source, options?.signal);
      } catch (e) {
        throw named('attune.addVectors', e);
      }
      return t.call('addVectors', [bytes], options?.signal);
    },
    similar: (query, items, options) => withOptions('similar', [query, items], options),
    info: () => call('info'),
    assistant: {
      context: (query, options) => withOptions('context', [query], options),
      reply(messages, options) {
        let parts;
        try {
          parts = stripSignal(options);
        } catch (e) {
          const s = replyStream(() => {});
          s.fail(named('attune.assistant.reply', e));
          return s;
        }
        if (messagesOverLimit(messages)) {
          const s = replyStream(() => {});
          s.fail(named('attune.assistant.reply', tooLarge('assistant.reply(messages)', `${MAX_MESSAGES} messages or ${MAX_MESSAGE_BYTES}`)));
          return s;
        }
        return t.reply(messages, parts.opts, parts.signal);
      },
    },
    close() {
      if (closed) return;
      closed = true;
      t.close();
    },
    get closed() { return closed; },
  };
}

/**
 * Opens an Attune instance. `env.createWorker()` makes the module worker (started through
 * worker-policy.js: Trusted Types, CSP refusals as `unsupported`); `env.loadCore()` imports
 * core.js for { worker: false }.
 */
export async function openWith(env, options) {
  try {
    return await openChecked(env, await withDefaultModels(env, options));
  } catch (e) {
    throw named('Attune.open', e);
  }
}

/**
 * `options` with the default models (DEFAULT_MODELS, pinned by sha256) where no URL was given:
 * `env.defaultModelUrls()` says where they are (the attune-models package for the npm entry,
 * beside the package's folder for the script tag). `assistant: false` opens without one.
 */
async function withDefaultModels(env, o) {
  if (!o || typeof o !== 'object') return o; // transportOptions says what is wrong
  const lacks = (src) => src === undefined || (src !== null && typeof src === 'object' && !(src instanceof URL) && src.url === undefined);
  const roles = ['embedder', 'assistant'].filter((r) => lacks(o[r]));
  if (roles.length === 0) return o;
  let urls;
  try {
    urls = await env.defaultModelUrls();
  } catch (e) {
    const why = `${e && e.message ? e.message : e}`;
    const fix = `install ${MODELS_PACKAGE}@${MODELS_VERSION} beside attune (npm install ${MODELS_PACKAGE}@${MODELS_VERSION}), or pass { url, sha256 } (models.json in the attune package lists every model file with its sha256)`;
    // Without an assistant URL the page may never chat: open, and say why on the first reply.
    if (!roles.includes('embedder')) return { ...o, assistant: false, assistantMissing: `no assistant URL was given and the default models could not be loaded (${why}): ${fix}` };
    throw new AttuneError('model_load', `Attune.open(options.embedder): no embedder URL was given and the default models could not be loaded (${why}): ${fix}`);
  }
  const out = { ...o };
  for (const r of roles) out[r] = { ...o[r], url: urls[r], sha256: DEFAULT_MODELS[r].sha256 };
  return out;
}

async function openChecked(env, options) {
  const transportOpts = transportOptions(options);
  const useWorker = options.worker !== false;
  // An extension's service worker can start no worker and import() nothing: the SDK runs in an
  // offscreen document (or another extension page), which the service worker relays to.
  if (typeof ServiceWorkerGlobalScope !== 'undefined' && globalThis instanceof ServiceWorkerGlobalScope) {
    throw new AttuneError('unsupported', 'a service worker cannot run Attune (no Worker, no import()): open it in an '
      + 'offscreen document (chrome.offscreen, reason WORKERS) or another extension page and relay messages to it');
  }
  if (useWorker && typeof Worker === 'undefined') {
    throw new AttuneError('unsupported', 'this context has no Worker; open with { worker: false }');
  }
  let t;
  let started = null;
  if (useWorker) {
    started = startWorker(env.createWorker);
    t = workerTransport(started.worker, options.onProgress, started.refusal, env.workerUrl ?? started.url);
  } else {
    t = localTransport(env.loadCore, options.onProgress, env.coreUrl?.());
  }
  try {
    await t.open(transportOpts);
  } catch (e) {
    t.close();
    throw toAttuneError(e);
  } finally {
    started?.stop();
  }
  return client(t);
}
