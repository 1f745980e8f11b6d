// The page's way to the extension (content script, top frame, document_start). It reads nothing
// of the page. A page script posts { type: 'attune:hello', v: 1, nonce } on its own window (the
// SDK's Attune.connect does); this answers with a MessagePort over which the page sends
// { id, method, args } and gets { id, ok, origin, value | error }. Only JSON crosses, at most
// 1 MiB a request; the service worker checks the rest against the origin the browser reports.
(() => {
  const MAX_BYTES = 1 << 20;
  const METHODS = new Set(['connect', 'rank', 'similar', 'topics']);

  async function relay(msg) {
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await chrome.runtime.sendMessage(msg);
        if (answer) return answer;
        throw new Error('no answer');
      } catch (e) {
        // The service worker was stopped mid-request: ask once more (it starts again).
        if (attempt === 0 && chrome.runtime?.id) continue;
        return { ok: false, error: { code: 'closed', message: `the Attune extension is not reachable (${e.message}); reload the page` } };
      }
    }
  }

  async function onRequest(port, m) {
    if (!m || typeof m !== 'object' || !Number.isSafeInteger(m.id)) return;
    const reply = (a) => port.postMessage({ ...a, id: m.id });
    if (!METHODS.has(m.method) || !Array.isArray(m.args)) {
      return reply({ ok: false, origin: location.origin, error: { code: 'invalid_argument', message: 'the extension answers connect, rank, similar and topics only' } });
    }
    let json;
    try {
      json = JSON.stringify(m.args);
    } catch (e) {
      return reply({ ok: false, origin: location.origin, error: { code: 'invalid_argument', message: `arguments must be JSON: ${e.message}` } });
    }
    if (json.length > MAX_BYTES) {
      return reply({ ok: false, origin: location.origin, error: { code: 'input_too_large', message: `a request is at most ${MAX_BYTES} bytes` } });
    }
    reply(await relay({ kind: 'ask', method: m.method, args: JSON.parse(json) }));
  }

  window.addEventListener('message', (e) => {
    const d = e.data;
    if (e.source !== window || e.origin !== location.origin || !d || d.type !== 'attune:hello' || d.v !== 1) return;
    if (typeof d.nonce !== 'string' || d.nonce.length > 100) return;
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = (m) => { onRequest(port1, m.data); };
    window.postMessage({ type: 'attune:welcome', v: 1, nonce: d.nonce }, location.origin, [port2]);
  });
  // Injected after the page's hello (Chrome can be late with the first pages after a browser
  // start): say so, and Attune.connect asks again within its wait.
  window.postMessage({ type: 'attune:present', v: 1 }, location.origin);
})();
