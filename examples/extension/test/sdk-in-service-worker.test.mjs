// The package as shipped (pkg/), called where an MV3 service worker would call it: `open` fails
// at once with `unsupported`, naming the offscreen document, in both modes (a service worker has
// no Worker and refuses import()). The global scope is made to look like a service worker's.
import test from 'node:test';
import assert from 'node:assert/strict';

test('Attune.open in a service worker says to use an offscreen document', async () => {
  const proto = Object.getPrototypeOf(globalThis);
  class ServiceWorkerGlobalScope {}
  Object.setPrototypeOf(ServiceWorkerGlobalScope.prototype, proto);
  Object.setPrototypeOf(globalThis, ServiceWorkerGlobalScope.prototype);
  globalThis.ServiceWorkerGlobalScope = ServiceWorkerGlobalScope;
  try {
    const { Attune } = await import('../../../pkg/index.js');
    for (const worker of [true, false]) {
      await assert.rejects(Attune.open({ namespace: 'x', embedder: { url: 'chrome-extension://id/m.gguf' }, worker }),
        (e) => e.code === 'unsupported' && /offscreen document/.test(e.message) && e instanceof Attune.AttuneError);
    }
  } finally {
    Object.setPrototypeOf(globalThis, proto);
    delete globalThis.ServiceWorkerGlobalScope;
  }
});
