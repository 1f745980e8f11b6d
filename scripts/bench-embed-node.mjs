#!/usr/bin/env node
// Embedding speed of a core wasm build in Node (V8, Chromium's engine), in CPU time so that a
// busy machine moves it less than wall time; the profile of docs/cpu-performance.md.
//
//   cargo build --release --lib --target wasm32-unknown-unknown --no-default-features --features web-core
//   wasm-bindgen --target web --no-typescript --keep-debug --out-name attune --out-dir /tmp/embed \
//     target/wasm32-unknown-unknown/release/attune.wasm
//   node scripts/bench-embed-node.mjs /tmp/embed [model.gguf] [corpus.txt]     # add --cpu-prof for a profile
//
// Prints one JSON line: batch-1 p50/p90 (wall and CPU ms per sentence), batch-32 sentences/s
// (wall and CPU). REPS (default 3) repeats each pass.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [dir, modelPath = path.join(repo, 'models/out/minilm-l6-v2.q8_0.gguf'),
  corpusPath = path.join(repo, 'www/bench-corpus.txt')] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node scripts/bench-embed-node.mjs BINDGEN_DIR [model.gguf] [corpus.txt]');
  process.exit(2);
}
const mod = await import(path.resolve(dir, 'attune.js'));
mod.initSync({ module: fs.readFileSync(path.resolve(dir, 'attune_bg.wasm')) });
const e = mod.Embedder.load(fs.readFileSync(modelPath));
const lines = fs.readFileSync(corpusPath, 'utf8').split('\n').filter(Boolean);
const reps = Number(process.env.REPS || 3);
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const median = (a, q = 0.5) => [...a].sort((x, y) => x - y)[Math.floor(a.length * q)];

let tokens = 0;
for (const l of lines) tokens += e.tokenize(l).length;
await e.embed(lines.slice(0, 4)); // warm-up

const wall1 = [], cpu1 = [];
for (let r = 0; r < reps; r++) {
  for (const l of lines) {
    const t = performance.now(), c = cpu();
    await e.embed([l]);
    wall1.push(performance.now() - t);
    cpu1.push(cpu() - c);
  }
}
const wall32 = [], cpu32 = [];
for (let r = 0; r < reps; r++) {
  const t = performance.now(), c = cpu();
  for (let i = 0; i < lines.length; i += 32) await e.embed(lines.slice(i, i + 32));
  wall32.push(lines.length / ((performance.now() - t) / 1000));
  cpu32.push(lines.length / ((cpu() - c) / 1000));
}
const r2 = (x) => Math.round(x * 100) / 100;
console.log(JSON.stringify({
  sentences: lines.length,
  avgTokens: r2(tokens / lines.length),
  batch1P50Ms: r2(median(wall1)), batch1P90Ms: r2(median(wall1, 0.9)), batch1CpuP50Ms: r2(median(cpu1)),
  batch32SentencesPerS: r2(median(wall32)), batch32CpuSentencesPerS: r2(median(cpu32)),
}));
