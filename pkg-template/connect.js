// Attune.connect(): personalization from the Attune browser extension when the person has it and
// says yes for this site, else this page's own profile (Attune.open). The extension's content
// script answers a window-message handshake with a MessagePort; requests go over that port, the
// extension checks the origin the browser gives it (not one the page claims), asks the person
// once per site, and answers with rankings of the items the page sent, naming the asking origin.
// No imports but errors.js, so the script-tag build can inline it.

import { AttuneError, deserializeError } from './errors.js';

/** The handshake's message types and version (the extension's bridge.js speaks the same). */
const CONNECT_HELLO = 'attune:hello';
const CONNECT_WELCOME = 'attune:welcome';
const CONNECT_PRESENT = 'attune:present'; // the bridge, when it arrives
const CONNECT_VERSION = 1;
/** How long connect() waits for the extension's answer to the handshake by default: its
 * content script runs before the page's scripts and answers within a task. */
const CONNECT_TIMEOUT_MS = 500;

/** The port the extension's content script hands over, or null when none answers in time. */
function findExtension(timeoutMs) {
  return new Promise((resolve) => {
    if (typeof window === 'undefined' || typeof MessageChannel === 'undefined' || window.top !== window) return resolve(null);
    const nonce = globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random()}`;
    const hello = () => window.postMessage({ type: CONNECT_HELLO, v: CONNECT_VERSION, nonce }, location.origin);
    const onMessage = (e) => {
      const d = e.data;
      if (e.source !== window || !d) return;
      // A bridge that arrived after the hello (Chrome can inject it late right after a browser
      // start) says so: ask again.
      if (d.type === CONNECT_PRESENT) return hello();
      if (d.type !== CONNECT_WELCOME || d.nonce !== nonce || !e.ports[0]) return;
      finish(e.ports[0]);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    function finish(port) {
      clearTimeout(timer);
      window.removeEventListener('message', onMessage);
      resolve(port);
    }
    window.addEventListener('message', onMessage);
    hello();
  });
}

/** Requests over the extension's port; every answer must name this page's origin. */
function extensionChannel(port) {
  let nextId = 1;
  const pending = new Map();
  let closed = false;
  port.onmessage = (e) => {
    const m = e.data;
    const p = m && pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (!m.ok) return p.reject(deserializeError(m.error));
    if (m.origin !== location.origin) {
      return p.reject(new AttuneError('internal', `the extension answered for ${String(m.origin)}, not ${location.origin}`));
    }
    p.resolve(m.value);
  };
  return {
    request(method, args, signal) {
      if (closed) return Promise.reject(new AttuneError('closed', 'this Attune instance is closed'));
      if (signal?.aborted) return Promise.reject(new AttuneError('aborted', 'the operation was aborted'));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        signal?.addEventListener('abort', () => {
          if (pending.delete(id)) reject(new AttuneError('aborted', 'the operation was aborted'));
        }, { once: true });
        try {
          port.postMessage({ id, method, args });
        } catch (e) {
          pending.delete(id);
          reject(new AttuneError('invalid_argument', `argument cannot be passed: ${e && e.message ? e.message : e}`));
        }
      });
    },
    close() {
      if (closed) return;
      closed = true;
      for (const p of pending.values()) p.reject(new AttuneError('closed', 'this Attune instance is closed'));
      pending.clear();
      port.close();
    },
    get closed() { return closed; },
  };
}

/** Options without what stays on this side (functions and signals do not cross). */
function crossing(options) {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== 'object') throw new AttuneError('invalid_argument', 'options must be an object');
  const { signal: _s, onProgress: _p, ...rest } = options;
  return rest;
}

/** The instance whose answers come from the extension (`source: 'extension'`). */
function extensionInstance(channel, consent) {
  const ask = (method, args, options) => {
    let rest;
    try { rest = crossing(options); } catch (e) { return Promise.reject(e); }
    return channel.request(method, rest === undefined ? args : [...args, rest], options?.signal);
  };
  return {
    source: 'extension',
    origin: location.origin,
    consent,
    why: null,
    rank: (items, options) => ask('rank', [items], options),
    similar: (query, items, options) => ask('similar', [query, items], options),
    topics: (options) => ask('topics', [], options),
    close: () => channel.close(),
    get closed() { return channel.closed; },
  };
}

/**
 * Connects to the Attune extension, or opens this page's own profile with `open(options)` when
 * there is none, the person says no, or it fails (`source: 'local'`, `why` says which);
 * `options.extension: false` skips the extension, `{ timeoutMs }` sets the handshake's wait.
 */
export async function connectWith(open, options = {}) {
  if (!options || typeof options !== 'object') throw new AttuneError('invalid_argument', 'Attune.connect takes an options object');
  const { extension = {}, ...openOptions } = options;
  if (extension !== false && (typeof extension !== 'object' || extension === null)) {
    throw new AttuneError('invalid_argument', 'extension must be false or { timeoutMs? }');
  }
  const timeoutMs = extension ? extension.timeoutMs ?? CONNECT_TIMEOUT_MS : 0;
  if (extension && !(Number.isFinite(timeoutMs) && timeoutMs >= 0 && timeoutMs <= 60000)) {
    throw new AttuneError('invalid_argument', 'extension.timeoutMs must be 0 … 60000');
  }
  let why = 'disabled';
  if (extension) {
    const port = await findExtension(timeoutMs);
    why = 'absent';
    if (port) {
      const channel = extensionChannel(port);
      try {
        // The first request from this origin asks the person (allow / allow once / deny).
        const { consent } = await channel.request('connect', []);
        return extensionInstance(channel, consent);
      } catch (e) {
        channel.close();
        why = e.code === 'denied' ? 'denied' : `failed: ${e.message}`;
      }
    }
  }
  const local = await open(openOptions);
  return Object.assign(local, { source: 'local', origin: location.origin, why });
}
