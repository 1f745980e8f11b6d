// The attune package bundled by webpack 5 with no configuration: webpack finds worker.js and the
// .wasm through `new URL('./…', import.meta.url)`. Exposes `window.example` for the e2e test.
import { Attune, AttuneError } from 'attune';

let frames = 0;
(function tick() { frames++; document.getElementById('frames').textContent = String(frames); requestAnimationFrame(tick); })();

const example = { Attune, AttuneError, progress: [], frames: () => frames, attune: null, embedder: { url: '/models/minilm-l6-v2.q8_0.gguf' } };
window.example = example;

async function show(attune) {
  const p = await attune.profile();
  document.getElementById('profile').textContent = JSON.stringify({ events: p.stats.events, tags: p.tags }, null, 2);
}

Attune.open({ namespace: 'webpack-example', embedder: example.embedder, onProgress: (e) => example.progress.push(e) })
  .then(async (attune) => {
    example.attune = attune;
    document.getElementById('like').onclick = async () => {
      await attune.track({ type: 'like', item: { id: 'tent', text: 'Two-person ultralight hiking tent', tags: ['outdoors'] } });
      await show(attune);
    };
    await show(attune);
    document.getElementById('status').textContent = 'ready';
  })
  .catch((e) => { document.getElementById('status').textContent = e instanceof AttuneError ? `error ${e.code}: ${e.message}` : String(e); });
