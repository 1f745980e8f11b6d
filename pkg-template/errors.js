// AttuneError: every failure of the SDK, with a stable `code` (messages may change, codes not).
// Errors cross the worker boundary as { code, message } and are rebuilt here, so
// `instanceof AttuneError` holds whether the core runs in a worker or in the page.

/** Codes raised by the JS glue; the Rust core adds its own (see index.d.ts). */
export const CODES = Object.freeze({
  INVALID_ARGUMENT: 'invalid_argument',
  MODEL_LOAD: 'model_load',
  DEVICE: 'device',
  STORAGE: 'storage',
  QUOTA_EXCEEDED: 'quota_exceeded',
  ABORTED: 'aborted',
  CLOSED: 'closed',
  UNSUPPORTED: 'unsupported',
});

export class AttuneError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'AttuneError';
    this.code = code;
  }
}

/** Anything thrown (a wasm AttuneError, a DOMException, a string) as an AttuneError. */
export function toAttuneError(e, fallbackCode = 'internal') {
  if (e instanceof AttuneError) return e;
  if (e && typeof e === 'object' && e.name === 'AttuneError' && typeof e.code === 'string') {
    return new AttuneError(e.code, e.message);
  }
  const name = e && typeof e === 'object' ? e.name : undefined;
  const message = e && typeof e === 'object' && 'message' in e ? String(e.message) : String(e);
  if (name === 'AbortError') return new AttuneError('aborted', message || 'aborted', { cause: e });
  if (name === 'QuotaExceededError') return new AttuneError('quota_exceeded', message, { cause: e });
  if (name === 'DataCloneError') return new AttuneError('invalid_argument', `argument cannot be passed: ${message}`, { cause: e });
  return new AttuneError(fallbackCode, message, { cause: e });
}

/** The plain form that crosses postMessage. */
export function serializeError(e) {
  const err = toAttuneError(e);
  return { code: err.code, message: err.message };
}

/** Back from the plain form. */
export function deserializeError(e) {
  return new AttuneError(e && typeof e.code === 'string' ? e.code : 'internal', e && e.message ? String(e.message) : 'unknown error');
}

export function abortError(signal) {
  const reason = signal && signal.reason;
  const why = reason instanceof Error ? reason.message : reason !== undefined ? String(reason) : 'the operation was aborted';
  return new AttuneError('aborted', why);
}
