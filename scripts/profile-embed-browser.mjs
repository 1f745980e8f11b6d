#!/usr/bin/env node
// Where a core wasm build spends its embedding time in Chromium (the engine and lowering pages
// get, which Node's V8 does not always match): Chrome's sampling CPU profiler through the
// DevTools protocol, self time per function, while the page embeds the corpus one sentence at a
// time (batch 1) or 32 at a time (--batch 32). The build must keep its function names:
//
//   cargo build --release --lib --target wasm32-unknown-unknown --no-default-features --features web-core
//   wasm-bindgen --target web --no-typescript --keep-debug --out-name attune --out-dir /tmp/embed \
//     target/wasm32-unknown-unknown/release/attune.wasm
//   node scripts/profile-embed-browser.mjs /tmp/embed [--batch 32] [--top 25]
//
// Prints one JSON object: the total sampled ms and the functions by share of self time.
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launch } from './e2e-lib.mjs';
import { startServer } from './static-server.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const dir = argv[0] && !argv[0].startsWith('--') ? path.resolve(argv[0]) : null;
if (!dir) {
  console.error('usage: node scripts/profile-embed-browser.mjs BINDGEN_DIR [--batch N] [--top N]');
  process.exit(2);
}
const batch = Number(opt('--batch', 1));
const top = Number(opt('--top', 25));

// One served root: the build, the model and the corpus side by side (links, nothing copied).
const root = await fs.mkdtemp('/tmp/attune-profile-');
await fs.symlink(dir, path.join(root, 'build'));
await fs.symlink(path.join(repo, 'models/out'), path.join(root, 'models'));
await fs.symlink(path.join(repo, 'www/bench-corpus.txt'), path.join(root, 'corpus.txt'));
await fs.writeFile(path.join(root, 'index.html'), '<!doctype html><title>profile</title>');
const server = await startServer(root);
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await launch();
try {
  const page = await browser.context.newPage();
  await page.goto(`${base}/index.html`);
  await page.evaluate(async () => {
    const m = await import('/build/attune.js');
    await m.default({ module_or_path: '/build/attune_bg.wasm' });
    const bytes = new Uint8Array(await (await fetch('/models/minilm-l6-v2.q8_0.gguf')).arrayBuffer());
    window.embedder = m.Embedder.load(bytes);
    window.lines = (await (await fetch('/corpus.txt')).text()).split('\n').filter(Boolean);
    await window.embedder.embed(window.lines.slice(0, 8)); // warm-up: compiled, tables built
  });
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  const { ms, sentences } = await page.evaluate(async (n) => {
    const t = performance.now();
    for (let rep = 0; rep < 3; rep++) {
      for (let i = 0; i < window.lines.length; i += n) await window.embedder.embed(window.lines.slice(i, i + n));
    }
    return { ms: performance.now() - t, sentences: 3 * window.lines.length };
  }, batch);
  const { profile } = await cdp.send('Profiler.stop');
  const self = new Map();
  let samples = 0;
  for (const node of profile.nodes) {
    const name = node.callFrame.functionName || `(${node.callFrame.url ? 'anonymous' : 'program'})`;
    self.set(name, (self.get(name) || 0) + (node.hitCount || 0));
    samples += node.hitCount || 0;
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([name, hits]) => ({ share: +(100 * hits / samples).toFixed(1), name }));
  console.log(JSON.stringify({ batch, sentences, wallMs: Math.round(ms), samples, functions: rows }, null, 1));
} finally {
  await browser.close();
  server.close();
  await fs.rm(root, { recursive: true, force: true });
}
