#!/usr/bin/env node
// The Attune browser extension end to end: the unpacked build (node scripts/build-extension.mjs)
// loaded into Chromium (--headless=new, --load-extension), driven through its real popup, consent
// window and content scripts on local sites (scripts/e2e-extension-sites.mjs), with the real model.
//   node scripts/e2e-extension.mjs [--chromium PATH] [--headed]
// One change to the build, made in a temporary copy: `host_permissions` for http://*.localhost/*,
// because the browser's own permission prompt (which the popup raises per site) cannot be clicked
// by automation; with the access already given, chrome.permissions.request resolves at once and
// everything else (which sites learn, the bridge, consent) runs the extension's own code.
// Checks: learning on two enabled sites shows in the popup (topics, items per site); a password
// page, a site not enabled and a paused extension collect nothing; a sensitive site cannot be
// enabled; site C's Attune.connect(): consent prompt, deny → its local profile answers, allow →
// the cross-site interests rank its items, allow once; what a page can send gets no profile,
// export or other site's text; limits; revoke (by keyboard); the offscreen document and service
// worker stopped and the whole browser restarted lose nothing; forget item/site/topic, export,
// import, clear; the CSP message; time from browser start to the first rank answer (cold, warm).

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checks, ok } from './e2e-lib.mjs';
import { ARTICLES, CATALOG, LOGIN, startSites } from './e2e-extension-sites.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILD = path.join(REPO, 'examples/extension/dist/unpacked');
const EMBEDDER = 'minilm-l6-v2.q8_0.gguf';
const argv = process.argv;
const chromiumPath = argv.includes('--chromium') ? argv[argv.indexOf('--chromium') + 1] : (process.env.CHROMIUM || '/usr/bin/chromium');
const headed = argv.includes('--headed');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const started = Date.now();
const timings = {};

const sites = await startSites({ pkg: path.join(REPO, 'pkg'), models: path.join(REPO, 'models/out') });
const A = sites.origin('site-a'), B = sites.origin('site-b'), C = sites.origin('site-c'), D = sites.origin('site-d');
const { files } = JSON.parse(await fs.readFile(path.join(REPO, 'models/out/manifest.json'), 'utf8'));
const LOCAL_OPTIONS = { namespace: 'site-c', embedder: { url: `/models/${EMBEDDER}`, sha256: files[EMBEDDER].sha256 } };
// Right after the browser starts, Chrome injects the extension's bridge into the first pages late
// (past the default 500 ms handshake wait): the cold checks wait longer, as a
// page that must not miss the extension then would (pkg README, Attune.connect()).
const COLD_OPTIONS = { ...LOCAL_OPTIONS, extension: { timeoutMs: 5000 } };

// The test copy of the unpacked build (see the header).
const extDir = await fs.mkdtemp(path.join(os.tmpdir(), 'attune-ext-'));
const userDataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'attune-ext-profile-'));
await fs.cp(BUILD, extDir, { recursive: true });
const manifest = JSON.parse(await fs.readFile(path.join(extDir, 'manifest.json'), 'utf8'));
await fs.writeFile(path.join(extDir, 'manifest.json'), JSON.stringify({ ...manifest, host_permissions: ['http://*.localhost/*'] }));

async function startBrowser() {
  const { chromium } = await import('playwright-core');
  const t0 = Date.now();
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: false, // --headless=new below: the mode that runs extensions
    args: [...(headed ? [] : ['--headless=new']), '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--host-resolver-rules=MAP *.localhost 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      `--disable-extensions-except=${extDir}`, `--load-extension=${extDir}`],
  });
  let [sw] = context.serviceWorkers();
  sw ??= await context.waitForEvent('serviceworker', { timeout: 30000 });
  const id = new URL(sw.url()).host;
  return { context, sw, id, t0 };
}

/** The whole browser restarted, then site C open in a page the extension's bridge reached.
 * Right after a browser start Chrome can leave registered content scripts out of the first
 * page it loads; such a page finds no extension (`why: 'absent'`) until it is reloaded. The
 * reloads needed are reported with the timings, and the cold measurements include them. */
async function restartOnSiteC() {
  await context.close();
  browser = await startBrowser();
  context = browser.context;
  const p = await context.newPage();
  for (let reloads = 0; ; reloads++) {
    await p.goto(`${C}/`);
    await p.waitForFunction(() => window.attuneLoaded === true);
    const bridged = await p.evaluate(() => new Promise((resolve) => {
      const nonce = `probe-${Math.random()}`;
      const hello = () => postMessage({ type: 'attune:hello', v: 1, nonce }, location.origin);
      addEventListener('message', (e) => {
        if (e.data?.type === 'attune:present') hello(); // a bridge injected late, as connect() does
        if (e.data?.type === 'attune:welcome' && e.data.nonce === nonce) resolve(true);
      });
      hello();
      setTimeout(() => resolve(false), 3000);
    }));
    if (bridged || reloads === 5) return { page: p, reloads };
  }
}

let browser = await startBrowser();
let { context } = browser;
const extOrigin = () => `chrome-extension://${browser.id}`;

/** The popup as a tab (the same page the toolbar button opens). */
async function openPopup() {
  const page = await context.newPage();
  await page.goto(`${extOrigin()}/popup.html`);
  await page.waitForSelector('#consents li');
  return page;
}
let popup = await openPopup();
const admin = (op, ...args) => popup.evaluate(async ([o, a]) => {
  const r = await chrome.runtime.sendMessage({ kind: 'admin', op: o, args: a });
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}, [op, args]);
const overview = () => admin('overview');
const idsIn = (profile) => profile.recent.map((r) => r.id);

async function browse(url, ms = 3600) {
  const page = await context.newPage();
  await page.goto(url);
  await sleep(ms);
  await page.close({ runBeforeUnload: true }); // pagehide: the dwell is sent
  await sleep(300);
}

async function enableSite(origin) {
  await popup.fill('#site-url', origin);
  await popup.click('#add-site button[type=submit]');
  await popup.waitForFunction((host) => document.getElementById('status').textContent.includes(host), new URL(origin).hostname);
  return popup.textContent('#status');
}

/** A site-C page with the SDK loaded. */
async function siteC() {
  const page = await context.newPage();
  await page.goto(`${C}/`);
  await page.waitForFunction(() => window.attuneLoaded === true);
  return page;
}

/** Calls Attune.connect() on `page`, answers the consent window with `answer` (a button id, or
 * 'close'), and resolves to what connect gave ({ source, why, consent }). */
async function connectAnswering(page, answer) {
  const prompt = context.waitForEvent('page', { predicate: (p) => p.url().startsWith(`${extOrigin()}/consent.html`), timeout: 60000 });
  const connected = page.evaluate(async (o) => {
    window.conn = await Attune.connect(o);
    return { source: window.conn.source, why: window.conn.why, consent: window.conn.consent ?? null, origin: window.conn.origin };
  }, LOCAL_OPTIONS);
  const consent = await prompt;
  await consent.waitForSelector('#allow');
  const text = await consent.textContent('main');
  if (answer === 'close') await consent.close();
  else await consent.click(`#${answer}`);
  return { ...(await connected), promptText: text };
}

const rankOn = (page, options = {}) => page.evaluate(async (o) => {
  const items = await (await fetch('/items.json')).json();
  const t = performance.now();
  const ranked = await window.conn.rank(items, o);
  return { ranked, ms: performance.now() - t };
}, options);
const topShare = (ranked, prefix, n = 20) => ranked.slice(0, n).filter((r) => r.id.startsWith(prefix)).length / n;
const titlesOf = (site) => ARTICLES[site].map((a) => a[1]);

try {
  // --- the build ---------------------------------------------------------------------------
  ok(manifest.manifest_version === 3 && manifest.incognito === 'not_allowed' && !manifest.host_permissions
    && !JSON.stringify(manifest).includes('<all_urls>'), 'manifest: MV3, no host access at install (optional per site), not in incognito');
  ok(manifest.content_security_policy.extension_pages === "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'", 'manifest: extension pages CSP allows wasm-unsafe-eval and nothing looser');
  ok(browser.id.length === 32, `the unpacked extension loads; service worker at ${browser.sw.url()}`);
  ok(await browser.sw.evaluate(() => typeof Worker === 'undefined'), 'the service worker has no Worker (so it relays to the offscreen document)');

  // --- learning on two enabled sites -----------------------------------------------------
  ok((await enableSite(A)).includes('Learning from'), 'popup: site A enabled');
  ok((await enableSite(B)).includes('Learning from'), 'popup: site B enabled');
  const mybank = sites.origin('mybank');
  ok((await enableSite(mybank)).includes('sensitive list'), 'popup: a sensitive site (a bank) cannot be enabled, and says why');
  const registered = await browser.sw.evaluate(() => chrome.scripting.getRegisteredContentScripts());
  const collectOn = registered.find((r) => r.id === 'collect')?.matches ?? [];
  ok(collectOn.length === 2 && collectOn.includes(`${A}/*`) && collectOn.includes(`${B}/*`), `collect.js registered on the two enabled sites only: ${collectOn}`);

  for (const site of ['site-a', 'site-b']) for (const [p] of ARTICLES[site]) await browse(`${sites.origin(site)}${p}`);
  await browse(`${A}${LOGIN[0]}`);
  for (const [p] of ARTICLES['site-d']) await browse(`${D}${p}`);
  let { profile, topics } = await overview();
  const ids = idsIn(profile);
  ok(ARTICLES['site-a'].every(([p]) => ids.includes(`${A}${p}`)) && ARTICLES['site-b'].every(([p]) => ids.includes(`${B}${p}`)),
    `the 6 articles read on sites A and B are in the profile (${profile.stats.events} events: ${JSON.stringify(profile.stats.byType)})`);
  ok(profile.stats.byType.view === 6 && profile.stats.byType.dwell >= 3, 'each article read gave a view, and dwell events with the visible seconds');
  ok(!ids.some((id) => id.startsWith(D)), 'site D (not enabled) collected nothing');
  ok(!ids.includes(`${A}${LOGIN[0]}`) && !JSON.stringify(profile).includes('knitting'), 'the page with a password field collected nothing');
  ok(profile.recent.find((r) => r.id === `${B}/posts/saturn-rings`)?.text.includes('webcam'), 'site B without meta description: its first paragraph was read');
  const cached = await popup.evaluate(async () => Promise.all((await caches.keys()).map(async (k) => (await (await caches.open(k)).keys()).length)));
  ok(cached.every((n) => n === 0), `the packaged model is read from the extension, not copied into the Cache API (${cached.length} caches)`);
  ok(topics.length > 0, `topics learned: ${topics.map((t) => `${t.parent} > ${t.label} ${t.weight.toFixed(2)}`).join(', ')}`);

  await popup.reload();
  await popup.waitForSelector('#recent h3');
  const recentText = await popup.textContent('#recent');
  ok([A, B].every((o) => recentText.includes(new URL(o).host)) && [...titlesOf('site-a'), ...titlesOf('site-b')].every((t) => recentText.includes(t)),
    'popup: recent items listed per site, by title');
  ok((await popup.textContent('#topics')).includes(topics[0].label), 'popup: interests named with topics');
  ok(await popup.getByRole('button', { name: `Forget “${titlesOf('site-a')[0]}”` }).count() === 1
    && await popup.getByRole('switch', { name: 'Pause learning on every site' }).count() === 1
    && await popup.getByRole('checkbox', { name: `Learn from ${new URL(A).host}` }).isChecked(), 'popup: controls have accessible names (roles and labels)');

  // Paused: nothing collected even on an enabled site.
  await popup.getByRole('switch').check();
  await popup.waitForFunction(() => document.getElementById('status').textContent.includes('paused'));
  await browse(`${A}/articles/webb-galaxy`, 2500);
  ok((await overview()).profile.stats.events === profile.stats.events, 'paused: nothing collected on an enabled site');
  await popup.getByRole('switch').uncheck();
  await popup.waitForFunction(() => document.getElementById('status').textContent.includes('Learning again'));

  // --- the CSP message (Attune.open where wasm-unsafe-eval is missing) -----------------------
  {
    const page = await context.newPage();
    await page.goto(`${D}/csp`);
    const r = await page.waitForFunction(() => window.cspResult, null, { timeout: 30000 }).then((h) => h.jsonValue());
    ok(r.code === 'unsupported' && r.message.includes("'wasm-unsafe-eval'") && r.message.includes('content_security_policy.extension_pages'),
      `no 'wasm-unsafe-eval' in the CSP: open fails with unsupported, naming what to add (${r.message.slice(0, 90)}…)`);
    await page.close();
  }

  // --- site C: consent, deny → local, allow → the extension ------------------------------
  let page = await siteC();
  let reloads;
  // Site C's own local profile: its visitor liked cooking there.
  await page.evaluate(async (o) => {
    const a = await Attune.open(o);
    const items = await (await fetch('/items.json')).json();
    for (const i of [0, 11, 22, 33]) await a.track({ type: 'like', item: items[i] });
    a.close();
  }, LOCAL_OPTIONS);
  let conn = await connectAnswering(page, 'deny');
  ok(conn.promptText.includes(new URL(C).host) && /never gets your profile/.test(conn.promptText), 'consent window names the asking site and what it will and will not get');
  ok(conn.source === 'local' && conn.why === 'denied', `deny → connect answers with the page's local profile (source ${conn.source}, why ${conn.why})`);
  let r = await rankOn(page);
  ok(topShare(r.ranked, 'cook') >= 0.9, `deny: the local profile ranks cooking first (${topShare(r.ranked, 'cook') * 100}% of the top 20)`);
  await page.close();

  // Revoke the "deny" by keyboard in the popup, then allow.
  await popup.reload();
  const revokeC = popup.getByRole('button', { name: `Revoke ${new URL(C).host}` });
  await revokeC.focus();
  await popup.keyboard.press('Enter');
  await popup.waitForFunction(() => document.getElementById('status').textContent.includes('will ask again'));
  ok(!(await admin('state')).consents.some((c) => c.origin === C), 'popup: revoke works from the keyboard (focus, Enter)');

  page = await siteC();
  const tConsent = Date.now();
  conn = await connectAnswering(page, 'allow');
  ok(conn.source === 'extension' && conn.consent === 'allow' && conn.origin === C, `allow → connect answers from the extension for ${conn.origin}`);
  r = await rankOn(page);
  timings.firstRankAfterConsentMs = Date.now() - tConsent;
  timings.rank200NewItemsMs = Math.round(r.ms);
  const extRanked = r.ranked;
  ok(r.ranked.length === 200 && topShare(r.ranked, 'space') === 1, `allow: the cross-site interests rank space first (100% of the top 20; page order and local profile put cooking first)`);
  const reasons = r.ranked.flatMap((x) => x.reasons);
  ok(reasons.length > 0 && reasons.every((x) => ['interest', 'tag', 'popular', 'new', 'pageOrder'].includes(x.kind) && !('itemId' in x)),
    `reasons name no item of another site (kinds: ${[...new Set(reasons.map((x) => x.kind))]})`);
  const answerText = JSON.stringify(r.ranked);
  const otherText = [...titlesOf('site-a'), ...titlesOf('site-b'), A, B, 'Jezero', 'webcam'];
  ok(otherText.every((t) => !answerText.includes(t)), 'the ranking carries no title, text or URL of sites A and B');
  const before = (await overview()).profile.stats.events;

  // --- what a page can send: no profile, export or other site's text ----------------------
  const attempts = await page.evaluate(async ({ a }) => {
    const port = await new Promise((resolve) => {
      window.addEventListener('message', (e) => { if (e.data?.type === 'attune:welcome' && e.data.nonce === 'x') resolve(e.ports[0]); });
      window.postMessage({ type: 'attune:hello', v: 1, nonce: 'x' }, location.origin);
    });
    let n = 0;
    const ask = (msg) => new Promise((resolve) => {
      const id = ++n;
      const on = (e) => { if (e.data.id === id) { port.removeEventListener('message', on); resolve(e.data); } };
      port.addEventListener('message', on);
      port.start();
      port.postMessage({ id, ...msg });
    });
    const out = {};
    for (const method of ['profile', 'export', 'import', 'clear', 'track', 'forget', 'admin', 'learn', 'overview', 'info', 'embed']) {
      out[method] = await ask({ method, args: [] });
    }
    out.adminKind = await ask({ method: 'rank', args: [[{ id: 'x', text: 'x' }]], kind: 'admin', op: 'export' });
    out.forgedOrigin = await ask({ method: 'topics', args: [], origin: a, sender: { origin: a } });
    out.otherIds = await ask({ method: 'rank', args: [[{ id: `${a}/articles/webb-galaxy`, text: 'Stars' }, { id: 'y', text: 'Galaxies and telescopes' }],
      { reasonTexts: { interest: 'LEAK', 'similarTo.view': 'LEAK {title}' }, cachedOnly: true, excludeSeen: true }] });
    out.similar = await ask({ method: 'similar', args: ['telescopes', [{ id: 'p', text: 'A telescope' }, { id: 'q', text: 'A pie' }]] });
    out.tooMany = await ask({ method: 'rank', args: [Array.from({ length: 1001 }, (_, i) => ({ id: `i${i}`, text: 'x' }))] });
    out.tooBig = await ask({ method: 'rank', args: [[{ id: 'big', text: 'x'.repeat(1.5e6) }]] });
    out.badItems = await ask({ method: 'rank', args: ['not items'] });
    out.badOption = await ask({ method: 'rank', args: [[{ id: 'x', text: 'x' }], { limit: -3 }] });
    out.fn = await ask({ method: 'rank', args: [[{ id: 'x', text: 'x', extra: { nested: [1, 2] } }]] });
    // Straight to the runtime from the page: there is none.
    out.runtime = typeof globalThis.chrome?.runtime?.sendMessage;
    // A window message in the service worker's format reaches nothing.
    let answered = false;
    window.addEventListener('message', (e) => { if (e.data?.ok !== undefined) answered = true; });
    window.postMessage({ kind: 'admin', op: 'export', args: [] }, '*');
    await new Promise((r) => setTimeout(r, 300));
    out.windowAdmin = answered;
    return out;
  }, { a: A });
  const refused = ['profile', 'export', 'import', 'clear', 'track', 'forget', 'admin', 'learn', 'overview', 'info', 'embed'];
  ok(refused.every((m) => attempts[m].ok === false && attempts[m].error.code === 'invalid_argument' && !('value' in attempts[m])),
    `a page asking for ${refused.join(', ')} gets invalid_argument and nothing else`);
  ok(attempts.adminKind.ok && attempts.adminKind.origin === C && Array.isArray(attempts.adminKind.value) && attempts.adminKind.value[0].id === 'x',
    'admin fields smuggled into a page request are ignored (it ranks, nothing more)');
  ok(attempts.forgedOrigin.ok && attempts.forgedOrigin.origin === C, `a page claiming another origin is answered for its own (${attempts.forgedOrigin.origin})`);
  ok(attempts.forgedOrigin.value.length <= 5 && attempts.forgedOrigin.value.every((t) => Object.keys(t).sort().join() === 'label,parent,weight'),
    `topics: at most 5 coarse labels by default, no similarity or items (${JSON.stringify(attempts.forgedOrigin.value)})`);
  const oi = JSON.stringify(attempts.otherIds);
  ok(attempts.otherIds.ok && !oi.includes('LEAK') && !oi.includes('Webb telescope') && attempts.otherIds.value.every((x) => x.reasons.every((y) => y.kind !== 'seen')),
    'an item id equal to a page read on site A gets no "you read this", and reasonTexts cannot pull titles out');
  ok(attempts.similar.ok && attempts.similar.value[0].id === 'p' && attempts.similar.origin === C, 'similar answers for the page\'s own items');
  ok(attempts.tooMany.error?.code === 'input_too_large' && attempts.tooBig.error?.code === 'input_too_large', 'over 1 000 items or 1 MiB: input_too_large');
  ok(attempts.badItems.error?.code === 'invalid_argument' && attempts.badOption.error?.code === 'invalid_argument', 'malformed items or options: invalid_argument');
  ok(attempts.fn.ok, 'extra fields on items are dropped, not refused');
  ok(attempts.runtime === 'undefined' && attempts.windowAdmin === false, 'the page has no chrome.runtime and window messages reach no extension code');
  ok((await overview()).profile.stats.events === before, 'page requests never changed the profile');

  // --- restarts lose nothing -----------------------------------------------------------------
  await browser.sw.evaluate(() => chrome.offscreen.closeDocument());
  ok((await browser.sw.evaluate(() => chrome.runtime.getContexts({ contextTypes: ['OFFSCREEN_DOCUMENT'] }))).length === 0, 'the offscreen document is closed');
  r = await rankOn(page);
  timings.rankAfterOffscreenClosedMs = Math.round(r.ms);
  ok(JSON.stringify(r.ranked.map((x) => x.id)) === JSON.stringify(extRanked.map((x) => x.id)), `after the offscreen document closed, the same ranking (${r.ms.toFixed(0)} ms, model loaded again)`);
  // The service worker stopped (as Chrome stops an idle one), through DevTools; the page's next
  // request starts a new one. (The old handle is not touched while stopped: Playwright then
  // closes the browser.)
  {
    await browser.sw.evaluate(() => { self.beforeStop = true; });
    const cdp = await context.newCDPSession(popup);
    const versions = [];
    cdp.on('ServiceWorker.workerVersionUpdated', (e) => versions.push(...e.versions));
    await cdp.send('ServiceWorker.enable');
    await sleep(300);
    const ids = new Set(versions.filter((v) => v.scriptURL.startsWith(extOrigin()) && v.runningStatus === 'running').map((v) => v.versionId));
    for (const versionId of ids) await cdp.send('ServiceWorker.stopWorker', { versionId });
    for (let i = 0; i < 50 && !versions.some((v) => ids.has(v.versionId) && v.runningStatus === 'stopped'); i++) await sleep(100);
    ok(ids.size === 1 && versions.some((v) => ids.has(v.versionId) && v.runningStatus === 'stopped'), 'the service worker is stopped');
    await cdp.detach();
  }
  r = await rankOn(page);
  ok(JSON.stringify(r.ranked.map((x) => x.id)) === JSON.stringify(extRanked.map((x) => x.id)),
    'after the service worker stopped, the connected page\'s next rank: consent remembered, the same ranking');
  browser.sw = context.serviceWorkers().find((w) => w.url().startsWith(extOrigin()));
  ok(await browser.sw.evaluate(() => self.beforeStop === undefined), 'a new service worker answered it');
  timings.warmRankSamePageMs = Math.round((await rankOn(page)).ms);

  // Revoke while connected: the next call is denied; allow once is for one page.
  await admin('revoke', C);
  {
    const prompt = context.waitForEvent('page', { predicate: (p) => p.url().startsWith(`${extOrigin()}/consent.html`) });
    const denied = page.evaluate(() => window.conn.rank([{ id: 'x', text: 'x' }]).then(() => 'answered', (e) => e.code));
    await (await prompt).click('#deny');
    ok(await denied === 'denied', 'revoked: the connected page\'s next request asks again; deny → its calls fail with denied');
  }
  await page.close();
  await admin('revoke', C);
  page = await siteC();
  conn = await connectAnswering(page, 'once');
  ok(conn.source === 'extension' && conn.consent === 'once', 'allow once → the extension answers this page');
  ok(!(await admin('state')).consents.some((c) => c.origin === C), 'allow once is not stored');
  await page.close();
  page = await siteC();
  conn = await connectAnswering(page, 'close');
  ok(conn.source === 'local' && conn.why === 'denied', 'the next page asks again; closing the window without answering → local');
  {
    // That page is not asked again (no prompt spam): its next connect is answered at once.
    let prompted = false;
    const onPage = (p) => { if (p.url().startsWith(`${extOrigin()}/consent.html`)) prompted = true; };
    context.on('page', onPage);
    const again = await page.evaluate(async (o) => (await Attune.connect(o)).why, LOCAL_OPTIONS);
    await sleep(500);
    context.off('page', onPage);
    ok(again === 'denied' && !prompted, 'a page whose prompt was closed is not prompted again');
  }
  await page.close();
  page = await siteC();
  conn = await connectAnswering(page, 'allow');
  ok(conn.source === 'extension', 'allowed again');
  await page.close();
  const eventsBeforeRestart = (await overview()).profile.stats.events;

  // --- the whole browser restarted: cold and warm first answers -------------------------------
  ({ page, reloads } = await restartOnSiteC());
  timings.reloadsAfterRestart = [reloads];
  const cold = await page.evaluate(async (o) => {
    const t = performance.now();
    window.conn = await Attune.connect(o);
    const connected = performance.now() - t;
    const items = await (await fetch('/items.json')).json();
    const ranked = await window.conn.rank(items);
    return { source: window.conn.source, why: window.conn.why, connected, total: performance.now() - t, ranked };
  }, COLD_OPTIONS);
  timings.coldBrowserStartToFirstRankMs = Date.now() - browser.t0;
  timings.coldConnectMs = Math.round(cold.connected);
  timings.coldConnectAndRankMs = Math.round(cold.total);
  ok(cold.source === 'extension' && JSON.stringify(cold.ranked.map((x) => x.id)) === JSON.stringify(extRanked.map((x) => x.id)),
    `browser restarted: consent kept, the same ranking (browser start → first answer ${timings.coldBrowserStartToFirstRankMs} ms${cold.why ? `; local: ${cold.why}` : ''})`);
  await page.close();
  page = await siteC();
  const warm = await page.evaluate(async (o) => {
    const t = performance.now();
    window.conn = await Attune.connect(o);
    const items = await (await fetch('/items.json')).json();
    await window.conn.rank(items);
    return performance.now() - t;
  }, LOCAL_OPTIONS);
  timings.warmConnectAndRankMs = Math.round(warm);
  ok(warm < cold.total, `warm: a new page's connect + rank of 200 items in ${timings.warmConnectAndRankMs} ms`);
  popup = await openPopup();
  ok((await overview()).profile.stats.events === eventsBeforeRestart, 'browser restarted: the profile is all there');
  {
    // The script-tag build (window.Attune.connect) on site C, and a page where the extension has no access.
    const tag = await context.newPage();
    await tag.goto(`${C}/script-tag`);
    const viaTag = await tag.evaluate(async (o) => {
      const a = await window.Attune.connect(o);
      const items = await (await fetch('/items.json')).json();
      return { source: a.source, top: (await a.rank(items, { limit: 5 })).map((x) => x.id) };
    }, LOCAL_OPTIONS);
    ok(viaTag.source === 'extension' && viaTag.top.every((id) => id.startsWith('space')), 'the script-tag build: Attune.connect answers from the extension');
    await tag.goto(`http://127.0.0.1:${sites.port}/`);
    await tag.waitForFunction(() => window.attuneLoaded === true);
    const absent = await tag.evaluate(async (o) => {
      const t = performance.now();
      const a = await Attune.connect({ ...o, extension: { timeoutMs: 300 } });
      return { source: a.source, why: a.why, ms: performance.now() - t, ranked: (await a.rank([{ id: 'x', text: 'Saturn' }])).length };
    }, LOCAL_OPTIONS);
    ok(absent.source === 'local' && absent.why === 'absent' && absent.ranked === 1, `no extension on the page: the local profile answers (why absent, ${absent.ms.toFixed(0)} ms with the model download)`);
    await tag.close();
  }

  // --- a rate limit per origin ----------------------------------------------------------------
  const burst = await page.evaluate(async () => {
    const results = await Promise.allSettled(Array.from({ length: 45 }, () => window.conn.topics()));
    return results.map((x) => (x.status === 'fulfilled' ? 'ok' : x.reason.code));
  });
  ok(burst.includes('busy') && burst.filter((x) => x === 'ok').length >= 25, `45 requests at once: ${burst.filter((x) => x === 'busy').length} refused with busy`);
  await page.close();

  // --- the browser restarted again: the first answer for 200 items never ranked before ----------
  ({ page, reloads } = await restartOnSiteC());
  timings.reloadsAfterRestart.push(reloads);
  const coldNew = await page.evaluate(async (o) => {
    const conn = await Attune.connect(o);
    const items = (await (await fetch('/items.json')).json()).map((x) => ({ ...x, title: `${x.title}, new this week` }));
    const ranked = await conn.rank(items);
    return { at: Date.now(), source: conn.source, why: conn.why, top: ranked.slice(0, 20).map((x) => x.id) };
  }, COLD_OPTIONS);
  timings.coldBrowserStartToFirstRankNewItemsMs = coldNew.at - browser.t0;
  ok(coldNew.source === 'extension' && coldNew.top.every((id) => id.startsWith('space')),
    `browser start → first answer for 200 new items (each embedded): ${timings.coldBrowserStartToFirstRankNewItemsMs} ms (${coldNew.source}${coldNew.why ? ` (${coldNew.why})` : ""}: ${coldNew.top.slice(0, 20).join(" ")})`);
  await page.close();
  popup = await openPopup();

  // --- forget, export, import, clear (popup) -------------------------------------------------
  ({ profile } = await overview());
  const exported = await admin('export');
  ok(exported.includes(titlesOf('site-a')[0]), `export (popup only): the profile as JSON (${exported.length} bytes)`);
  const webb = titlesOf('site-a')[0];
  await popup.reload();
  await popup.getByRole('button', { name: `Forget “${webb}”` }).click();
  await popup.waitForFunction(() => document.getElementById('status').textContent.startsWith('Forgot'));
  ok(!idsIn((await overview()).profile).includes(`${A}/articles/webb-galaxy`), 'popup: forget an item');
  await popup.evaluate(() => { document.getElementById('status').textContent = ''; });
  await popup.getByRole('button', { name: `Forget what you read on ${new URL(B).host}` }).click();
  await popup.waitForFunction(() => document.getElementById('status').textContent.startsWith('Forgot'));
  ok(!idsIn((await overview()).profile).some((id) => id.startsWith(B)), 'popup: forget a site');
  ({ topics } = await overview());
  const before2 = (await overview()).profile.recent.length;
  await popup.reload();
  await popup.getByRole('button', { name: `Forget the topic ${topics[0].label}` }).click();
  await popup.waitForFunction(() => document.getElementById('status').textContent.startsWith('Forgot'));
  const afterTopic = (await overview()).profile;
  ok(afterTopic.recent.length < before2, `popup: forget a topic (${topics[0].label}: ${before2 - afterTopic.recent.length} items)`);
  await popup.reload();
  await popup.getByRole('button', { name: `Stop learning from ${new URL(B).host}` }).click();
  await popup.waitForFunction(() => document.getElementById('status').textContent.startsWith('Removed'));
  const collectAfter = (await browser.sw.evaluate(() => chrome.scripting.getRegisteredContentScripts())).find((c) => c.id === 'collect');
  ok(!(await admin('state')).sites.some((x) => x.origin === B) && JSON.stringify(collectAfter.matches) === JSON.stringify([`${A}/*`]),
    'popup: a site removed is no longer learned from (collect.js unregistered there)');
  await admin('import', exported);
  ok(idsIn((await overview()).profile).includes(`${A}/articles/webb-galaxy`), 'import restores the export');
  popup.once('dialog', (d) => d.accept());
  await popup.evaluate(() => { document.getElementById('status').textContent = ''; });
  await popup.getByRole('button', { name: 'Clear everything' }).click();
  await popup.waitForFunction(() => document.getElementById('status').textContent === 'Cleared.');
  ok((await overview()).profile.stats.events === 0, 'popup: clear');

  console.log(`e2e-extension: timings ${JSON.stringify(timings)}`);
  const zipBytes = (await fs.stat(path.join(BUILD, '../attune-extension.zip'))).size;
  await fs.mkdir(path.join(REPO, 'bench/out'), { recursive: true });
  await fs.writeFile(path.join(REPO, 'bench/out/extension.json'), JSON.stringify({ timingsMs: timings, zipBytes,
    permissions: manifest.permissions, optionalHostPermissions: manifest.optional_host_permissions }, null, 2) + '\n');
  console.log(`e2e-extension: ${checks.count} checks passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (e) {
  console.error(`e2e-extension: FAILED after ${checks.count} checks: ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await context?.close().catch(() => {});
  sites.close();
  await fs.rm(extDir, { recursive: true, force: true });
  await fs.rm(userDataDir, { recursive: true, force: true });
}
// A child (a dev server, a browser) left running must not keep a failed run alive until CI times out.
process.exit(process.exitCode ?? 0);
