#!/usr/bin/env node
// Assembles pkg/ (the npm package and the script-tag build) from pkg-template/ and the
// wasm-bindgen outputs (`--target web --out-name attune_wasm`, `attune_wasm_mt` (the threaded
// core) and `attune_chat`, already wasm-opt'ed):
//   node scripts/build-pkg.mjs --bindgen DIR [--out pkg] [--models-out pkg-models] [--models models/out]
// attune.js (script tag) is errors.js + worker-policy.js + proxy.js + connect.js + script.js in one classic
// script: the ES module syntax (imports, `export`) is stripped, which is all those files use.
// Every shipped .js is minified with esbuild (npm devDependency), file by file, no bundling:
// the export names, `import('./core.js')` and the `new URL('./…', import.meta.url)` worker/wasm
// references that Vite and webpack follow stay as they are; each file keeps a license line.
// The default models come from models/out/manifest.json (names, sizes, sha256): pkg/models.json
// lists every file for those who host them, pkg/default-models.js pins the two the SDK opens
// with no URLs, and scripts/build-models-pkg.mjs writes the attune-models package beside pkg/.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { transform } from 'esbuild';
import { MODELS_PACKAGE, defaultModels, defaultModelsModule, writeModelsPackage } from './build-models-pkg.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TEMPLATE = path.join(REPO, 'pkg-template');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1]) return process.argv[i + 1];
  if (fallback === undefined) { console.error(`build-pkg: --${name} is required`); process.exit(2); }
  return fallback;
}

const bindgen = path.resolve(arg('bindgen'));
const out = path.resolve(arg('out', path.join(REPO, 'pkg')));
const modelsOut = path.resolve(arg('models-out', path.join(path.dirname(out), 'pkg-models')));
const modelsDir = path.resolve(arg('models', path.join(REPO, 'models/out')));

const MODULES = ['index.js', 'proxy.js', 'connect.js', 'worker-policy.js', 'errors.js', 'core.js', 'models.js', 'worker.js', 'thread.js', 'probe.js'];
const DOCS = ['index.d.ts', 'README.md'];
const GLUE = ['attune_wasm.js', 'attune_wasm_mt.js', 'attune_chat.js'];
const WASM = ['attune_wasm_bg.wasm', 'attune_wasm_mt_bg.wasm', 'attune_chat_bg.wasm'];

function classic(src, file) {
  const body = src
    .replace(/^import [^;]+;\n/gm, '')
    .replace(/^export (?=(async )?(function|const|class|let) )/gm, '');
  if (/^\s*(import\s*[{*"']|export\s+[a-z{*])/m.test(body)) throw new Error(`${file}: module syntax left for the script-tag build`);
  return `// --- ${file}\n${body}`;
}

// The crate's version and license: package.json's and each minified file's license line.
const cargo = await fs.readFile(path.join(REPO, 'Cargo.toml'), 'utf8');
const version = /^version = "([^"]+)"/m.exec(cargo)[1];
const license = /^license = "([^"]+)"/m.exec(cargo)[1];

/** `src` minified: an ES module (`format: 'esm'` keeps imports, exports and import.meta) or,
 * without a format, the classic script as it is. No syntax is lowered (target esnext). */
async function minify(src, file, format) {
  const { code } = await transform(src, {
    minify: true, format, sourcefile: file, legalComments: 'none',
    banner: `/*! Attune ${version} (${file}) | ${license} */`,
  });
  return code;
}

await fs.rm(out, { recursive: true, force: true });
await fs.mkdir(out, { recursive: true });
for (const f of DOCS) await fs.copyFile(path.join(TEMPLATE, f), path.join(out, f));
for (const f of ['LICENSE', 'CHANGELOG.md']) await fs.copyFile(path.join(REPO, f), path.join(out, f));
const manifest = await defaultModels(modelsDir, version);
await fs.writeFile(path.join(out, 'models.json'), JSON.stringify(manifest, null, 2) + '\n');
const defaultsModule = defaultModelsModule(manifest);
await fs.writeFile(path.join(out, 'default-models.js'), await minify(defaultsModule, 'default-models.js', 'esm'));
for (const f of WASM) await fs.copyFile(path.join(bindgen, f), path.join(out, f));
for (const [dir, names] of [[TEMPLATE, MODULES], [bindgen, GLUE]]) {
  for (const f of names) {
    await fs.writeFile(path.join(out, f), await minify(await fs.readFile(path.join(dir, f), 'utf8'), f, 'esm'));
  }
}

// package.json: the version is the crate's, and the models package's the same.
const pkg = JSON.parse(await fs.readFile(path.join(TEMPLATE, 'package.json'), 'utf8'));
pkg.version = version;
pkg.dependencies[manifest.package] = version;
const shipped = new Set([...MODULES, ...DOCS, ...GLUE, ...WASM, 'attune.js', 'models.json', 'default-models.js', 'LICENSE', 'CHANGELOG.md']);
const listed = new Set(pkg.files);
for (const f of shipped) if (!listed.has(f)) throw new Error(`build-pkg: ${f} is built but not in pkg-template/package.json "files"`);
await fs.writeFile(path.join(out, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');

const parts = [];
parts.push(classic(defaultsModule, 'default-models.js'));
for (const f of ['errors.js', 'worker-policy.js', 'probe.js', 'proxy.js', 'connect.js', 'script.js']) parts.push(classic(await fs.readFile(path.join(TEMPLATE, f), 'utf8'), f));
const script = `(function () {\n'use strict';\n${parts.join('\n')}\n})();\n`;
await fs.writeFile(path.join(out, 'attune.js'), await minify(script, 'attune.js, script tag: defines window.Attune'));
execFileSync(process.execPath, ['--check', path.join(out, 'attune.js')], { stdio: 'inherit' });

await writeModelsPackage({ manifest, modelsDir, out: modelsOut, license: path.join(REPO, 'LICENSE') });
// An app that links pkg/ (`file:../../pkg`, as examples/ do) resolves attune's dependency from
// pkg/node_modules, where npm puts a linked package's dependencies; npm pack leaves it out.
await fs.mkdir(path.join(out, 'node_modules'), { recursive: true });
await fs.symlink(path.relative(path.join(out, 'node_modules'), modelsOut), path.join(out, 'node_modules', MODELS_PACKAGE));

console.log(`build-pkg: ${out} (attune ${version}), ${modelsOut} (attune-models ${version})`);
