#!/usr/bin/env node
// Runs www/bench.html in headless Debian Chromium (through playwright-core, which downloads
// nothing) and saves the JSON result it reports.
//
//   node scripts/bench-browser.mjs [--out bench/out/browser.json] [--root www]
//        [--types q8_0,f16,q4_0,f32] [--timeout 1200] [--chromium /usr/bin/chromium]
//        [--isolate] [--headed]
//
// A static server for --root is started on 127.0.0.1 at a free port (a loopback origin is a
// secure context). Exits 0 when the page reports success, 1 when it reports an error or never
// reports, 2 on bad usage.

import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { startServer } from './static-server.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `usage: node scripts/bench-browser.mjs [options]
  --out FILE        where to write the result JSON (default bench/out/browser.json)
  --root DIR        directory to serve (default www next to this script's repo)
  --types LIST      quant types, comma-separated (default: all of q8_0,f16,q4_0,f32)
  --batch1 N        sentences embedded one per call (page default 64)
  --reps N          batch-32 repetitions (page default 5)
  --timeout SEC     how long to wait for the page (default 1200)
  --chromium PATH   browser binary (default $CHROMIUM or /usr/bin/chromium)
  --isolate         serve COOP/COEP headers (page becomes crossOriginIsolated)
  --headed          show the browser window
  -h, --help        this text`;

function parseArgs(argv) {
  const opts = {
    out: path.join(REPO, 'bench/out/browser.json'),
    root: path.join(REPO, 'www'),
    types: null,
    batch1: null,
    reps: null,
    timeout: 1200,
    chromium: process.env.CHROMIUM || '/usr/bin/chromium',
    isolate: false,
    headed: false,
  };
  const valued = new Set(['out', 'root', 'types', 'batch1', 'reps', 'timeout', 'chromium']);
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    if (arg === '-h' || arg === '--help') { console.log(USAGE); process.exit(0); }
    if (!arg.startsWith('--')) usage(`unexpected argument ${arg}`);
    arg = arg.slice(2);
    let value;
    const eq = arg.indexOf('=');
    if (eq >= 0) { value = arg.slice(eq + 1); arg = arg.slice(0, eq); }
    if (valued.has(arg)) {
      if (value === undefined) {
        value = argv[++i];
        if (value === undefined) usage(`--${arg} needs a value`);
      }
      opts[arg] = value;
    } else if (arg === 'isolate' || arg === 'headed') {
      opts[arg] = true;
    } else {
      usage(`unknown option --${arg}`);
    }
  }
  opts.out = path.resolve(opts.out);
  opts.root = path.resolve(opts.root);
  opts.timeout = Number(opts.timeout);
  if (!(opts.timeout > 0)) usage('--timeout must be a positive number of seconds');
  for (const k of ['batch1', 'reps']) {
    if (opts[k] != null && !(Number.isInteger(Number(opts[k])) && Number(opts[k]) > 0)) usage(`--${k} must be a positive integer`);
  }
  return opts;
}

function usage(msg) {
  console.error(`bench-browser: ${msg}\n\n${USAGE}`);
  process.exit(2);
}

function fail(msg) {
  console.error(`bench-browser: ERROR: ${msg}`);
  process.exitCode = 1;
}

// ---------- main ----------

function chromiumVersion(bin) {
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000 }).trim();
  } catch {
    return null;
  }
}

async function exists(p) {
  try { await fs.access(p); return true; } catch { return false; }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));

  if (!(await exists(path.join(opts.root, 'bench.html')))) {
    return fail(`${opts.root}/bench.html not found (use --root)`);
  }
  if (!(await exists(path.join(opts.root, 'pkg/attune.js')))) {
    return fail(`${opts.root}/pkg/attune.js not found: build the wasm package first (wasm-bindgen --target web --out-dir www/pkg ...)`);
  }
  if (!(await exists(opts.chromium))) {
    return fail(`browser ${opts.chromium} not found (apt install chromium, or pass --chromium)`);
  }

  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    return fail(`cannot import playwright-core (${e.message}); run npm install`);
  }

  const server = await startServer(opts.root, { isolate: opts.isolate });
  const { port } = server.address();
  const userDataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'attune-bench-chromium-'));
  const query = new URLSearchParams();
  if (opts.types) query.set('types', opts.types);
  if (opts.batch1) query.set('batch1', opts.batch1);
  if (opts.reps) query.set('reps', opts.reps);
  const qs = query.toString();
  const url = `http://127.0.0.1:${port}/bench.html${qs ? '?' + qs : ''}`;
  console.error(`bench-browser: serving ${opts.root} at http://127.0.0.1:${port}/`);
  console.error(`bench-browser: opening ${url} in ${opts.chromium}`);

  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: opts.chromium,
      headless: !opts.headed,
      args: [
        '--no-sandbox',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--enable-unsafe-webgpu',
      ],
    });
    const page = context.pages()[0] || (await context.newPage());

    page.on('console', (msg) => {
      const text = msg.text();
      if (msg.type() === 'error' || msg.type() === 'warning' || text.startsWith('[bench]')) {
        console.error(`  page ${msg.type()}: ${text}`);
      }
    });
    page.on('response', (res) => {
      if (res.status() >= 400) console.error(`  page: HTTP ${res.status()} for ${res.url()}`);
    });

    // An uncaught exception or a crash means the page may never report; stop waiting then.
    let rejectAbort;
    const aborted = new Promise((_, reject) => { rejectAbort = reject; });
    page.on('pageerror', (err) => rejectAbort(new Error(`uncaught error in the page: ${err.message}`)));
    page.on('crash', () => rejectAbort(new Error('the page crashed (out of memory?)')));
    aborted.catch(() => {});

    await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
    await Promise.race([
      page.waitForFunction(() => window.__benchResult !== undefined, null, {
        timeout: opts.timeout * 1000,
        polling: 500,
      }),
      aborted,
    ]);
    const result = await page.evaluate(() => window.__benchResult);
    if (result && typeof result === 'object') {
      result.runner = {
        script: 'scripts/bench-browser.mjs',
        chromium: opts.chromium,
        chromium_version: chromiumVersion(opts.chromium),
        headless: !opts.headed,
        isolate: opts.isolate,
        node: process.version,
        cpu_model: os.cpus()[0]?.model ?? null,
        cpus: os.cpus().length,
        platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      };
    }

    await fs.mkdir(path.dirname(opts.out), { recursive: true });
    const text = JSON.stringify(result, null, 2) + '\n';
    await fs.writeFile(opts.out, text);
    process.stdout.write(text);
    console.error(`bench-browser: wrote ${opts.out}`);

    if (!result || result.ok !== true) {
      const errs = (result && result.errors) || [];
      const detail = errs.length
        ? errs.map((e) => `[${e.stage}] ${e.code}: ${e.message}`).join('\n  ')
        : 'no results';
      fail(`the benchmark page reported an error:\n  ${detail}`);
    } else {
      for (const r of result.results) {
        console.error(`  ${r.type.padEnd(5)} load ${String(Math.round(r.load_ms)).padStart(6)} ms  ` +
          `batch1 ${String(r.batch1.sentences_per_s).padStart(8)} sent/s  ` +
          `batch32 ${String(r.batch32.sentences_per_s).padStart(8)} sent/s`);
      }
    }
  } catch (e) {
    const msg = e && e.name === 'TimeoutError'
      ? `the page did not report a result within ${opts.timeout} s`
      : (e && e.message) || String(e);
    fail(msg);
  } finally {
    if (context) await context.close().catch(() => {});
    const closed = new Promise((r) => server.close(r));
    server.closeAllConnections?.();
    await closed;
    await fs.rm(userDataDir, { recursive: true, force: true }).catch(() => {});
  }
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
