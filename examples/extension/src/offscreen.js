// The offscreen document: runs the SDK (its own module Worker, WebGPU where there is one) for the
// whole extension and keeps the model loaded. The profile is the extension origin's IndexedDB
// (namespace `extension`); the model is packaged in the extension and read from it (no network,
// not copied into a cache). It answers only the service worker's { target: 'offscreen', op, args }.

import { Attune } from './attune/index.js';
import { EMBEDDER } from './model.js';

const SERVICE_WORKER_URL = chrome.runtime.getURL('service-worker.js');
let opening = null;

function instance() {
  opening ??= Attune.open({
    namespace: 'extension',
    embedder: { url: chrome.runtime.getURL(EMBEDDER.path), sha256: EMBEDDER.sha256 },
  }).catch((e) => { opening = null; throw e; });
  return opening;
}

/** Every item id learned on `origin` (ids are the pages' URLs) that the profile still lists. */
function idsOf(profile, origin) {
  const ids = new Set(profile.recent.map((r) => r.id));
  for (const i of profile.interests) for (const id of i.items) ids.add(id);
  return [...ids].filter((id) => id.startsWith(`${origin}/`));
}

/** Forgets each id; `exact` is false when some influence was already compacted and stays. */
async function forgetAll(attune, ids) {
  let removed = 0;
  let exact = true;
  for (const itemId of ids) {
    const r = await attune.forget({ itemId });
    removed += r.removed;
    exact &&= r.exact;
  }
  return { removed, exact, items: ids.length };
}

const OPS = {
  track: (a, event) => a.track(event),
  rank: (a, items, options) => a.rank(items, options),
  similar: (a, query, items, options) => a.similar(query, items, options),
  topics: (a, options) => a.topics(options),
  forget: (a, what) => a.forget(what),
  export: (a) => a.export(),
  import: (a, text) => a.import(text),
  clear: (a) => a.clear(),
  info: (a) => a.info(),
  async overview(a) {
    const [profile, topics] = [await a.profile(), await a.topics({ limit: 10 })];
    return { profile, topics };
  },
  async forgetSite(a, origin) {
    return forgetAll(a, idsOf(await a.profile(), origin));
  },
  /** The items whose closest label, among the profile's topics, is `label`. */
  async forgetTopic(a, label) {
    const [profile, topics] = [await a.profile(), await a.topics({ limit: 20 })];
    const labels = topics.map((t, i) => ({ id: String(i), text: t.label }));
    const ids = [];
    for (const r of profile.recent.filter((x) => x.text)) {
      const [best] = await a.similar(r.text, labels, { limit: 1 });
      if (best && topics[Number(best.id)].label === label) ids.push(r.id);
    }
    return forgetAll(a, ids);
  },
};

chrome.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  if (!msg || msg.target !== 'offscreen' || sender.id !== chrome.runtime.id || sender.url !== SERVICE_WORKER_URL) return false;
  if (!Object.hasOwn(OPS, msg.op)) return false;
  instance()
    .then((a) => OPS[msg.op](a, ...(msg.args ?? [])))
    .then((value) => sendResponse({ ok: true, value: value ?? null }),
      (e) => sendResponse({ ok: false, error: { code: e?.code ?? 'internal', message: e?.message ?? String(e) } }));
  return true;
});

// Load the model now, so the first request finds it warm.
instance().catch((e) => console.error('attune: opening the profile failed', e));
