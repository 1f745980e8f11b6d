#!/usr/bin/env node
// Shipped sizes of the built package: each JS and wasm file raw and gzip -9, and the totals a
// visitor downloads (npm entry: index/proxy/errors + worker/core/models + glue + wasm; script
// tag: attune.js + the same worker side). Prints JSON.
//   node scripts/pkg-sizes.mjs [pkg]

import { promises as fs } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const dir = path.resolve(process.argv[2] || 'pkg');
const files = (await fs.readdir(dir)).filter((f) => /\.(js|wasm)$/.test(f)).sort();
const sizes = {};
for (const f of files) {
  const b = await fs.readFile(path.join(dir, f));
  sizes[f] = { raw: b.length, gzip: zlib.gzipSync(b, { level: 9 }).length };
}
const sum = (names) => names.reduce((a, f) => ({ raw: a.raw + sizes[f].raw, gzip: a.gzip + sizes[f].gzip }), { raw: 0, gzip: 0 });
const workerSide = ['worker.js', 'core.js', 'models.js', 'errors.js', 'attune_wasm.js', 'attune_wasm_bg.wasm'];
const npm = sum(['index.js', 'proxy.js', ...workerSide]);
const scriptTag = sum(['attune.js', ...workerSide]);
const LIMIT = 1024 * 1024;
console.log(JSON.stringify({ files: sizes, npm, scriptTag, targetGzip: LIMIT, withinTarget: Math.max(npm.gzip, scriptTag.gzip) <= LIMIT }, null, 2));
