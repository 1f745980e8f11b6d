// Why a file of the SDK (worker.js, core.js, a .wasm) did not load, found by fetching it once
// more: the browser's own error for a failed module worker or wasm load says nothing useful
// ("could not load worker.js", "expected magic word"), while a fetch can see the HTTP status,
// a missing CORS header, the Content-Type, the first bytes, and a Vite dev server's
// pre-bundled copy. Each cause comes with its fix. No imports, so the script-tag build can
// inline it.

const JS_TYPES = /^(text|application)\/(x-)?(javascript|ecmascript)\b/i;
const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** The file's name for a message: "worker.js" of ".../attune/worker.js?v=1". */
const fileName = (u) => u.pathname.slice(u.pathname.lastIndexOf('/') + 1) || u.href;

function here() {
  return typeof location !== 'undefined' ? location : undefined;
}

/** The first bytes of a response (at most `n`), then the rest is cancelled. */
async function firstBytes(res, n) {
  if (!res.body) return new Uint8Array(await res.arrayBuffer()).subarray(0, n);
  const reader = res.body.getReader();
  try {
    const { value } = await reader.read();
    return value ? value.subarray(0, n) : new Uint8Array();
  } finally {
    reader.cancel().catch(() => {});
  }
}

/**
 * Why `url`, a file of `kind` 'script' (worker.js, core.js) or 'wasm', could not be loaded, and
 * how to fix it; null when the fetch finds nothing wrong (then the browser's error is all
 * there is to say). Never throws.
 */
export async function explainLoadFailure(url, kind) {
  let u;
  try {
    u = new URL(String(url), here()?.href);
  } catch {
    return null;
  }
  const name = fileName(u);
  const viteFix = "the Vite dev server serves a pre-bundled copy of attune from node_modules/.vite/deps, away from its worker.js and .wasm: add optimizeDeps: { exclude: ['attune', 'attune-models'] } to vite.config (vite build needs nothing)";
  if (u.pathname.includes('/.vite/deps/') || /(^|[?&])import(&|=|$)/.test(u.search.slice(1))) {
    return `${name} was asked for at ${u.href}: ${viteFix}`;
  }
  if (u.protocol === 'blob:' || u.protocol === 'data:') return null;
  const loc = here();
  const crossOrigin = loc && u.origin !== loc.origin;
  let res;
  try {
    res = await fetch(u.href, { cache: 'no-store', credentials: 'same-origin' });
  } catch (e) {
    if (crossOrigin) {
      let opaque = false;
      try {
        opaque = (await fetch(u.href, { mode: 'no-cors', cache: 'no-store' })).type === 'opaque';
      } catch { /* unreachable as well */ }
      if (opaque) {
        return `${u.href} is on another origin (${u.origin}) that sends no Access-Control-Allow-Origin header, so the browser refuses it to this page (${loc.origin}): `
          + `serve the package's files with Access-Control-Allow-Origin: ${loc.origin} (or *), or from this page's origin`;
      }
    }
    return `${u.href} cannot be fetched (${e && e.message ? e.message : e}): the server is down or unreachable, the page is offline, `
      + "or the page's Content-Security-Policy connect-src refuses it";
  }
  if (!res.ok) {
    return `${u.href} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}: deploy every file of the attune package together `
      + `(${name} beside index.js / attune.js; a bundler emits them from new URL('./…', import.meta.url))${kind === 'wasm' ? ', or pass its URL as Attune.open({ wasmUrl })' : ''}`;
  }
  const type = (res.headers.get('content-type') || '').split(';')[0].trim();
  let head;
  try {
    head = await firstBytes(res, 16);
  } catch {
    head = new Uint8Array();
  }
  const looksHtml = /^\s*</.test(new TextDecoder().decode(head));
  if (kind === 'wasm') {
    const isWasm = WASM_MAGIC.every((b, i) => head[i] === b);
    if (!isWasm) {
      return `${u.href} answered HTTP ${res.status} with Content-Type ${type || '(none)'} and ${looksHtml ? 'an HTML page' : 'bytes that are not WebAssembly'}, `
        + `not the wasm module${looksHtml ? " (a single-page app's fallback page answering for a missing file?)" : ''}: `
        + `serve ${name} itself, as Content-Type: application/wasm, uncompressed or with a Content-Encoding the browser is told about`;
    }
    if (type !== 'application/wasm') {
      return `${u.href} is served as Content-Type ${type || '(none)'}: serve .wasm files as application/wasm`;
    }
    return null;
  }
  if (!JS_TYPES.test(type)) {
    return `${u.href} is served as Content-Type ${type || '(none)'}${looksHtml ? ' (an HTML page: a single-page app\'s fallback answering for a missing file?)' : ''}, `
      + 'and browsers run module scripts and workers only when served as JavaScript: '
      + `serve ${name} itself as text/javascript`;
  }
  return null;
}
