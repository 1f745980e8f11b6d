// Starting the SDK's worker on pages with a strict Content-Security-Policy. Where Trusted Types
// are enforced (`require-trusted-types-for 'script'`), `new Worker(url)` takes only a
// TrustedScriptURL, so the worker's URL goes through the SDK's own policy, POLICY_NAME, which
// such a page lists in its `trusted-types` directive. A refusal (the policy name not allowed, or
// worker-src not allowing the worker's URL) is an `unsupported` AttuneError that names what to
// allow, not a failed model load. No imports but errors.js, so the script-tag build can inline it.

import { AttuneError } from './errors.js';

/** The Trusted Types policy name to list in CSP `trusted-types`. */
export const POLICY_NAME = 'attune';

let policy; // undefined: not made yet; null: no Trusted Types here, or the page refused it
let passing = null; // the one URL the policy passes, while the SDK constructs its worker

function getPolicy() {
  if (policy !== undefined) return policy;
  policy = null;
  const tt = globalThis.trustedTypes;
  if (!tt || typeof tt.createPolicy !== 'function') return policy;
  try {
    policy = tt.createPolicy(POLICY_NAME, {
      // Only the URL being started right now: the policy cannot be used to pass any other.
      createScriptURL: (url) => {
        if (url !== passing) throw new TypeError(`the ${POLICY_NAME} Trusted Types policy only passes Attune's worker URL`);
        return url;
      },
    });
  } catch {
    // Refused by the page's `trusted-types` directive: a plain URL still works where Trusted
    // Types are not enforced.
  }
  return policy;
}

const trustedTypesRefusal = () => new AttuneError('unsupported',
  `Trusted Types refused the Attune worker: add the policy name "${POLICY_NAME}" to the Content-Security-Policy `
  + `trusted-types directive (trusted-types ${POLICY_NAME}; add 'allow-duplicates' if two copies of Attune load on the page), `
  + 'or open with { worker: false }');

const workerSrcRefusal = (url) => new AttuneError('unsupported',
  `the Content-Security-Policy refused the Attune worker ${url}: allow it in worker-src `
  + `(worker-src ${url.startsWith('blob:') ? 'blob:' : "'self'"}), or open with { worker: false }`);

/**
 * Runs `make`, which calls `new Worker(new URL('./worker.js', import.meta.url), …)` in the form
 * bundlers recognise (they rewrite the URL, not the global `Worker` looked up when it runs), with
 * `Worker` standing in for one that passes the URL through the policy. Returns the worker,
 * `refusal()` (an AttuneError if the page's CSP refused the worker's script since, else null; a
 * worker-src refusal shows only as the worker's error event), `stop()` and `url()` (the URL the
 * worker was started with); throws an AttuneError.
 */
export function startWorker(make) {
  const Native = globalThis.Worker;
  const p = getPolicy();
  let url = '';
  const seen = [];
  const onViolation = (e) => seen.push(e);
  function Worker(u, options) {
    url = String(u);
    if (p) {
      passing = url;
      try { u = p.createScriptURL(url); } finally { passing = null; }
    }
    return new Native(u, options);
  }
  globalThis.addEventListener?.('securitypolicyviolation', onViolation);
  const stop = () => globalThis.removeEventListener?.('securitypolicyviolation', onViolation);
  const refusal = () => (seen.some((e) => e.effectiveDirective === 'worker-src' || /^script-src/.test(e.effectiveDirective))
    ? workerSrcRefusal(url) : null);
  let swapped = false;
  try {
    try { globalThis.Worker = Worker; swapped = globalThis.Worker === Worker; } catch { /* a frozen global */ }
    return { worker: make(), refusal, stop, url: () => url };
  } catch (e) {
    stop();
    if (e instanceof AttuneError) throw e;
    if (e && e.name === 'SecurityError') throw workerSrcRefusal(url);
    if (e instanceof TypeError && globalThis.trustedTypes && !p) throw trustedTypesRefusal();
    throw new AttuneError('model_load', `cannot start the Attune worker: ${e && e.message ? e.message : e}`, { cause: e });
  } finally {
    if (swapped) globalThis.Worker = Native;
  }
}
