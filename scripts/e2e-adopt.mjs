#!/usr/bin/env node
// Attune as a new user adopts it, from the packed tarballs (run `make pkg` first):
//   pack    `npm pack --dry-run` and publint (strict) on pkg/ and pkg-models/, then both tarballs
//   vite, webpack   fresh apps in a temporary folder, `npm install ./attune-models-*.tgz
//           ./attune-*.tgz`, built, and in Chromium `Attune.open({ namespace: 'x' })` with no
//           model options ranks 300 items with reasons and streams a reply (scripts/adopt/apps.mjs)
//   readme  every code block of pkg-template/README.md run in Chromium against the installed
//           package (scripts/adopt/readme.mjs says how blocks are tagged)
//   errors  the load failures a user meets, each with a message naming the cause: a cross-origin
//           script tag without CORS, the wasm answered by an HTML page, a 404 worker, the Vite
//           dev server's pre-bundled copy (scripts/adopt/load-errors.mjs)
// npm packages come from ~/.cache/attune/npm (--prefer-offline); the temporary folder is removed.
//   node scripts/e2e-adopt.mjs [--chromium PATH] [--headed] [--only vite,webpack,readme,errors] [--keep]

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checks, launch } from './e2e-lib.mjs';
import { packAll } from './adopt/pack.mjs';
import { freshApps } from './adopt/apps.mjs';
import { readmeBlocks } from './adopt/readme.mjs';
import { loadErrors } from './adopt/load-errors.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv;
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1].split(',') : null;
const wanted = (part) => !only || only.includes(part);

const started = Date.now();
const lap = (what, t0) => console.log(`e2e-adopt: ${what} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'attune-adopt-'));
let browser;
try {
  await fs.access(path.join(REPO, 'pkg-models/package.json')).catch(() => { throw new Error('pkg-models/ is missing; run make pkg'); });
  let t0 = Date.now();
  const packed = await packAll(REPO, tmp);
  lap('packed', t0);
  // No name resolves but the loopback, so nothing can leave the machine even if asked to.
  browser = await launch(['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1']);
  t0 = Date.now();
  const apps = await freshApps(REPO, tmp, { attune: packed.attune.tgz, models: packed.models.tgz }, browser.context, only);
  lap('fresh apps', t0);
  const modules = path.join(apps.vite, 'node_modules');
  if (wanted('readme')) {
    t0 = Date.now();
    await readmeBlocks(REPO, modules, browser.context);
    lap('README blocks', t0);
  }
  if (wanted('errors')) {
    t0 = Date.now();
    await loadErrors(modules, apps.vite, browser.context);
    lap('load errors', t0);
  }
  console.log(`e2e-adopt: ${checks.count} checks passed in ${((Date.now() - started) / 1000).toFixed(1)} s `
    + `(attune ${packed.attune.size} bytes packed, attune-models ${packed.models.size})`);
} catch (e) {
  console.error(`e2e-adopt: FAILED after ${checks.count} checks: ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await browser?.close();
  if (argv.includes('--keep')) console.log(`e2e-adopt: kept ${tmp}`);
  else await fs.rm(tmp, { recursive: true, force: true });
}
// A child (a dev server, a browser) left running must not keep a failed run alive until CI times out.
process.exit(process.exitCode ?? 0);
