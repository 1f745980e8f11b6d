// The extension's service worker: the gatekeeper. It runs no model (a service worker can start no
// Worker and import() nothing, and Chrome stops it when idle): it checks every message against the
// person's settings and relays what passes to the offscreen document, which runs the SDK.
//   content script bridge.js  { kind: 'ask', method, args }  → consent, limits, answers for the sender's origin
//   content script collect.js { kind: 'collect?' } / { kind: 'learn', event, title, text, seconds }
//   extension pages           { kind: 'admin', op, args } (popup) / { kind: 'consent', … } (consent.html)
// Origins come from the browser (`sender`), never from the message.

import { isSensitive } from './sensitive.js';
import { PAGE_LIMITS, PageError, pageItems, pageQuery, pageRankOptions, pageRanked, pageSimilar, pageSimilarOptions, pageTopics,
  pageTopicsOptions, rateLimiter } from './page-answers.js';
import { grantOnce, onceGranted, readSettings, revokeOnce, updateSettings } from './settings.js';
import { offscreen } from './offscreen-client.js';
import { syncContentScripts } from './registration.js';

const EXTENSION_ORIGIN = new URL(chrome.runtime.getURL('')).origin;
const limiter = rateLimiter({ burst: 30, perSecond: 2 });

/** The web origin of a content script's frame; null for anything else. */
function pageOrigin(sender) {
  if (sender.id !== chrome.runtime.id || !sender.tab || sender.frameId !== 0 || !sender.url) return null;
  const origin = sender.origin ?? new URL(sender.url).origin;
  return /^https?:\/\//.test(origin) ? origin : null;
}

const fromExtensionPage = (sender) => sender.id === chrome.runtime.id && typeof sender.url === 'string'
  && sender.url.startsWith(`${EXTENSION_ORIGIN}/`) && (sender.origin === undefined || sender.origin === EXTENSION_ORIGIN);

// --- consent -------------------------------------------------------------------------------

const prompts = new Map(); // origin → { decided: Promise<decision>, resolve, documentIds, windowId }
// Pages whose prompt the person closed without answering: not asked again (a new page load is).
const dismissed = new Set();

/** Opens the consent window for `origin` (one at a time per origin) and waits for the answer. */
function askPerson(origin, documentId) {
  let p = prompts.get(origin);
  if (!p) {
    let resolve;
    const decided = new Promise((r) => { resolve = r; });
    p = { decided, resolve, documentIds: [], windowId: null };
    prompts.set(origin, p);
    const url = chrome.runtime.getURL(`consent.html?origin=${encodeURIComponent(origin)}`);
    chrome.windows.create({ url, type: 'popup', width: 460, height: 520, focused: true })
      .then((w) => { p.windowId = w.id; })
      .catch(() => settle(origin, 'dismissed'));
  }
  p.documentIds.push(documentId);
  return p.decided;
}

async function settle(origin, decision) {
  const p = prompts.get(origin);
  if (decision === 'allow' || decision === 'deny') {
    await updateSettings((s) => { s.consents[origin] = { decision, at: Date.now() }; });
  }
  if (!p) return;
  prompts.delete(origin);
  if (decision === 'once') await grantOnce(origin, p.documentIds);
  if (decision === 'dismissed') {
    for (const id of p.documentIds) dismissed.add(id);
    if (dismissed.size > 1000) dismissed.delete(dismissed.values().next().value);
  }
  p.resolve(decision);
}

chrome.windows.onRemoved.addListener((windowId) => {
  for (const [origin, p] of prompts) if (p.windowId === windowId) settle(origin, 'dismissed');
});

/** 'allow' | 'once' for this document, or throws `denied` (asking the person if they have not said). */
async function consentFor(origin, sender) {
  const { consents } = await readSettings();
  const stored = consents[origin]?.decision;
  if (stored === 'allow') return 'allow';
  if (stored === 'deny') throw new PageError('denied', `the person does not let ${origin} use their Attune profile`);
  if (await onceGranted(origin, sender.documentId)) return 'once';
  if (dismissed.has(sender.documentId)) throw new PageError('denied', `the person did not answer ${origin}; reload to ask again`);
  const decision = await askPerson(origin, sender.documentId);
  if (decision === 'allow' || decision === 'once') return decision;
  throw new PageError('denied', `the person did not let ${origin} use their Attune profile`);
}

// --- page requests -------------------------------------------------------------------------

async function ask(msg, sender) {
  const origin = pageOrigin(sender);
  if (!origin || sender.tab.incognito) throw new PageError('unsupported', 'not a page the extension serves');
  if (!limiter.take(origin)) throw new PageError('busy', `${origin} sends too many requests (at most 30 at once, 2 a second)`);
  const args = Array.isArray(msg.args) ? msg.args : [];
  if (JSON.stringify(args).length > PAGE_LIMITS.requestBytes) throw new PageError('input_too_large', `a request is at most ${PAGE_LIMITS.requestBytes} bytes`);
  switch (msg.method) {
    case 'connect':
      return { consent: await consentFor(origin, sender) };
    case 'rank': {
      const page = pageItems(args[0]);
      const options = pageRankOptions(args[1]);
      await consentFor(origin, sender);
      return pageRanked(await offscreen('rank', [page.items, options]), page);
    }
    case 'similar': {
      const query = pageQuery(args[0]);
      const page = pageItems(args[1]);
      const options = pageSimilarOptions(args[2]);
      await consentFor(origin, sender);
      return pageSimilar(await offscreen('similar', [query, page.items, options]), page);
    }
    case 'topics': {
      const options = pageTopicsOptions(args[0]);
      await consentFor(origin, sender);
      return pageTopics(await offscreen('topics', [options]));
    }
    default:
      throw new PageError('invalid_argument', 'the extension answers connect, rank, similar and topics only');
  }
}

// --- learning ------------------------------------------------------------------------------

/** Why the extension must not learn from this sender now, or null. */
async function notCollecting(sender) {
  const origin = pageOrigin(sender);
  if (!origin) return 'not a page';
  if (sender.tab.incognito) return 'incognito';
  if (isSensitive(new URL(origin).hostname)) return 'sensitive site';
  const s = await readSettings();
  if (s.paused) return 'paused';
  if (!s.sites[origin]?.learn) return 'site not enabled';
  return null;
}

const LEARN_TEXT = 1000;

async function learn(msg, sender) {
  const why = await notCollecting(sender);
  if (why) return { collected: false, why };
  if (msg.event !== 'view' && msg.event !== 'dwell') throw new PageError('invalid_argument', 'event must be view or dwell');
  const title = typeof msg.title === 'string' ? msg.title.trim().slice(0, 300) : '';
  const body = typeof msg.text === 'string' ? msg.text.trim().slice(0, LEARN_TEXT) : '';
  if (!title && !body) return { collected: false, why: 'no text' };
  // The item is the page the browser says sent this (no query or fragment), not a URL the page claims.
  const url = new URL(sender.url);
  const item = { id: `${url.origin}${url.pathname}`, text: [title, body].filter(Boolean).join('. ') };
  const event = { type: msg.event, item };
  if (msg.event === 'dwell') {
    if (!(typeof msg.seconds === 'number' && msg.seconds > 0 && msg.seconds <= 3600)) throw new PageError('invalid_argument', 'seconds must be 0 … 3600');
    event.seconds = msg.seconds;
  }
  await offscreen('track', [event]);
  return { collected: true };
}

// --- the popup -----------------------------------------------------------------------------

const patternOf = (origin) => `${new URL(origin).protocol}//${new URL(origin).hostname}/*`;

function checkOrigin(raw) {
  let u;
  try { u = new URL(String(raw)); } catch { throw new PageError('invalid_argument', `not a site address: ${String(raw).slice(0, 100)}`); }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new PageError('invalid_argument', 'only http and https sites');
  return u.origin;
}

const ADMIN = {
  async state() {
    const s = await readSettings();
    const { origins = [] } = await chrome.permissions.getAll();
    const sites = Object.entries(s.sites).map(([origin, v]) => ({ origin, ...v, sensitive: isSensitive(new URL(origin).hostname) }));
    return { paused: s.paused, sites, consents: Object.entries(s.consents).map(([origin, v]) => ({ origin, ...v })), hostAccess: origins };
  },
  overview: () => offscreen('overview'),
  async setPaused(paused) { await updateSettings((s) => { s.paused = !!paused; }); },
  /** The popup has asked the browser for the host permission already (it needs a click). */
  async addSite(raw, learnHere = true) {
    const origin = checkOrigin(raw);
    if (isSensitive(new URL(origin).hostname)) throw new PageError('invalid_argument', `${new URL(origin).hostname} is on the sensitive list: Attune never learns there`);
    if (!(await chrome.permissions.contains({ origins: [patternOf(origin)] }))) throw new PageError('denied', `the browser did not give access to ${origin}`);
    await updateSettings((s) => { s.sites[origin] = { learn: !!learnHere, since: s.sites[origin]?.since ?? Date.now() }; });
    await syncContentScripts();
    return origin;
  },
  async setLearn(raw, learnHere) {
    const origin = checkOrigin(raw);
    await updateSettings((s) => { if (s.sites[origin]) s.sites[origin].learn = !!learnHere; });
    await syncContentScripts();
  },
  async removeSite(raw) {
    const origin = checkOrigin(raw);
    await updateSettings((s) => { delete s.sites[origin]; });
    await syncContentScripts();
  },
  async revoke(raw) {
    const origin = checkOrigin(raw);
    await updateSettings((s) => { delete s.consents[origin]; });
    await revokeOnce(origin);
  },
  forgetItem: (id) => offscreen('forget', [{ itemId: String(id) }]),
  forgetMemory: (id) => offscreen('forget', [{ memoryId: String(id) }]),
  forgetSite: (raw) => offscreen('forgetSite', [checkOrigin(raw)]),
  forgetTopic: (label) => offscreen('forgetTopic', [String(label)]),
  export: () => offscreen('export'),
  import: (text) => offscreen('import', [String(text)]),
  clear: () => offscreen('clear'),
  syncContentScripts: () => syncContentScripts(),
};

// --- routing -------------------------------------------------------------------------------

const errorOf = (e) => ({ code: typeof e?.code === 'string' ? e.code : 'internal', message: e?.message ?? String(e) });

function route(msg, sender) {
  switch (msg.kind) {
    case 'ask': return ask(msg, sender).then((value) => ({ ok: true, origin: pageOrigin(sender), value }));
    case 'collect?': return notCollecting(sender).then((why) => ({ ok: true, value: { collect: !why, why } }));
    case 'learn': return learn(msg, sender).then((value) => ({ ok: true, value }));
    case 'admin':
      if (!fromExtensionPage(sender) || !Object.hasOwn(ADMIN, msg.op)) return null;
      return ADMIN[msg.op](...(Array.isArray(msg.args) ? msg.args : [])).then((value) => ({ ok: true, value }));
    case 'consent':
      if (!fromExtensionPage(sender) || !['allow', 'once', 'deny'].includes(msg.decision)) return null;
      return settle(checkOrigin(msg.origin), msg.decision).then(() => ({ ok: true, value: null }));
    default: return null;
  }
}

chrome.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  if (!msg || typeof msg !== 'object' || msg.target === 'offscreen' || sender.id !== chrome.runtime.id) return false;
  let run;
  try {
    run = route(msg, sender);
  } catch (e) {
    sendResponse({ ok: false, error: errorOf(e) });
    return false;
  }
  if (!run) return false;
  run.then(sendResponse, (e) => sendResponse({ ok: false, origin: pageOrigin(sender), error: errorOf(e) }));
  return true;
});

// Content scripts follow the host access the person gave and the sites they enabled.
chrome.runtime.onInstalled.addListener(() => syncContentScripts());
chrome.runtime.onStartup.addListener(() => syncContentScripts());
chrome.permissions.onAdded.addListener(() => syncContentScripts());
chrome.permissions.onRemoved.addListener(() => syncContentScripts());
