// The packages as a registry would get them: `npm pack --dry-run` lists what each tarball
// holds (every file the shipped JS loads by a relative URL must be in it, and the files a
// registry page needs: README, LICENSE, CHANGELOG, types), publint checks package.json's
// fields and exports, and `npm pack` writes the two tarballs the fresh apps install.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ok } from '../e2e-lib.mjs';
import { run } from './lib.mjs';

/** Relative files a shipped JS file loads: imports, dynamic imports, new URL('./…', …). */
function referenced(src) {
  const out = new Set();
  for (const re of [/\b(?:from|import)\s*\(?\s*["']\.\/([^"']+)["']/g, /new URL\(\s*["']\.\/([^"']+)["']/g]) {
    for (const m of src.matchAll(re)) if (/^[\w.-]+\.(js|mjs|wasm|json|gguf)$/.test(m[1])) out.add(m[1]);
  }
  return out;
}

async function packOne(dir, name, need, dest) {
  const [listing] = JSON.parse(await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir }));
  const files = new Set(listing.files.map((f) => f.path));
  ok(listing.name === name, `npm pack --dry-run: ${name} ${listing.version}, ${listing.entryCount} files, ${listing.unpackedSize} bytes unpacked`);
  const missing = need.filter((f) => !files.has(f));
  ok(missing.length === 0, `${name}: the tarball has ${need.join(', ')} ${missing.length ? `(missing ${missing.join(', ')})` : ''}`);
  const loads = new Set();
  for (const f of files) if (f.endsWith('.js')) for (const r of referenced(await fs.readFile(path.join(dir, f), 'utf8'))) loads.add(r);
  const unpacked = [...loads].filter((f) => !files.has(f));
  ok(unpacked.length === 0, `${name}: every file its JS loads by relative URL is packed (${[...loads].sort().join(', ')}) ${unpacked.length ? `missing: ${unpacked.join(', ')}` : ''}`);
  const lint = await run('npx', ['--no-install', 'publint', '--strict', dir], { cwd: path.dirname(dir) });
  ok(/All good!/.test(lint), `${name}: publint --strict: ${lint.trim().split('\n').pop()}`);
  const [packed] = JSON.parse(await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], { cwd: dir }));
  const tgz = path.join(dest, packed.filename);
  const { size } = await fs.stat(tgz);
  console.log(`  ${packed.filename}: ${size} bytes packed, ${packed.unpackedSize} unpacked`);
  return { tgz, size, unpacked: packed.unpackedSize };
}

/** Packs pkg/ and pkg-models/ into `dest`; resolves to { attune, models } ({ tgz, size, unpacked }). */
export async function packAll(repo, dest) {
  const pkgJson = JSON.parse(await fs.readFile(path.join(repo, 'pkg/package.json'), 'utf8'));
  for (const field of ['repository', 'keywords', 'sideEffects', 'engines', 'types', 'files', 'license', 'exports']) {
    ok(pkgJson[field] !== undefined, `attune package.json has "${field}"`);
  }
  ok(pkgJson.dependencies?.['attune-models'] === pkgJson.version, `attune depends on attune-models@${pkgJson.version} (${pkgJson.dependencies?.['attune-models']})`);
  const attune = await packOne(path.join(repo, 'pkg'), 'attune',
    ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'index.d.ts', 'index.js', 'attune.js', 'models.json', 'attune_wasm_bg.wasm', 'attune_chat_bg.wasm'], dest);
  const manifest = JSON.parse(await fs.readFile(path.join(repo, 'pkg/models.json'), 'utf8'));
  const models = await packOne(path.join(repo, 'pkg-models'), 'attune-models',
    ['package.json', 'README.md', 'LICENSE', 'index.js', 'index.d.ts', ...Object.values(manifest.defaults)], dest);
  return { attune, models };
}
