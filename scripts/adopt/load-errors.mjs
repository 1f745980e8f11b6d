// The load failures a new user meets, each served by a small server that breaks one thing, and
// the message Attune.open gives: it must name the cause (found by probing the URL) and the fix.
//   cors        attune.js as a script tag from another origin that sends no CORS header, in
//               worker and in-page modes (and, as the control, the same origin with CORS: opens
//               with the default models beside the package)
//   wasm-html   attune_wasm_bg.wasm answered by an HTML page (a single-page app's fallback), in
//               worker and in-page modes (control: the wasm as application/octet-stream works)
//   worker-404  worker.js missing (HTTP 404); worker-mime: worker.js as text/plain; model-404:
//               an embedder URL that is not there
//   vite-dev    the Vite dev server's pre-bundled copy of attune (no optimizeDeps.exclude), and
//               with the exclude the README gives, the same app opens

import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ok } from '../e2e-lib.mjs';
import { freePort, makeFeed, serve } from './lib.mjs';
import { parseBlocks } from './readme.mjs';

const IMPORT_MAP = '<script type="importmap">{"imports":{"attune":"/node_modules/attune/index.js","attune-models":"/node_modules/attune-models/index.js"}}</script>';
const HTML_SHELL = '<!doctype html><html><head><title>My app</title></head><body><div id="root"></div></body></html>\n';

/** Opens Attune in the page (`how`: 'module' imports the npm entry through the import map,
 * 'script' uses window.Attune) and ranks the feed; resolves to { ok, ranked } or { code, message }. */
async function tryOpen(page, how, options) {
  return page.evaluate(async ({ how, options, feed }) => {
    const Attune = how === 'module' ? (await import('attune')).Attune : window.Attune;
    const items = (0, eval)(`(${feed})`)();
    try {
      const a = await Attune.open(options);
      try {
        const ranked = await a.rank(items, { limit: 5 });
        return { ok: true, ranked: ranked.length };
      } finally {
        a.close();
      }
    } catch (e) {
      return { code: e.code, message: e.message, name: e.name };
    }
  }, { how, options, feed: makeFeed.toString() });
}

async function withPage(context, url, f) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`  page error: ${e.message}`));
  try {
    await page.goto(url);
    return await f(page);
  } finally {
    await page.close();
  }
}

const says = (r, words) => r.code === 'model_load' && words.every((w) => r.message.includes(w));

async function cors(context, modules) {
  const page = (cdn) => `<!doctype html><meta charset="utf-8"><title>cross-origin script</title><script src="${cdn}/attune/attune.js"></script>`;
  const noCors = await serve({ '/': modules });
  const withCors = await serve({ '/': modules }, { headers: { 'access-control-allow-origin': '*' } });
  const site = await serve({}, { special: (p) => (p === '/' ? { type: 'text/html', body: page(noCors.origin) } : p === '/cors' ? { type: 'text/html', body: page(withCors.origin) } : null) });
  try {
    const r = await withPage(context, site.origin + '/', (p) => tryOpen(p, 'script', { namespace: 'cors' }));
    ok(says(r, ['Access-Control-Allow-Origin', noCors.origin, 'worker.js']), `cors: a script tag from another origin without CORS → ${r.code}: ${r.message}`);
    const inPage = await withPage(context, site.origin + '/', (p) => tryOpen(p, 'script', { namespace: 'cors', worker: false }));
    ok(says(inPage, ['Access-Control-Allow-Origin', noCors.origin, 'core.js']), `cors, { worker: false }: → ${inPage.code}: ${inPage.message}`);
    const good = await withPage(context, site.origin + '/cors', (p) => tryOpen(p, 'script', { namespace: 'cors' }));
    ok(good.ok && good.ranked === 5, `cors: the same origin with CORS opens with the default models beside the package and ranks ${JSON.stringify(good)}`);
  } finally {
    await Promise.all([noCors.close(), withCors.close(), site.close()]);
  }
}

async function moduleCases(context, modules) {
  const pageHtml = `<!doctype html><meta charset="utf-8"><title>npm entry</title>${IMPORT_MAP}`;
  const wasm = '/node_modules/attune/attune_wasm_bg.wasm';
  let mode = 'html';
  const workerJs = await fs.readFile(path.join(modules, 'attune/worker.js'), 'utf8');
  const srv = await serve({ '/node_modules/': modules }, {
    special: (p) => {
      if (p === '/') return { type: 'text/html', body: pageHtml };
      if (p === wasm && mode === 'html') return { type: 'text/html', body: HTML_SHELL };
      if (p === wasm && mode === 'octet') return null; // served below with its own type
      if (p === '/node_modules/attune/worker.js' && mode === 'worker-404') return { status: 404, type: 'text/plain', body: 'not found\n' };
      if (p === '/node_modules/attune/worker.js' && mode === 'worker-mime') return { type: 'text/plain', body: workerJs };
      return null;
    },
  });
  // The octet-stream control: the right bytes under a generic type.
  const octet = await serve({ '/node_modules/': modules }, {
    special: (p) => (p === '/' ? { type: 'text/html', body: pageHtml } : null),
  });
  try {
    for (const worker of [true, false]) {
      const r = await withPage(context, srv.origin + '/', (p) => tryOpen(p, 'module', { namespace: 'mime', worker }));
      ok(says(r, ['attune_wasm_bg.wasm', 'Content-Type text/html', 'HTML page', 'application/wasm']),
        `wasm-html (${worker ? 'worker' : 'in page'}): the wasm answered by an HTML page → ${r.code}: ${r.message}`);
    }
    mode = 'ok';
    const missing = await withPage(context, srv.origin + '/', (p) => tryOpen(p, 'module', { namespace: 'm404', embedder: { url: '/models/missing.gguf' } }));
    ok(says(missing, ['Attune.open(options.embedder)', '/models/missing.gguf', 'HTTP 404']), `model-404: an embedder URL that is not there → ${missing.code}: ${missing.message}`);
    mode = 'worker-404';
    const r = await withPage(context, srv.origin + '/', (p) => tryOpen(p, 'module', { namespace: 'w404' }));
    ok(says(r, ['worker.js', 'HTTP 404']), `worker-404: worker.js missing → ${r.code}: ${r.message}`);
    mode = 'worker-mime';
    const mime = await withPage(context, srv.origin + '/', (p) => tryOpen(p, 'module', { namespace: 'wmime' }));
    ok(says(mime, ['worker.js', 'Content-Type text/plain', 'text/javascript']), `worker-mime: worker.js as text/plain → ${mime.code}: ${mime.message}`);
    // The right bytes as application/octet-stream: the glue falls back to instantiate() and works.
    const wasmPath = path.join(modules, 'attune/attune_wasm_bg.wasm');
    const bytes = await fs.readFile(wasmPath);
    await octet.close();
    const octet2 = await serve({ '/node_modules/': modules }, {
      special: (p) => (p === '/' ? { type: 'text/html', body: pageHtml } : p === wasm ? { type: 'application/octet-stream', body: bytes } : null),
    });
    try {
      const good = await withPage(context, octet2.origin + '/', (p) => tryOpen(p, 'module', { namespace: 'octet' }));
      ok(good.ok, `wasm as application/octet-stream (right bytes, wrong type): opens and ranks (slower compile) ${JSON.stringify(good)}`);
    } finally {
      await octet2.close();
    }
  } finally {
    await srv.close();
  }
}

/** `npx vite` (dev server) in the fresh Vite app; resolves to { origin, stop }. Colours are
 * switched off (and stripped) because Vite colours the port inside its "Local:" line whenever it
 * thinks a terminal or CI wants colour, and then the URL never appears as one string. */
async function viteDev(appDir, port) {
  const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', NO_UPDATE_NOTIFIER: '1' };
  const child = spawn('npx', ['--no-install', 'vite', '--host', '127.0.0.1', '--port', String(port), '--strictPort', '--force'], { cwd: appDir, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
  const stop = () => { try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ } };
  let log = '';
  try {
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`vite dev did not start in 60 s: ${log}`)), 60_000);
      const on = (d) => {
        log += d;
        // eslint-disable-next-line no-control-regex
        if (log.replace(/\x1b\[[0-9;]*m/g, '').includes(`127.0.0.1:${port}`)) { clearTimeout(t); resolve(); }
      };
      child.stdout.on('data', on);
      child.stderr.on('data', on);
      child.on('exit', (code) => { clearTimeout(t); reject(new Error(`vite dev exited ${code}: ${log}`)); });
    });
  } catch (e) {
    stop();
    throw e;
  }
  return { origin: `http://127.0.0.1:${port}`, stop };
}

async function viteDevCases(context, appDir, modules) {
  const config = path.join(appDir, 'vite.config.js');
  const readme = await fs.readFile(path.join(modules, 'attune/README.md'), 'utf8');
  const fix = parseBlocks(readme).find((b) => b.info === 'js file=vite.config.js');
  ok(fix, 'the README has the vite.config.js block');
  const flow = (p) => p.waitForSelector('#status:text-is("ready")', { timeout: 60_000 })
    .then(() => p.evaluate(() => window.adopt.flow().then((r) => ({ ok: true, ranked: r.ranked.length, pieces: r.pieces.length }), (e) => ({ code: e.code, message: e.message }))));
  let dev = await viteDev(appDir, await freePort());
  try {
    const r = await withPage(context, dev.origin + '/', flow);
    ok(says(r, ['optimizeDeps', "exclude: ['attune', 'attune-models']", '.vite/deps']), `vite-dev: the dev server's pre-bundled copy → ${r.code}: ${r.message}`);
  } finally {
    dev.stop();
  }
  // The fix the message gives, as the README shows it.
  await fs.writeFile(config, fix.code);
  dev = await viteDev(appDir, await freePort());
  try {
    const r = await withPage(context, dev.origin + '/', flow);
    ok(r.ok && r.ranked === 20 && r.pieces >= 1, `vite-dev with the README's vite.config.js: opens with no model options, ranks and replies ${JSON.stringify(r)}`);
  } finally {
    dev.stop();
    await fs.rm(config, { force: true });
  }
}

export async function loadErrors(modules, viteApp, context) {
  await cors(context, modules);
  await moduleCases(context, modules);
  await viteDevCases(context, viteApp, modules);
}
