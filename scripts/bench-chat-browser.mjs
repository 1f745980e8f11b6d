#!/usr/bin/env node
// The chat benchmark in headless Debian Chromium (playwright-core, which downloads nothing):
// www/bench-chat.html once per engine (Attune's wasm Assistant on the CPU, the same on WebGPU
// (attune-gpu: Chromium with --enable-unsafe-webgpu, SwiftShader here), then wllama = llama.cpp
// in wasm), each in a fresh browser whose peak memory (summed RSS of the browser's process tree,
// sampled every 50 ms) is recorded beside the page's own numbers. With --native FILE (the JSON
// of `attune bench-chat`) the native numbers join the report, with the targets of issue 5.
//
//   node scripts/bench-chat-browser.mjs [--out bench/out/chat.json] [--native FILE]
//        [--native-gpu FILE] [--engines attune,attune-gpu,wllama] [--repeats 3]
//        [--gpu-tokens 128] [--gpu-repeats 1] [--root www]
//        [--port 0] [--timeout 900]
//        [--chromium /usr/bin/chromium]
// Exits 0 when every page reports success, 1 otherwise, 2 on bad usage.

import { execFileSync } from 'node:child_process';
import { promises as fs, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { startServer } from './static-server.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Issue 5: native llama.cpp decodes this file at about 70 tokens/s on one thread; the
// browser's CPU path should reach 60 % of that and beat wllama.
const LLAMA_CPP_NATIVE_DECODE = 70;
const TARGET_SHARE = 0.6;
const ENGINES = ['attune', 'attune-gpu', 'wllama'];

function parseArgs(argv) {
  const opts = {
    out: path.join(REPO, 'bench/out/chat.json'), native: null, engines: 'attune,wllama', repeats: 3, gpuTokens: 128, gpuRepeats: 1, nativeGpu: null,
    root: path.join(REPO, 'www'), port: 0, timeout: 900, chromium: process.env.CHROMIUM || '/usr/bin/chromium',
  };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    const key = m && m[1].replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!m || !(key in opts)) usage(`unexpected argument ${argv[i]}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) usage(`--${m[1]} needs a value`);
    opts[key] = value;
  }
  opts.engines = String(opts.engines).split(',').filter(Boolean);
  if (opts.engines.some((e) => !ENGINES.includes(e))) usage(`--engines takes ${ENGINES.join(', ')}`);
  for (const k of ['repeats', 'port', 'timeout', 'gpuTokens', 'gpuRepeats']) {
    opts[k] = Number(opts[k]);
    if (!Number.isInteger(opts[k]) || opts[k] < 0) usage(`--${k} must be a whole number`);
  }
  return opts;
}

function usage(msg) {
  console.error(`bench-chat-browser: ${msg}\nsee the header of scripts/bench-chat-browser.mjs`);
  process.exit(2);
}

/** Summed RSS (bytes) of `pid` and all its descendants, from /proc. */
function treeRss(pid) {
  const children = new Map();
  const rss = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(fields[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
      rss.set(Number(name), Number(fields[21]) * 4096);
    } catch { /* the process ended meanwhile */ }
  }
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    total += rss.get(p) ?? 0;
    stack.push(...(children.get(p) ?? []));
  }
  return total;
}

async function runEngine(chromium, opts, port, engine) {
  const userDataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'attune-bench-chat-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: opts.chromium,
    headless: true,
    // WebGPU only for the GPU engine; the CPU engines run with the GPU off.
    args: [...(engine === 'attune-gpu' ? ['--enable-unsafe-webgpu'] : ['--disable-gpu']), '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--enable-precise-memory-info'],
  });
  // The browser process is the one started with our user data dir.
  const browserPid = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number).find((p) => {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      return cmd.includes(userDataDir) && !cmd.includes('--type=');
    } catch { return false; }
  });
  let peak = 0;
  const sampler = setInterval(() => { if (browserPid) peak = Math.max(peak, treeRss(browserPid)); }, 50);
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.text().startsWith('[bench]')) console.error(`  page ${msg.type()}: ${msg.text()}`);
    });
    let rejectAbort;
    const aborted = new Promise((_, reject) => { rejectAbort = reject; });
    aborted.catch(() => {});
    page.on('pageerror', (err) => rejectAbort(new Error(`uncaught error in the page: ${err.message}`)));
    page.on('crash', () => rejectAbort(new Error('the page crashed')));
    const idle = browserPid ? treeRss(browserPid) : null;
    const query = engine === 'attune-gpu' ? `repeats=${opts.gpuRepeats}&tokens=${opts.gpuTokens}` : `repeats=${opts.repeats}`;
    await page.goto(`http://127.0.0.1:${port}/bench-chat.html?engine=${engine}&${query}`, { waitUntil: 'load' });
    await Promise.race([
      page.waitForFunction(() => window.__benchResult !== undefined, null, { timeout: opts.timeout * 1000, polling: 500 }),
      aborted,
    ]);
    const result = await page.evaluate(() => window.__benchResult);
    return { ...result, browser_peak_rss_bytes: browserPid ? peak : null, browser_idle_rss_bytes: idle };
  } finally {
    clearInterval(sampler);
    await context.close().catch(() => {});
    await fs.rm(userDataDir, { recursive: true, force: true }).catch(() => {});
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  for (const need of ['bench-chat.html', 'pkg/attune.js', 'models/smollm2-135m-instruct.q4_1.gguf']) {
    try { await fs.access(path.join(opts.root, need)); } catch { throw new Error(`${opts.root}/${need} is missing (make wasm models)`); }
  }
  if (opts.engines.includes('wllama')) {
    try { await fs.access(path.join(opts.root, 'wllama/index.js')); } catch { throw new Error(`${opts.root}/wllama is missing (make bench-chat links it from node_modules)`); }
  }
  const { chromium } = await import('playwright-core');
  const server = await startServer(opts.root, { port: opts.port });
  const { port } = server.address();
  const report = {
    about: 'SmolLM2-135M-Instruct Q4_1, greedy, 128 decoded tokens (attune-gpu: --gpu-tokens), CPU engines on one thread; best of the runs',
    browser: {},
  };
  if (opts.native) report.native = JSON.parse(await fs.readFile(opts.native, 'utf8'));
  if (opts.nativeGpu) report.native_gpu = JSON.parse(await fs.readFile(opts.nativeGpu, 'utf8'));
  let ok = true;
  try {
    for (const engine of opts.engines) {
      console.error(`bench-chat-browser: ${engine}`);
      const r = await runEngine(chromium, opts, port, engine);
      report.browser[engine] = r;
      if (!r || r.ok !== true) {
        ok = false;
        console.error(`bench-chat-browser: ${engine} failed: ${JSON.stringify(r && r.error)}`);
      }
    }
  } finally {
    server.closeAllConnections?.();
    await new Promise((r) => server.close(r));
  }
  const ours = report.browser.attune?.decode_tokens_per_s;
  const theirs = report.browser.wllama?.decode_tokens_per_s;
  report.targets = {
    browser_decode_min_tokens_per_s: LLAMA_CPP_NATIVE_DECODE * TARGET_SHARE,
    browser_decode_meets_min: ours != null ? ours >= LLAMA_CPP_NATIVE_DECODE * TARGET_SHARE : null,
    browser_decode_vs_wllama: ours != null && theirs ? Math.round((ours / theirs) * 100) / 100 : null,
  };
  report.runner = {
    script: 'scripts/bench-chat-browser.mjs',
    chromium_version: (() => { try { return execFileSync(opts.chromium, ['--version'], { encoding: 'utf8' }).trim(); } catch { return null; } })(),
    cpu_model: os.cpus()[0]?.model ?? null, cpus: os.cpus().length, node: process.version,
  };
  await fs.mkdir(path.dirname(path.resolve(opts.out)), { recursive: true });
  const text = JSON.stringify(report, null, 2) + '\n';
  await fs.writeFile(opts.out, text);
  process.stdout.write(text);
  if (!ok) process.exitCode = 1;
}

main().catch((e) => { console.error(`bench-chat-browser: ERROR: ${e && e.message ? e.message : e}`); process.exitCode = 1; });
