#!/usr/bin/env node
// `make extension`: the Attune browser extension (Manifest V3) from examples/extension/src/, the
// built package in pkg/ and the embedder in models/out/:
//   examples/extension/dist/unpacked/        load it with chrome://extensions → "Load unpacked"
//   examples/extension/dist/attune-extension.zip   the same files, for a store upload
// The SDK's files are copied from pkg/ as they ship (no second copy in the repository); the chat
// wasm is left out (the extension does not chat). The model is packaged: no request leaves the
// device. Needs no cargo: run `make pkg` and `make models` first.
//   node scripts/build-extension.mjs [--pkg pkg] [--models models/out] [--out examples/extension/dist]

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return path.resolve(REPO, i >= 0 ? process.argv[i + 1] : fallback);
};
const PKG = arg('pkg', 'pkg');
const MODELS = arg('models', 'models/out');
const OUT = arg('out', 'examples/extension/dist');
const SRC = path.join(REPO, 'examples/extension/src');
const EMBEDDER = 'minilm-l6-v2.q8_0.gguf';
async function need(file, hint) {
  try { await fs.access(file); } catch { console.error(`build-extension: ${path.relative(REPO, file)} is missing; ${hint}`); process.exit(1); }
}
/** The package's ES modules (from its package.json `files`, so a new module is never left out)
 * and the core wasm; not the script-tag build (attune.js) nor the chat wasm, which core.js
 * fetches only on a reply (never here). */
await need(path.join(PKG, 'package.json'), 'run make pkg');
const SDK_FILES = JSON.parse(await fs.readFile(path.join(PKG, 'package.json'), 'utf8')).files
  .filter((f) => (f.endsWith('.js') && f !== 'attune.js') || f === 'attune_wasm_bg.wasm');

for (const f of SDK_FILES) await need(path.join(PKG, f), 'run make pkg');
await need(path.join(MODELS, EMBEDDER), 'run make models');

const unpacked = path.join(OUT, 'unpacked');
await fs.rm(OUT, { recursive: true, force: true });
await fs.mkdir(path.join(unpacked, 'attune'), { recursive: true });
await fs.mkdir(path.join(unpacked, 'models'), { recursive: true });
for (const f of await fs.readdir(SRC)) await fs.copyFile(path.join(SRC, f), path.join(unpacked, f));
for (const f of SDK_FILES) await fs.copyFile(path.join(PKG, f), path.join(unpacked, 'attune', f));
await fs.copyFile(path.join(MODELS, EMBEDDER), path.join(unpacked, 'models', EMBEDDER));
const { files } = JSON.parse(await fs.readFile(path.join(MODELS, 'manifest.json'), 'utf8'));
const sha256 = files[EMBEDDER].sha256;
await fs.writeFile(path.join(unpacked, 'model.js'),
  `// Written by scripts/build-extension.mjs: the packaged embedder and its sha256.\nexport const EMBEDDER = ${JSON.stringify({ path: `models/${EMBEDDER}`, sha256 })};\n`);

// --- a zip (deflate; the model and wasm barely shrink, the JS does) ---------------------------

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

async function listFiles(dir, base = dir) {
  const out = [];
  for (const e of (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, base)));
    else out.push(path.relative(base, p).split(path.sep).join('/'));
  }
  return out;
}

function zip(entries) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  const DOS_TIME = 0, DOS_DATE = (2020 - 1980) << 9 | 1 << 5 | 1; // fixed: the same inputs give the same zip
  for (const { name, data } of entries) {
    const packed = deflateRawSync(data, { level: 9 });
    const stored = packed.length >= data.length;
    const body = stored ? data : packed;
    const nameBuf = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(stored ? 0 : 8, 8); local.writeUInt16LE(DOS_TIME, 10); local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14); local.writeUInt32LE(body.length, 18); local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26); local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6); central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(stored ? 0 : 8, 10); central.writeUInt16LE(DOS_TIME, 12); central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16); central.writeUInt32LE(body.length, 20); central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBuf.length, 28); central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, body);
    centrals.push(central, nameBuf);
    offset += local.length + nameBuf.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(entries.length, 8); end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const names = await listFiles(unpacked);
const entries = await Promise.all(names.map(async (name) => ({ name, data: await fs.readFile(path.join(unpacked, name)) })));
const zipped = zip(entries);
const zipPath = path.join(OUT, 'attune-extension.zip');
await fs.writeFile(zipPath, zipped);
const unpackedBytes = entries.reduce((n, e) => n + e.data.length, 0);
console.log(`build-extension: ${path.relative(REPO, unpacked)} (${names.length} files, ${unpackedBytes} bytes), `
  + `${path.relative(REPO, zipPath)} (${zipped.length} bytes)`);
