#!/usr/bin/env node
// Shipped sizes of the built package: each JS and wasm file raw, GNU `gzip -9` (as the README's
// earlier wasm figures) and brotli q11, and the totals a visitor downloads (npm entry:
// index/proxy/worker-policy/errors + worker/core/models + glue + wasm; script tag: attune.js + the same worker
// side), and the chat module loaded on the first reply. Each total names its files. Prints JSON.
//   node scripts/pkg-sizes.mjs [pkg]

import { promises as fs } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';

const dir = path.resolve(process.argv[2] || 'pkg');
const files = (await fs.readdir(dir)).filter((f) => /\.(js|wasm)$/.test(f)).sort();
const sizes = {};
for (const f of files) {
  const b = await fs.readFile(path.join(dir, f));
  const gzip = execFileSync('gzip', ['-9', '-c', '-n', path.join(dir, f)], { maxBuffer: 1 << 28 }).length;
  const brotli = zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  sizes[f] = { raw: b.length, gzip, brotli };
}
const sum = (names) => names.reduce((a, f) => ({ raw: a.raw + sizes[f].raw, gzip: a.gzip + sizes[f].gzip, brotli: a.brotli + sizes[f].brotli }), { raw: 0, gzip: 0, brotli: 0 });
// What a page downloads to embed, track and rank: the worker side (worker + core + models +
// errors, the three wasm-bindgen glues, which core.js imports statically, and the core wasm) plus
// its entry. A cross-origin isolated page loads the threaded core wasm and thread.js instead
// (`isolated`). The chat wasm is fetched on the first assistant.reply only, so it is reported on
// its own and counted in no total; models are not counted.
const glue = ['worker.js', 'core.js', 'models.js', 'errors.js', 'probe.js', 'worker-policy.js', 'attune_wasm.js', 'attune_wasm_mt.js', 'attune_chat.js'];
const workerSide = [...glue, 'attune_wasm_bg.wasm'];
const total = (what, names) => ({ what, files: names, ...sum(names) });
const pageSide = ['index.js', 'proxy.js', 'connect.js', 'default-models.js'];
const npm = total('npm entry (import { Attune } from "attune"), worker mode', [...pageSide, ...workerSide]);
const scriptTag = total('<script src=attune.js> build, worker mode', ['attune.js', ...workerSide]);
const isolated = total('npm entry on a cross-origin isolated page (threads)', [...pageSide, ...glue, 'thread.js', 'attune_wasm_mt_bg.wasm']);
const chat = total('chat module: fetched on the first assistant.reply, in neither total', ['attune_chat_bg.wasm']);
const LIMIT = 1_000_000; // the 1 MB, read strictly
const counted = 'JS + wasm a page loads to embed/track/rank (npm and scriptTag totals, gzip -9); models and the lazily fetched chat wasm are not counted';
console.log(JSON.stringify({ counted, files: sizes, npm, scriptTag, isolated, chatOnFirstReply: chat, targetGzip: LIMIT,
  withinTarget: Math.max(npm.gzip, scriptTag.gzip, isolated.gzip) <= LIMIT }, null, 2));
