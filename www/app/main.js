// The Attune demo app: a reading room whose "For you" feed is ranked on this device by the
// public SDK (../sdk is the npm package, pkg/), exactly as a customer's page would use it: one
// `Attune.open` (worker, model cache), `rank` with reasons after every action, `track` for
// open / read time / like / hide, the profile API for the panel, and the local assistant.
import { Attune } from '../sdk/index.js';
import { AssistantPanel } from './assistant-panel.js';
import { loadCatalog } from './catalog.js';
import { $, confirmTwice, formatMs, h } from './dom.js';
import { Feed } from './feed.js';
import { ProfilePanel } from './profile-panel.js';
import { status } from './status.js';

const FEED_SIZE = 24;
const NAMESPACE = 'attune-demo';
const EMBEDDER = 'minilm-l6-v2.q8_0.gguf';
const CHAT = 'smollm2-135m-instruct.q4_1.gguf';
const params = new URLSearchParams(location.search);
// Reply length; `?reply-tokens=16` keeps the automated test quick on a slow CPU.
const REPLY_TOKENS = Math.min(512, Math.max(1, Number(params.get('reply-tokens')) || 120));
// The demo's voice for the reasons (a click here opens the article: "read").
const REASON_TEXTS = {
  'similarTo.click': 'because you read “{title}”',
  'similarTo.dwell': 'because you spent time on “{title}”',
  'similarTo.like': 'because you liked “{title}”',
  'seen.click': 'you read this',
  'seen.dwell': 'you read this',
  'seen.like': 'you liked this',
  tag: 'you often pick “{tag}”',
  new: 'something new for you',
  pageOrder: 'newest first',
};

// What the automated test (scripts/e2e-demo.mjs) reads; harmless for visitors.
const demo = (window.demo = { ready: false, timings: { moduleAt: performance.now() }, updates: 0, lastUpdate: null, errors: [] });

function showError(e) {
  console.error(e);
  demo.errors.push(`${e?.code ?? ''} ${e?.message ?? e}`);
  const el = $('error');
  el.hidden = false;
  el.textContent = `Something went wrong${e?.code ? ` (${e.code})` : ''}: ${e?.message ?? e}`;
}

/** Ids the visitor hid (left out of Latest too; `rank` leaves them out by itself). */
const hiddenOf = (p) => new Set([...p.hidden, ...p.recent.filter((r) => r.lastType === 'hide' || r.lastType === 'dismiss').map((r) => r.id)]);

function registerServiceWorker() {
  if (!('serviceWorker' in navigator) || params.get('sw') === '0') return;
  navigator.serviceWorker.register('sw.js').catch((e) => console.warn('no offline copy:', e.message));
}

/** `panels.assistant` gets the chat model's progress (it exists by the first reply). */
async function openAttune(panels) {
  // The models' sha256 come from the manifest written beside them (models/out/manifest.json).
  const manifest = await fetch('models/manifest.json').then((r) => (r.ok ? r.json() : null)).catch(() => null);
  const sha256 = (f) => manifest?.files?.[f]?.sha256;
  const started = performance.now();
  let embedderCached = false;
  let chatStarted = null;
  let chatCached = false;
  const attune = await Attune.open({
    namespace: NAMESPACE,
    embedder: { url: `models/${EMBEDDER}`, sha256: sha256(EMBEDDER) },
    assistant: { url: `models/${CHAT}`, sha256: sha256(CHAT) },
    reasonTexts: REASON_TEXTS,
    onProgress(e) {
      if (e.model === 'embedder') {
        embedderCached ||= e.fromCache;
        $('load-embedder').value = e.phase === 'download' ? (e.total ? e.loaded / e.total : 0) : 1;
        $('load-embedder-text').textContent = e.fromCache ? 'from this browser\'s cache'
          : e.phase === 'download' && e.total ? `${Math.round((100 * e.loaded) / e.total)} % of ${(e.total / 1048576).toFixed(0)} MB` : e.phase;
        return;
      }
      chatStarted ??= performance.now();
      chatCached ||= e.fromCache;
      panels.assistant?.progress(e);
      if (e.phase === 'load') {
        status.set({ assistant: { state: 'ready', bytes: e.total, ms: performance.now() - chatStarted, fromCache: chatCached } });
      }
    },
  });
  demo.timings.openMs = performance.now() - started;
  const info = await attune.info();
  status.set({
    device: info.device,
    embedder: { state: 'ready', bytes: info.embedder.bytes, ms: demo.timings.openMs, fromCache: embedderCached },
    assistant: { state: 'idle' },
  });
  return attune;
}

async function main() {
  registerServiceWorker();
  status.set({});
  // The catalog and the SDK load side by side.
  const panels = {};
  const opening = openAttune(panels);
  opening.catch(() => {}); // awaited below
  const catalog = await loadCatalog();
  let attune = null;
  let view = 'foryou';
  let ranked = [];
  let hidden = new Set();
  let opened = null; // { item, at } of the card open now (its time is tracked as dwell)
  let chain = Promise.resolve();
  const act = (fn) => (chain = chain.then(fn).catch(showError));
  const itemFor = (it) => ({ id: it.id, text: it.text, tags: it.tags });

  const feed = new Feed({ list: $('feed'), live: $('feed-live'), catalog, on: {
    toggleOpen: (item) => act(() => toggleOpen(item)),
    like: (item) => act(() => like(item)),
    hide: (item) => act(() => hide(item)),
  } });
  const assistant = new AssistantPanel({ attune: null, catalog, status, maxTokens: REPLY_TOKENS,
    feedTop: (n) => ranked.slice(0, n).map((r) => catalog.items[r.index]) });
  panels.assistant = assistant;
  attune = await opening;
  demo.timings.openedAt = performance.now();
  assistant.attune = attune;
  demo.attune = attune;

  const profilePanel = new ProfilePanel({ attune, catalog, on: {
    forgetItem: (id) => act(async () => {
      await attune.forget({ itemId: id });
      hidden.delete(id);
      feed.liked.delete(id);
      await update(`Forgot “${catalog.byId.get(id)?.title ?? id}”`);
    }),
    forgetTopic: (topicId) => act(() => forgetTopic(topicId)),
    forgetTag: (tag) => act(async () => { await attune.forget({ tag }); await update(`Forgot the tag “${tag}”`); }),
    forgetMemory: (id) => act(async () => { await attune.forget({ memoryId: id }); await refreshProfile('Memory forgotten'); }),
  } });

  async function track(event) {
    const t = performance.now();
    await attune.track(event);
    status.set({ track: performance.now() - t });
  }

  async function rerank(onProgress) {
    const t = performance.now();
    ranked = await attune.rank(catalog.items, { limit: FEED_SIZE, explore: 0.1, seed: 16, onProgress });
    status.set({ rank: performance.now() - t });
  }

  function draw() {
    const latest = catalog.items.filter((it) => !hidden.has(it.id));
    const latestPos = new Map(latest.map((it, i) => [it.id, i]));
    const entries = view === 'foryou'
      ? ranked.map((r) => ({ item: catalog.items[r.index], ranked: r }))
      : latest.slice(0, FEED_SIZE).map((item) => ({ item }));
    $('feed').dataset.view = view;
    $('feed').setAttribute('aria-busy', String(ranked.some((r) => r.pending)));
    return feed.render(entries, view, { latestPos });
  }

  async function refreshProfile(say) {
    const { profile } = await profilePanel.refresh();
    hidden = hiddenOf(profile);
    if (say) $('profile-live').textContent = say;
    const note = $('feed-note');
    const personal = profile.interests.length || profile.tags.some((t) => t.affinity > 0);
    note.textContent = view === 'latest' ? 'Newest first, the same for every visitor.'
      : personal ? `Ranked on this device from your ${profile.stats.events} action${profile.stats.events === 1 ? '' : 's'}${demo.lastUpdate ? ` · updated ${formatMs(demo.lastUpdate.ms)} after your last action` : ''}.`
        : profile.stats.events ? 'Your profile says nothing about these articles now, so this is the newest first.'
          : 'No profile yet, so this is the newest first. Open, like or hide an article to change it.';
    return profile;
  }

  /** After an action: rank again, move the cards, say what changed, refresh the panel. */
  async function update(what, started = performance.now()) {
    // After a clear the embedding cache is empty: say why this one takes seconds.
    await rerank(({ done, total }) => { $('feed-note').textContent = `Reading the articles again: ${done} of ${total}…`; });
    const moved = draw();
    demo.lastUpdate = { what, ms: performance.now() - started };
    const top = ranked[0] && catalog.items[ranked[0].index];
    feed.announce(view === 'foryou'
      ? `${what}. For you re-ordered: ${moved.length} article${moved.length === 1 ? '' : 's'} moved up${top ? `; first is now “${top.title}”` : ''}.`
      : `${what}. For you has been re-ordered.`);
    await refreshProfile(what);
    demo.updates++; // (the test waits on this: the feed and the panel are both up to date)
  }

  async function closeOpen() {
    if (!opened) return;
    const { item, at } = opened;
    opened = null;
    feed.openId = null;
    const seconds = (performance.now() - at) / 1000;
    if (seconds >= 2) await track({ type: 'dwell', item: itemFor(item), seconds: Math.round(seconds * 10) / 10 });
  }

  async function toggleOpen(item) {
    const t = performance.now();
    const wasOpen = opened?.item.id === item.id;
    await closeOpen();
    if (wasOpen) return update(`Closed “${item.title}”`, t);
    opened = { item, at: performance.now() };
    feed.openId = item.id;
    await track({ type: 'click', item: itemFor(item) });
    await update(`Opened “${item.title}”`, t);
    await showReading(item);
  }

  async function showReading(item) {
    const similar = (await attune.similar(itemFor(item), catalog.items, { limit: 5 })).filter((s) => s.id !== item.id).slice(0, 4);
    feed.setReading(item.id, [
      h('p', { class: 'muted' }, 'Open now: the time until you close it counts as reading time (dwell).'),
      h('h4', {}, 'More like this'),
      h('ul', {}, similar.map((s) => {
        const other = catalog.items[s.index];
        return h('li', {}, h('button', { type: 'button', class: 'chip', onclick: () => act(() => toggleOpen(other)) }, other.title),
          h('span', { class: 'muted' }, ` ${Math.round(s.similarity * 100)} %`));
      })),
      h('button', { type: 'button', onclick: () => act(() => toggleOpen(item)) }, 'Close'),
    ]);
    feed.cards.get(item.id)?.li.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }

  async function like(item) {
    const t = performance.now();
    if (feed.liked.has(item.id)) {
      feed.liked.delete(item.id);
      await attune.forget({ itemId: item.id });
      return update(`Took back your like of “${item.title}”`, t);
    }
    feed.liked.add(item.id);
    await track({ type: 'like', item: itemFor(item) });
    await update(`Liked “${item.title}”`, t);
  }

  async function hide(item) {
    const t = performance.now();
    if (opened?.item.id === item.id) await closeOpen();
    hidden.add(item.id);
    await track({ type: 'hide', item: itemFor(item) });
    await update(`Hid “${item.title}” (bring it back from Recent in your profile)`, t);
  }

  /** Forgets every article of one catalog topic the profile holds, and the topic's tag. */
  async function forgetTopic(topicId) {
    const t = performance.now();
    const topic = catalog.topics.get(topicId);
    const profile = await attune.profile();
    const ids = profile.recent.filter((r) => catalog.byId.get(r.id)?.topic === topicId).map((r) => r.id);
    if (opened && catalog.byId.get(opened.item.id)?.topic === topicId) { opened = null; feed.openId = null; }
    for (const id of ids) {
      await attune.forget({ itemId: id });
      feed.liked.delete(id);
      hidden.delete(id);
    }
    await attune.forget({ tag: topic.tag });
    await update(`Forgot ${topic.name}: ${ids.length} article${ids.length === 1 ? '' : 's'} and its tag`, t);
  }

  // The view switch, memories and the data buttons.
  for (const [id, v] of [['view-foryou', 'foryou'], ['view-latest', 'latest']]) {
    $(id).addEventListener('click', () => act(async () => {
      view = v;
      $('view-foryou').setAttribute('aria-pressed', String(v === 'foryou'));
      $('view-latest').setAttribute('aria-pressed', String(v === 'latest'));
      draw();
      await refreshProfile();
      feed.announce(v === 'foryou' ? 'Showing For you, ranked for you.' : 'Showing Latest, newest first.');
    }));
  }
  $('memory-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('memory-input').value.trim();
    if (!text) return;
    act(async () => {
      await attune.remember(text);
      $('memory-input').value = '';
      await refreshProfile(`Remembered “${text}”`);
    });
  });
  $('export-button').addEventListener('click', () => act(async () => {
    const text = await attune.export();
    const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
    h('a', { href: url, download: 'attune-profile.json' }).click();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    $('profile-live').textContent = 'Profile exported as attune-profile.json';
  }));
  $('import-input').addEventListener('change', (e) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (file) act(async () => {
      await attune.import(await file.text());
      await resetFromProfile();
      await update('Imported a profile');
    });
  });
  confirmTwice($('clear-button'), 'Click again to clear', () => act(async () => {
    await attune.clear();
    opened = null;
    feed.openId = null;
    await resetFromProfile();
    await update('Cleared everything Attune stored here');
  }));
  addEventListener('pagehide', () => { if (opened) act(closeOpen); });

  async function resetFromProfile() {
    const p = await attune.profile();
    feed.liked = new Set(p.recent.filter((r) => r.lastType === 'like').map((r) => r.id));
    return p;
  }

  // First feed: the catalog's texts are embedded once (progress), then read from the cache.
  const profile = await resetFromProfile();
  hidden = hiddenOf(profile);
  // Cards at once from what is cached (everything, on a later visit; the newest first on a
  // first one), then the full rank once every text is embedded.
  ranked = await attune.rank(catalog.items, { limit: FEED_SIZE, explore: 0.1, seed: 16, cachedOnly: true });
  draw();
  demo.timings.firstCardsMs = performance.now();
  const first = performance.now();
  let embedded = false;
  await rerank(({ done, total }) => {
    embedded = true;
    $('load-catalog').value = done / total;
    $('load-catalog-text').textContent = `${done} of ${total} articles`;
  });
  $('load-catalog').value = 1;
  if (!$('load-catalog-text').textContent.includes('of')) $('load-catalog-text').textContent = 'from this browser\'s cache';
  // The first rank's time is the catalog's embedding when it was not cached yet.
  if (embedded) status.set({ embed: performance.now() - first });
  draw();
  demo.timings.firstFeedMs = performance.now(); // since navigation start
  $('loading').hidden = true;
  await refreshProfile();
  demo.ready = true;
  document.body.dataset.ready = 'true';
}

main().catch(showError);
