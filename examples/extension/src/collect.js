// Learning (content script on sites the person enabled, top frame, document_idle): the page's
// title and description (or first paragraph), sent as a `view` once the page has been visible
// for a second, and as a `dwell` with the visible seconds when it is hidden or left (measured
// with the Page Visibility API). Nothing at all on a page with a password field (checked before
// reading and before every send), and nothing when the service worker says no (paused, not
// enabled, sensitive, incognito).
(() => {
  const VIEW_AFTER_MS = 1000;
  const DWELL_MIN_SECONDS = 3;
  const hasPassword = () => !!document.querySelector('input[type="password" i]');

  function pageText() {
    const meta = (sel) => document.querySelector(sel)?.getAttribute('content')?.trim();
    const title = meta('meta[property="og:title"]') || document.title.trim();
    let text = meta('meta[name="description"]') || meta('meta[property="og:description"]');
    if (!text) {
      const root = document.querySelector('article') || document.querySelector('main') || document.body;
      const p = [...(root?.querySelectorAll('p') ?? [])].map((el) => el.textContent.trim().replace(/\s+/g, ' ')).find((t) => t.length >= 40);
      text = p || '';
    }
    return { title: title.slice(0, 300), text: text.slice(0, 1000) };
  }

  const send = (msg) => chrome.runtime.sendMessage(msg).catch(() => null);

  async function start() {
    if (hasPassword()) return;
    const answer = await send({ kind: 'collect?' });
    if (!answer?.ok || !answer.value.collect) return;
    let visibleMs = 0;
    let since = document.visibilityState === 'visible' ? performance.now() : null;
    let reported = 0; // seconds already sent as dwell
    let viewed = false;
    const visibleSeconds = () => (visibleMs + (since === null ? 0 : performance.now() - since)) / 1000;
    const report = (event, extra = {}) => {
      if (hasPassword()) return;
      send({ kind: 'learn', event, ...pageText(), ...extra });
    };
    const maybeView = () => {
      if (!viewed && visibleSeconds() * 1000 >= VIEW_AFTER_MS) { viewed = true; report('view'); }
    };
    const timer = setInterval(() => { maybeView(); if (viewed) clearInterval(timer); }, 250);
    const onHidden = () => {
      if (since !== null) { visibleMs += performance.now() - since; since = null; }
      maybeView();
      const seconds = Math.round((visibleSeconds() - reported) * 10) / 10;
      if (seconds >= DWELL_MIN_SECONDS) { reported += seconds; report('dwell', { seconds: Math.min(seconds, 3600) }); }
    };
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') { if (since === null) since = performance.now(); } else onHidden();
    });
    window.addEventListener('pagehide', onHidden);
  }

  start();
})();
