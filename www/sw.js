// The demo's service worker: keeps a copy of the page's own files (HTML, JS, CSS, the catalog,
// the SDK and its wasm) so the demo opens offline after a first visit. Network first, so a
// rebuilt page shows up at once; the cache answers only when the network does not. Models are
// not touched: the SDK keeps them in its own cache (Cache API `attune-models-v1`).
const CACHE = 'attune-demo-pages-v1';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== location.origin || url.pathname.includes('/models/')) return;
  e.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const res = await fetch(e.request);
      if (res.ok) await cache.put(e.request, res.clone());
      return res;
    } catch (err) {
      const hit = await cache.match(e.request, { ignoreSearch: true });
      if (hit) return hit;
      throw err;
    }
  })());
});
