// The dedicated module worker: owns the runtime (wasm core + models) so the page's main thread
// never blocks. Messages from the proxy (proxy.js):
//   { type: 'open', options }                 → { type: 'opened' } | { type: 'failed', error }
//   { type: 'call', id, method, args, progress? } → { id, progress: { done, total } }… (when asked),
//                                                then { id, ok: true, value } | { id, ok: false, error }
//   { type: 'reply', id, messages, options }  → { id, piece }…, then { id, done: true, stats } | { id, ok: false, error }
//   { type: 'cancel', id }                    → an unstarted call is dropped, a reply stops
//   { type: 'close' }
// and the worker posts { type: 'progress', event } while models load.

import { openRuntime } from './core.js';
import { AttuneError, serializeError } from './errors.js';

let runtime = null;
const cancels = new Map(); // id → AbortController (calls) or the reply iterator

function transferables(value) {
  // Embeddings travel as transferred buffers (no copy).
  if (Array.isArray(value) && value.every((v) => v instanceof Float32Array)) return value.map((v) => v.buffer);
  return [];
}

async function onCall({ id, method, args, progress }) {
  const ctl = new AbortController();
  cancels.set(id, ctl);
  try {
    const report = progress ? (p) => postMessage({ id, progress: p }) : undefined;
    const value = await runtime.call(method, args, ctl.signal, report);
    postMessage({ id, ok: true, value }, transferables(value));
  } catch (e) {
    postMessage({ id, ok: false, error: serializeError(e) });
  } finally {
    cancels.delete(id);
  }
}

async function onReply({ id, messages, options }) {
  const it = runtime.reply(messages, options);
  cancels.set(id, it);
  try {
    for (;;) {
      const { done, value } = await it.next();
      if (done) { postMessage({ id, done: true, stats: value ?? null }); break; }
      postMessage({ id, piece: value });
    }
  } catch (e) {
    postMessage({ id, ok: false, error: serializeError(e) });
  } finally {
    cancels.delete(id);
  }
}

self.onmessage = async (e) => {
  const msg = e.data;
  switch (msg && msg.type) {
    case 'open':
      try {
        runtime = await openRuntime(msg.options, (event) => postMessage({ type: 'progress', event }));
        postMessage({ type: 'opened' });
      } catch (err) {
        postMessage({ type: 'failed', error: serializeError(err) });
      }
      break;
    case 'call':
      if (!runtime) postMessage({ id: msg.id, ok: false, error: serializeError(new AttuneError('closed', 'not open')) });
      else onCall(msg);
      break;
    case 'reply':
      if (!runtime) postMessage({ id: msg.id, ok: false, error: serializeError(new AttuneError('closed', 'not open')) });
      else onReply(msg);
      break;
    case 'cancel': {
      const c = cancels.get(msg.id);
      if (c instanceof AbortController) c.abort();
      else if (c) c.return();
      break;
    }
    case 'close':
      runtime?.close();
      runtime = null;
      break;
  }
};
