#!/usr/bin/env node
// The SDK on strict pages: pkg/attune.js (the script-tag build) on a page of external scripts
// only, served from 127.0.0.1 (E2E_STRICT_PORT, default 8095, one port per case) with the
// headers of a strict site, in headless Chromium:
//   csp            default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:
//   trusted-types  the same + require-trusted-types-for 'script'; trusted-types attune
//   tt-refused     Trusted Types enforced, the attune policy not allowed → open fails `unsupported`
//                  naming the policy; { worker: false } still works there
//   worker-src     worker-src 'none' → open fails `unsupported` naming worker-src
//   isolated       COOP same-origin + COEP require-corp (crossOriginIsolated): the threaded core
//   isolated-tt    the same with the Trusted Types CSP
// Each page opens Attune in its worker, tracks a few events (and two the profile rules refuse),
// ranks 50 items, and the test checks the ranking, that every request went to the test server,
// and that no CSP violation was reported (in the refusal cases, only those that say why).
//   node scripts/e2e-strict.mjs [--chromium PATH] [--headed] [--only csp,isolated]

import { createServer } from 'node:http';
import { promises as fs, createReadStream } from 'node:fs';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TYPES, checks, launch, ok } from './e2e-lib.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PKG = path.join(REPO, 'pkg');
const MODELS = path.join(REPO, 'models/out');
const EMBEDDER = 'minilm-l6-v2.q8_0.gguf';
const PORT = Number(process.env.E2E_STRICT_PORT || 8095);
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1].split(',') : null;

const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:";
const CASES = [
  { name: 'csp', headers: { 'content-security-policy': CSP } },
  { name: 'trusted-types', headers: { 'content-security-policy': `${CSP}; require-trusted-types-for 'script'; trusted-types attune` } },
  { name: 'tt-refused', refused: { says: ['"attune"', 'trusted-types'], directives: ['trusted-types', 'require-trusted-types-for'] },
    headers: { 'content-security-policy': `${CSP}; require-trusted-types-for 'script'; trusted-types other-policy` } },
  { name: 'worker-src', refused: { says: ['worker-src'], directives: ['worker-src'] },
    headers: { 'content-security-policy': "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'none'" } },
  { name: 'isolated', isolated: true,
    headers: { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } },
  // The threaded core's thread workers go through the same Trusted Types policy and worker-src.
  { name: 'isolated-tt', isolated: true,
    headers: { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp',
      'content-security-policy': `${CSP}; require-trusted-types-for 'script'; trusted-types attune` } },
].filter((c) => !only || only.includes(c.name));

// The page: external scripts only (page.js first, so it hears every violation).
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Attune on a strict page</title>
<script src="page.js"></script>
<script src="attune/attune.js"></script>
</head><body><output id="status">opening…</output><pre id="result"></pre></body></html>
`;

// Runs in the page: open in worker mode (then, if refused, in the page), track, rank 50 items;
// the outcome goes into #result as JSON text (textContent, no Trusted Types sink).
function pageScript() {
  const violations = [];
  document.addEventListener('securitypolicyviolation', (e) => violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI }));
  const TOPICS = {
    cycling: ['Carbon road bike with electronic shifting', 'Gravel bike tyres for mixed terrain', 'Training plan for a first 100 km ride',
      'How to adjust a bicycle derailleur', 'Cycling shoes and clipless pedals explained', 'Touring the Alps by bike',
      'Choosing a bike helmet that fits', 'Indoor cycling trainers compared', 'Fixing a flat tyre on the road', 'Mountain bike suspension setup'],
    cooking: ['Fresh tomato pasta in twenty minutes', 'Baking sourdough bread at home', 'A simple vegetable curry', 'Knife skills for beginners',
      'Roasting a whole chicken', 'Homemade pizza dough', 'Five soups for winter', 'Making fresh ravioli', 'A guide to spices', 'Chocolate cake without eggs'],
    finance: ['Index funds for retirement savings', 'How interest rates move bond prices', 'Paying off a mortgage early', 'Reading a company balance sheet',
      'Tax-advantaged savings accounts', 'What a stock market correction means', 'Budgeting on a variable income', 'Dividend stocks explained',
      'Choosing a credit card', 'Inflation and your savings'],
    gardening: ['Growing tomatoes on a balcony', 'Pruning roses in spring', 'Composting kitchen scraps', 'Shade plants for a north-facing garden',
      'Starting seeds indoors', 'Keeping slugs off lettuce', 'Planting a wildflower meadow', 'Watering a garden in a heatwave',
      'Raised vegetable beds', 'Caring for houseplants in winter'],
    astronomy: ['Seeing the rings of Saturn through a small telescope', 'The next total solar eclipse', 'How stars are born in nebulae',
      'Finding the Andromeda galaxy', 'A beginner guide to meteor showers', 'What black holes are', 'Photographing the Milky Way',
      'The moons of Jupiter', 'Choosing binoculars for stargazing', 'How far away the nearest star is'],
  };
  const items = Object.entries(TOPICS).flatMap(([topic, texts]) => texts.map((text, i) => ({ id: `${topic}-${i}`, text, tags: [topic] })));
  async function flow(Attune, worker) {
    const a = await Attune.open({ namespace: 'strict', worker, embedder: { url: 'models/minilm-l6-v2.q8_0.gguf' } });
    try {
      await a.clear();
      const now = Date.now();
      await a.track({ type: 'like', item: items[0], at: now - 60_000 });
      await a.track({ type: 'click', item: items[1] });
      await a.track({ type: 'dwell', item: items[2], seconds: 50 });
      await a.track({ type: 'dislike', item: items[20] });
      const code = (p) => p.then(() => 'ok', (e) => `${e.code}: ${e.message}`);
      const refused = {
        micro: await code(a.track({ type: 'like', item: items[3], at: now * 1000 })),
        negative: await code(a.track({ type: 'like', item: items[4], weight: -1 })),
      };
      const ranked = await a.rank(items, { diversity: 0, explore: 0 });
      const rankedDefault = (await a.rank(items)).map((r) => r.id);
      const info = await a.info();
      // Embeddings with the threads this page gets against one thread: the same bits.
      let sameAsOneThread = null;
      if (worker && info.threads.used > 1) {
        const one = await Attune.open({ namespace: 'strict-1', worker, threads: 1, storage: 'memory', assistant: false, embedder: { url: 'models/minilm-l6-v2.q8_0.gguf' } });
        try {
          // 500 texts of 1 to 40 words (batches of many lengths), embedded twice in each.
          const words = items.flatMap((x) => x.text.split(' '));
          const texts = Array.from({ length: 500 }, (_, i) => Array.from({ length: 1 + (i * 7) % 40 }, (_, j) => words[(i * 13 + j * 5) % words.length]).join(' '));
          const [many, single, again] = [await a.embed(texts), await one.embed(texts), await a.embed(texts)];
          const same = (p, q) => p.length === 500 && p.every((v, i) => v.length === 384 && v.every((x, j) => Object.is(x, q[i][j])));
          sameAsOneThread = same(many, single) && same(again, single);
        } finally {
          one.close();
        }
      }
      return { events: (await a.profile()).stats.events, refused, ranked, rankedDefault, backend: info.backend, threads: info.threads, sameAsOneThread };
    } finally {
      a.close();
    }
  }
  async function run() {
    const r = { isolated: self.crossOriginIsolated, violations };
    try {
      r.worker = await flow(window.Attune, true);
    } catch (e) {
      r.openError = { code: e.code, message: e.message };
      r.inPage = await flow(window.Attune, false).catch((e2) => ({ error: `${e2.code}: ${e2.message}` }));
    }
    return r;
  }
  addEventListener('DOMContentLoaded', () => {
    const done = (r) => {
      document.getElementById('result').textContent = JSON.stringify(r);
      document.getElementById('status').textContent = 'done';
    };
    run().then(done, (e) => done({ error: `${e && e.name}: ${e && e.message}`, violations }));
  });
}
const PAGE_JS = `(${pageScript})();\n`;

/** A server for one case: the page, pkg/ as attune/, the models; every response with `headers`. */
async function serve(port, headers) {
  const server = createServer(async (req, res) => {
    const p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const send = (status, type, body) => res.writeHead(status, { ...headers, 'content-type': type, 'cache-control': 'no-store' }).end(body);
    if (p === '/') return send(200, 'text/html; charset=utf-8', PAGE);
    if (p === '/page.js') return send(200, 'text/javascript', PAGE_JS);
    const [prefix, dir] = p.startsWith('/attune/') ? ['/attune/', PKG] : p.startsWith('/models/') ? ['/models/', MODELS] : [];
    const file = dir && path.join(dir, p.slice(prefix.length));
    if (!file || !file.startsWith(dir + path.sep)) return send(404, 'text/plain', 'not found\n');
    try {
      const st = await fs.stat(file);
      res.writeHead(200, { ...headers, 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'content-length': st.size, 'cache-control': 'no-store' });
      createReadStream(file).pipe(res);
    } catch {
      send(404, 'text/plain', 'not found\n');
    }
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${port}` };
}


/** The flow's results are sane: all 50 ranked once, best first, the liked topic on top. */
function checkFlow(f, where) {
  ok(f && !f.error, `${where}: open, track, rank without error ${f && f.error ? f.error : ''}`);
  ok(f.events === 4, `${where}: 4 events recorded (${f.events})`);
  ok(f.refused.micro.startsWith('invalid_argument') && f.refused.micro.includes('microseconds'), `${where}: at in microseconds → ${f.refused.micro}`);
  ok(f.refused.negative.startsWith('invalid_argument') && f.refused.negative.includes('weight -1'), `${where}: weight -1 → ${f.refused.negative}`);
  const ids = f.ranked.map((r) => r.id);
  ok(ids.length === 50 && new Set(ids).size === 50 && [...f.rankedDefault].sort().join() === [...ids].sort().join(), `${where}: 50 items ranked, each once`);
  ok(f.ranked.every((r, i) => Number.isFinite(r.score) && (i === 0 || f.ranked[i - 1].score >= r.score)
    && r.reasons.length <= 2 && r.reasons.every((x) => typeof x.text === 'string' && x.itemId !== r.id)), `${where}: finite scores best first, at most two reasons, none citing the item itself`);
  const top = ids.slice(0, 10);
  const cycling = top.filter((id) => id.startsWith('cycling-')).length;
  ok(cycling >= 7 && !top.some((id) => id.startsWith('finance-')), `${where}: top 10 has ${cycling} cycling items, no finance (disliked): ${top.join(' ')}`);
}

async function runCase(context, c, port) {
  const srv = await serve(port, c.headers);
  console.log(`e2e-strict: ${c.name} at ${srv.origin} (${Object.entries(c.headers).map(([k, v]) => `${k}: ${v}`).join(' | ')})`);
  const requests = [];
  const cspConsole = [];
  const onRequest = (r) => requests.push(r.url());
  context.on('request', onRequest);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`  page error: ${e.message}`));
  page.on('console', (m) => {
    const text = m.text();
    if (/Content Security Policy|Trusted Type|TrustedScriptURL|Refused to/i.test(text)) cspConsole.push(text);
    if (m.type() === 'error') console.error(`  console: ${text}`);
  });
  try {
    await page.goto(srv.origin + '/');
    await page.waitForSelector('#status:text-is("done")', { timeout: 180_000 });
    const r = JSON.parse(await page.textContent('#result'));
    ok(!r.error, `${c.name}: the page script ran (${r.error || 'ok'})`);
    const directives = r.violations.map((v) => v.directive);
    if (directives.length || cspConsole.length) console.log(`  CSP reports: ${JSON.stringify(r.violations)} console: ${JSON.stringify(cspConsole)}`);
    if (c.refused) {
      const e = r.openError || {};
      ok(e.code === 'unsupported' && c.refused.says.every((s) => e.message.includes(s)), `${c.name}: worker mode refused → ${e.code}: ${e.message}`);
      ok(directives.length > 0 && directives.every((d) => c.refused.directives.includes(d)), `${c.name}: only the expected violations (${directives.join(', ')})`);
      checkFlow(r.inPage, `${c.name}, { worker: false }`);
    } else {
      ok(!r.openError, `${c.name}: opens in worker mode ${r.openError ? `(${r.openError.code}: ${r.openError.message})` : ''}`);
      checkFlow(r.worker, c.name);
      ok(directives.length === 0 && cspConsole.length === 0, `${c.name}: no CSP violation`);
      if (c.isolated) ok(r.isolated === true, `${c.name}: crossOriginIsolated`);
      // Isolated: the threaded core on every core (up to 4), its thread workers started through
      // the page's policies, and the same embeddings as one thread, bit for bit.
      const threads = r.worker.threads;
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      if (c.isolated && cores > 1) {
        ok(threads.used === Math.min(4, cores) && r.worker.sameAsOneThread === true,
          `${c.name}: ${threads.used} threads (${threads.why}); 500 embeddings (twice) bit-identical to one thread's: ${r.worker.sameAsOneThread}`);
      } else {
        ok(threads.used === 1, `${c.name}: one thread (${threads.why})`);
      }
      const wasm = c.isolated && cores > 1 ? 'attune_wasm_mt_bg.wasm' : 'attune_wasm_bg.wasm';
      // The worker's own fetches are seen too (Playwright reports a dedicated worker's requests).
      ok(requests.some((u) => u.endsWith(`/${wasm}`)) && requests.some((u) => u.endsWith(`/models/${EMBEDDER}`)), `${c.name}: the worker's wasm (${wasm}) and model requests are observed`);
    }
    const elsewhere = requests.filter((u) => !u.startsWith(srv.origin + '/') && !/^(blob|data):/.test(u));
    ok(elsewhere.length === 0, `${c.name}: all ${requests.length} requests went to ${srv.origin} ${elsewhere.length ? JSON.stringify(elsewhere) : ''}`);
  } finally {
    context.off('request', onRequest);
    await page.close();
    srv.server.close();
  }
}

const started = Date.now();
let browser;
try {
  await fs.access(path.join(PKG, 'attune.js')).catch(() => { throw new Error('pkg/ is missing; run make pkg'); });
  // No name resolves but the loopback, so nothing can leave the machine even if asked to.
  browser = await launch(['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1']);
  for (const [i, c] of CASES.entries()) await runCase(browser.context, c, PORT + i);
  console.log(`e2e-strict: ${checks.count} checks passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (e) {
  console.error(`e2e-strict: FAILED after ${checks.count} checks: ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await browser?.close();
}
// A child (a dev server, a browser) left running must not keep a failed run alive until CI times out.
process.exit(process.exitCode ?? 0);
