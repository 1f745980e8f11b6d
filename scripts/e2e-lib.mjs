// What the end-to-end scripts (e2e.mjs, e2e-strict.mjs) share: the content types they serve and
// the browser they drive (Debian's Chromium through playwright-core, in a throwaway profile,
// with Chromium's own background traffic switched off).
//   --chromium PATH (or CHROMIUM=PATH; default /usr/bin/chromium), --headed

import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.css': 'text/css' };

const argv = process.argv;
const chromiumPath = argv.includes('--chromium') ? argv[argv.indexOf('--chromium') + 1] : (process.env.CHROMIUM || '/usr/bin/chromium');
const headed = argv.includes('--headed');
const ARGS = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A persistent context in a fresh temporary profile; `close()` also removes the profile. */
export async function launch(extraArgs = []) {
  const { chromium } = await import('playwright-core');
  const userDataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'attune-e2e-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath,
      headless: !headed,
      args: [...ARGS, ...extraArgs],
    });
  } catch (e) {
    await fs.rm(userDataDir, { recursive: true, force: true });
    throw e;
  }
  return {
    context,
    async close() {
      await context.close();
      await fs.rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** A named check: logged, counted (`checks.count`), and thrown when it fails. */
export const checks = { count: 0 };
export function ok(cond, what) {
  if (!cond) console.error(`  FAILED ${what}`);
  assert.ok(cond, what);
  checks.count++;
  console.log(`  ok ${what}`);
}
