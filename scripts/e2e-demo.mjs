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
import { execFileSync } from 'node:child_process';
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
  for (let k = 0; k < 3; k++) {
    const card = (await forYou()).find((c) => c.topic === TOPIC && !clicked.includes(c.id));
    ok(card, `an article of ${TOPIC} to open (${k + 1})`);
    clicked.push(card.id);
    const t0 = Date.now();
    await andUpdate(() => page.click(`#feed > li[data-id="${card.id}"] .card-title`));
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
  // Close the open card (a dwell event when it was open 2 s or more).
  await andUpdate(() => page.click(`#feed > li[data-id="${clicked[2]}"] .card-title`));

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

  if (DOCS) await docsShots();

  console.log(`  time from navigation to the first personalized feed: cold ${cold.firstFeedMs.toFixed(0)} ms ` +
    `(open ${cold.openMs.toFixed(0)} ms), cached ${cached.firstFeedMs.toFixed(0)} ms (open ${cached.openMs.toFixed(0)} ms)`);
  console.log(`e2e-demo: ${checks.count} checks passed in ${((Date.now() - started) / 1000).toFixed(0)} s; screenshots in ${path.relative(REPO, SHOTS)}/`);
} finally {
  await close();
  server.close();
}

/** The README's screenshots: narrow, few colours (ImageMagick), well under 150 KB each. */
async function docsShots() {
  await fs.mkdir(DOCS, { recursive: true });
  const save = async (name, clip) => {
    const raw = path.join(SHOTS, `docs-${name}.png`);
    await page.screenshot({ path: raw, clip });
    execFileSync('convert', [raw, '-colors', '96', '-strip', path.join(DOCS, `demo-${name}.png`)]);
  };
  await page.setViewportSize({ width: 960, height: 900 });
  await page.waitForTimeout(300);
  await save('feed', { x: 0, y: 0, width: 960, height: 900 });
  await page.setViewportSize({ width: 400, height: 860 });
  await page.waitForTimeout(300);
  await page.$eval('#profile-panel', (el) => el.scrollIntoView());
  await save('profile-narrow', { x: 0, y: 0, width: 400, height: 860 });
}
