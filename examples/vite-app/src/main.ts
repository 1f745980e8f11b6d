// A small page over the attune package: open, track clicks on items, show the profile. It also
// exposes `window.example` (Attune, a frame counter) for the e2e test.
import { Attune, AttuneError, type AttuneInstance, type ProgressEvent } from 'attune';

const ITEMS = [
  { id: 'bike', text: 'Carbon road bike with electronic shifting', tags: ['cycling'] },
  { id: 'jazz', text: 'Live jazz trio at the riverside club', tags: ['music'] },
  { id: 'tent', text: 'Two-person ultralight hiking tent', tags: ['outdoors'] },
];

const $ = (id: string) => document.getElementById(id)!;
let frames = 0;
const tick = () => { frames++; $('frames').textContent = String(frames); requestAnimationFrame(tick); };
requestAnimationFrame(tick);

const progress: ProgressEvent[] = [];
const example = {
  Attune,
  AttuneError,
  progress,
  frames: () => frames,
  attune: null as AttuneInstance | null,
  embedder: { url: '/models/minilm-l6-v2.q8_0.gguf' },
};
(window as unknown as { example: typeof example }).example = example;

async function show(attune: AttuneInstance) {
  const p = await attune.profile();
  $('profile').textContent = JSON.stringify({ events: p.stats.events, tags: p.tags, recent: p.recent.map((r) => r.id) }, null, 2);
}

async function main() {
  const attune = await Attune.open({ namespace: 'vite-example', embedder: example.embedder, onProgress: (e) => progress.push(e) });
  example.attune = attune;
  for (const item of ITEMS) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.textContent = item.text;
    b.onclick = async () => { await attune.track({ type: 'click', item }); await show(attune); };
    li.append(b);
    $('items').append(li);
  }
  await show(attune);
  $('status').textContent = 'ready';
}

main().catch((e: unknown) => {
  $('status').textContent = e instanceof AttuneError ? `error ${e.code}: ${e.message}` : String(e);
});
