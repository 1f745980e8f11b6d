#!/usr/bin/env node
// The demo app (www/index.html, built on pkg/ through www/sdk) in headless Chromium, as a visitor
// uses it: ready → open three articles of one topic → that topic rises in "For you" with
// reasons naming them → a memory reaches the assistant's context block → forgetting the topic
// puts the feed back → a reload keeps the profile and requests no model. Screenshots of each
// step go to bench/out/demo/; the time from navigation to the first personalized feed, cold and
// cached, is printed.
//   node scripts/e2e-demo.mjs [--chromium PATH] [--headed] [--root DIR (a `make site` folder
//   instead of www/)] [--docs DIR (also writes the README's small screenshots there)]

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checks, launch, ok } from './e2e-lib.mjs';
import { startServer } from './static-server.mjs';

const arg = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = arg('--root') ? path.resolve(arg('--root')) : null;
const WWW = ROOT ?? path.join(REPO, 'www');
const SHOTS = path.join(REPO, 'bench/out/demo');
const DOCS = arg('--docs');
const TOPIC = 'space';          // the topic whose articles the test opens
const TOP = 12;                 // "rise": counted in the first TOP cards of For you
const started = Date.now();

// The page reaches the package and the models through links in www/ (the Makefile makes them).
for (const [link, target] of ROOT ? [] : [['sdk', '../pkg'], ['models', '../models/out']]) {
  const p = path.join(WWW, link);
  try { await fs.lstat(p); } catch { await fs.symlink(target, p); }
}
await fs.access(path.join(WWW, 'sdk/index.js')).catch(() => { throw new Error(`${WWW}/sdk/index.js is missing: run make pkg (or make site)`); });
await fs.mkdir(SHOTS, { recursive: true });

const server = await startServer(WWW);
const modelRequests = [];
server.on('request', (req) => { if (req.url.includes('.gguf')) modelRequests.push(req.url); });
const base = `http://127.0.0.1:${server.address().port}/`;
const { context, close } = await launch();
const page = context.pages()[0] ?? await context.newPage();
await page.setViewportSize({ width: 1280, height: 1000 });
page.on('pageerror', (e) => console.error('  page error:', e.message));
const shot = (name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });

const forYou = () => page.$$eval('#feed > li', (lis) => lis.map((li) => ({ id: li.dataset.id, topic: li.dataset.topic,
  reasons: [...li.querySelectorAll('.reasons li')].map((r) => ({ kind: r.dataset.kind, item: r.dataset.item, text: r.textContent })) })));
const updates = () => page.evaluate(() => window.demo.updates);
/** Runs `action`, then waits for the app's next re-rank (window.demo.updates). */
async function andUpdate(action) {
  const before = await updates();
  await action();
  await page.waitForFunction((n) => window.demo.updates > n && !window.demo.errors.length, before, { timeout: 60_000 });
}
const errors = () => page.evaluate(() => window.demo.errors);

try {
  // 1. Cold: models downloaded, the catalog embedded, the first feed ranked.
  await page.goto(`${base}?reply-tokens=12`);
  await page.waitForFunction(() => window.demo?.ready || window.demo?.errors.length, null, { timeout: 300_000 });
  ok((await errors()).length === 0, `ready without errors ${JSON.stringify(await errors())}`);
  const cold = await page.evaluate(() => window.demo.timings);
  const initial = await forYou();
  ok(initial.length === 24, `For you shows 24 of the 308 articles (${initial.length})`);
  ok(await page.getAttribute('#view-foryou', 'aria-pressed') === 'true', 'For you is the view shown');
  ok(modelRequests.filter((u) => u.includes('minilm')).length === 1, `first visit: one embedder request (${modelRequests.length})`);
  ok(/device: .*(CPU|WebGPU)/.test(await page.textContent('#status-line')), 'the status line names the device');
  await shot('01-ready');
  const baseline = initial.slice(0, TOP).filter((c) => c.topic === TOPIC).length;

  // 2. Open three articles of TOPIC (each a tracked click; the feed re-ranks after each).
  const clicked = [];
  let openedAt = 0;
  for (let k = 0; k < 3; k++) {
    const card = (await forYou()).find((c) => c.topic === TOPIC && !clicked.includes(c.id));
    ok(card, `an article of ${TOPIC} to open (${k + 1})`);
    clicked.push(card.id);
    const t0 = Date.now();
    await andUpdate(() => page.click(`#feed > li[data-id="${card.id}"] .card-title`));
    openedAt = Date.now();
    const ms = await page.evaluate(() => window.demo.lastUpdate.ms);
    console.log(`  opened ${card.id}: track + rank + redraw ${ms.toFixed(0)} ms in the page (${Date.now() - t0} ms round trip)`);
    await page.waitForTimeout(500); // the FLIP animation
    await shot(`02-opened-${k + 1}`);
  }
  ok(await page.getAttribute(`#feed > li[data-id="${clicked[2]}"] .card-title`, 'aria-expanded') === 'true', 'the last one is open');
  const after = await forYou();
  const risen = after.slice(0, TOP).filter((c) => c.topic === TOPIC).length;
  ok(risen >= baseline + 3 && risen >= TOP / 2, `${TOPIC} rose in the first ${TOP} of For you: ${baseline} → ${risen}`);
  const titles = await page.evaluate((ids) => ids.map((id) => document.querySelector(`#feed > li[data-id="${id}"] .card-title`)?.textContent), clicked);
  const naming = after.filter((c) => !clicked.includes(c.id) && c.reasons.some((r) => r.kind === 'similarTo' && clicked.includes(r.item)
    && r.text.includes(titles[clicked.indexOf(r.item)])));
  ok(naming.length >= 3 && naming.filter((c) => c.topic === TOPIC).length >= 3,
    `reasons name the opened articles (${naming.length} cards, e.g. “${naming[0]?.reasons.find((r) => r.kind === 'similarTo').text}”)`);
  ok(await page.$eval('#read-topics', (el) => el.textContent.includes('Space')), 'the profile lists the topic read');
  ok(await page.$eval('#interests', (el) => el.tagName === 'UL'), `the profile names interests: ${await page.textContent('#interests')}`);
  const live = await page.textContent('#feed-live');
  ok(/moved up/.test(live), `the change is announced to screen readers (“${live}”)`);
  // "Why this?" of a card that cites an opened article names it.
  const cited = naming.find((c) => c.topic === TOPIC);
  await page.click(`#feed > li[data-id="${cited.id}"] .why summary`);
  const why = await page.textContent(`#feed > li[data-id="${cited.id}"] .why dl`);
  ok(/similarTo/.test(why) && titles.some((t) => why.includes(t)), `“why this?” cites the opened article: ${why.slice(0, 160)}…`);
  // Close the open card after 2 s: its time open is tracked as a dwell event.
  await page.waitForTimeout(Math.max(0, 2100 - (Date.now() - openedAt)));
  await andUpdate(() => page.click(`#feed > li[data-id="${clicked[2]}"] .card-title`));
  const byType = await page.evaluate(async () => (await window.demo.attune.profile()).stats.byType);
  ok(byType.click === 3 && byType.dwell >= 1, `opens and reading time are tracked (${JSON.stringify(byType)})`);
  if (DOCS) await docsShot('feed', 1100, 900, 'light', null);

  // 3. A memory, then the assistant: the context block it was given holds the memory.
  await page.fill('#memory-input', 'I am vegetarian');
  await page.press('#memory-input', 'Enter');
  await page.waitForFunction(() => document.querySelector('#memories').textContent.includes('I am vegetarian'));
  ok(true, 'the memory is listed in the profile');
  await page.fill('#ask-input', 'What could I cook tonight?');
  await page.click('#ask-button');
  await page.waitForFunction(() => /tokens|Error|Stopped/.test(document.querySelector('#reply-stats').textContent)
    && document.querySelector('#reply').getAttribute('aria-busy') === 'false', null, { timeout: 300_000 });
  const stats = await page.textContent('#reply-stats');
  const reply = await page.textContent('#reply');
  const block = await page.textContent('#context-block');
  console.log(`  reply (${stats}): ${JSON.stringify(reply)}`);
  ok(/\d+ tokens/.test(stats) && reply.trim().length > 0, 'the assistant streamed a reply');
  ok(/vegetarian/i.test(block) && block.includes('[[attune-context]]'), `the context block holds the memory: ${JSON.stringify(block)}`);
  ok(/chat model: <?b?>?[\d.]+ MB/.test(await page.innerHTML('#status-line')), 'the status line gives the chat model size and load time');
  ok(/tokens\/s/.test(await page.textContent('#status-line')), 'and the reply speed');
  await page.click('#context-details summary');
  await shot('03-assistant');
  if (DOCS) await docsShot('assistant-narrow-dark', 390, 844, 'dark', '#assistant-panel');

  // 4. Forget the topic: the feed goes back to where it was.
  await andUpdate(() => page.click(`#read-topics li[data-topic="${TOPIC}"] button`));
  await page.waitForTimeout(500);
  const forgotten = await forYou();
  const back = forgotten.slice(0, TOP).filter((c) => c.topic === TOPIC).length;
  ok(back === baseline, `after forgetting ${TOPIC}: ${back} of its articles in the first ${TOP}, as before (${baseline})`);
  ok(forgotten.slice(0, TOP).map((c) => c.id).join() === initial.slice(0, TOP).map((c) => c.id).join(),
    'For you is back in its first order');
  ok(await page.$(`#read-topics li[data-topic="${TOPIC}"]`) === null, 'the topic is gone from the profile');
  await shot('04-forgotten');

  // 5. Something to keep: a like on another topic. Then reload: the profile is intact and no
  //    model is requested (both from the browser's cache).
  const other = forgotten.find((c) => c.topic === 'jazz') ?? forgotten.find((c) => c.topic !== TOPIC);
  await andUpdate(() => page.click(`#feed > li[data-id="${other.id}"] .card-actions button[aria-pressed]`));
  ok(await page.getAttribute(`#feed > li[data-id="${other.id}"] .card-actions button[aria-pressed]`, 'aria-pressed') === 'true', 'a like shows');
  // Hide: the card leaves For you and Latest; "Show again" in the profile brings it back.
  const hideMe = (await forYou())[5];
  await andUpdate(() => page.click(`#feed > li[data-id="${hideMe.id}"] button[aria-label^="Hide"]`));
  ok(!(await forYou()).some((c) => c.id === hideMe.id), 'a hidden article leaves For you');
  await page.click('#view-latest');
  await page.waitForFunction(() => document.querySelector('#feed').dataset.view === 'latest');
  ok(!(await forYou()).some((c) => c.id === hideMe.id), 'and Latest');
  await page.click('#view-foryou');
  await page.waitForFunction(() => document.querySelector('#feed').dataset.view === 'foryou');
  await andUpdate(() => page.click(`#recent li[data-id="${hideMe.id}"] button`));
  ok((await forYou()).some((c) => c.id === hideMe.id), '“Show again” brings it back');
  const beforeReload = { feed: (await forYou()).map((c) => c.id), memories: await page.textContent('#memories'),
    recent: await page.textContent('#recent') };
  modelRequests.length = 0;
  await page.reload();
  await page.waitForFunction(() => window.demo?.ready || window.demo?.errors.length, null, { timeout: 120_000 });
  ok((await errors()).length === 0, 'reloaded without errors');
  const cached = await page.evaluate(() => window.demo.timings);
  ok(modelRequests.length === 0, `reload: no model request (${JSON.stringify(modelRequests)})`);
  ok((await page.textContent('#memories')).includes('I am vegetarian'), 'reload: the memory is there');
  const likedTitle = await page.textContent(`#feed > li[data-id="${other.id}"] .card-title`);
  ok((await page.textContent('#recent')).includes(`liked “${likedTitle}”`), 'reload: the like is in the recent list');
  ok((await forYou()).map((c) => c.id).join() === beforeReload.feed.join(), 'reload: For you in the same order');
  ok(await page.getAttribute(`#feed > li[data-id="${other.id}"] .card-actions button[aria-pressed]`, 'aria-pressed') === 'true',
    'reload: the like is shown');
  await shot('05-reloaded');

  // Export, clear, import: the profile comes back whole.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-button')]);
  const exported = path.join(SHOTS, 'profile-export.json');
  await download.saveAs(exported);
  ok(JSON.parse(await fs.readFile(exported, 'utf8')) && true, 'export gives a JSON document');
  const feedBeforeClear = (await forYou()).map((c) => c.id).join();
  await page.click('#clear-button');
  await andUpdate(() => page.click('#clear-button'));
  ok((await page.textContent('#memories')).includes('None'), 'clear: no memories left');
  ok((await forYou()).every((c) => c.reasons.every((r) => r.kind === 'pageOrder' || r.kind === 'new')), 'clear: the feed is not personalized');
  await andUpdate(() => page.setInputFiles('#import-input', exported));
  ok((await page.textContent('#memories')).includes('I am vegetarian'), 'import: the memory is back');
  ok((await forYou()).map((c) => c.id).join() === feedBeforeClear, 'import: For you as before the clear');
  const storage = await page.evaluate(async () => (await window.demo.attune.info()).storage);
  console.log(`  after clear + import: ${storage.cacheEntries} cached embeddings`);
  await shot('06-imported');

  // Offline: the service worker has the page's files, the SDK's cache the models.
  await context.setOffline(true);
  try {
    await page.reload();
    await page.waitForFunction(() => window.demo?.ready || window.demo?.errors.length, null, { timeout: 120_000 });
    ok((await errors()).length === 0 && (await forYou()).length === 24, 'offline: the demo opens with its feed');
  } finally {
    await context.setOffline(false);
  }

  const when = (t) => `${t.firstFeedMs.toFixed(0)} ms (first cards at ${t.firstCardsMs.toFixed(0)} ms, app module running at ${t.moduleAt.toFixed(0)} ms, ` +
    `SDK open ${t.openMs.toFixed(0)} ms, done at ${t.openedAt.toFixed(0)} ms)`;
  console.log(`  time from navigation to the first personalized feed: cold ${when(cold)}; cached ${when(cached)}`);
  console.log(`e2e-demo: ${checks.count} checks passed in ${((Date.now() - started) / 1000).toFixed(0)} s; screenshots in ${path.relative(REPO, SHOTS)}/`);
} finally {
  await close();
  server.close();
}

/** A README screenshot: a viewport of `width` × `height` in `scheme`, scrolled to `selector`
 * (else the top). (The committed ones were then reduced to 128 colours with Pillow's quantize.) */
async function docsShot(name, width, height, scheme, selector) {
  await fs.mkdir(DOCS, { recursive: true });
  await page.setViewportSize({ width, height });
  await page.emulateMedia({ colorScheme: scheme, reducedMotion: 'reduce' });
  if (selector) await page.$eval(selector, (el) => el.scrollIntoView());
  else await page.evaluate(() => scrollTo(0, 0));
  await page.mouse.move(0, height - 1);
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(DOCS, `demo-${name}.png`) });
  await page.setViewportSize({ width: 1280, height: 1000 });
  await page.emulateMedia({ colorScheme: 'light', reducedMotion: 'no-preference' });
}
