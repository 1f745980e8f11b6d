// Fresh apps as a web developer makes them: a Vite app (TypeScript, type-checked) and a webpack 5
// app with no configuration, each with the bundler versions pinned in examples/*/package-lock.json,
// `npm install ./attune-models-*.tgz ./attune-*.tgz` as a user would, built, served, and in
// headless Chromium `Attune.open({ namespace: 'x' })` with no model options tracks, ranks 300
// items (with reasons) and streams a short assistant reply.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ok } from '../e2e-lib.mjs';
import { NPM_FLAGS, makeFeed, run, serve } from './lib.mjs';

const PAGE_BODY = '<output id="status">loading…</output><pre id="result"></pre>';

/** The app's code: a feed, and `window.adopt.flow()` that the test calls. `ts` adds the types
 * a TypeScript app would need (the rest is the same code). */
function appSource(ts) {
  const win = ts ? '(window as unknown as { adopt: unknown })' : 'window';
  const any = ts ? ': string[]' : '';
  return `import { Attune } from 'attune';

const makeFeed = ${makeFeed.toString()};
const items = makeFeed();

async function flow(worker = true) {
  const t0 = performance.now();
  const progress${any} = [];
  // No model options: the default models come from the attune-models package.
  const attune = await Attune.open({ namespace: 'x', worker, onProgress: (e) => progress.push(e.model + ':' + e.phase) });
  try {
    await attune.clear();
    const opened = performance.now() - t0;
    const liked = items.filter((i) => i.tags[0] === 'cycling').slice(0, 5);
    for (const item of liked) await attune.track({ type: 'like', item });
    const r0 = performance.now();
    const ranked = await attune.rank(items, { limit: 20 });
    const rankMs = performance.now() - r0;
    const pieces${any} = [];
    const stream = attune.assistant.reply([{ role: 'user', content: 'What should I read this weekend?' }], { maxTokens: 8 });
    const c0 = performance.now();
    for await (const piece of stream) pieces.push(piece);
    const replyMs = performance.now() - c0;
    const info = await attune.info();
    return { ranked, pieces, stats: stream.stats(), info, progress, opened, rankMs, replyMs };
  } finally {
    attune.close();
  }
}

${win}.adopt = { flow };
document.getElementById('status')!.textContent = 'ready';
`.replace(ts ? /$^/ : /!\.textContent/, '.textContent');
}

const APPS = {
  vite: {
    example: 'examples/vite-app',
    async write(dir) {
      await fs.mkdir(path.join(dir, 'src'), { recursive: true });
      await fs.writeFile(path.join(dir, 'index.html'), `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>fresh vite app</title></head>\n<body>${PAGE_BODY}<script type="module" src="/src/main.ts"></script></body></html>\n`);
      await fs.writeFile(path.join(dir, 'src/main.ts'), appSource(true));
    },
    async build(dir) {
      await run('npx', ['--no-install', 'tsc', '--noEmit'], { cwd: dir });
      ok(true, 'vite app: tsc --noEmit accepts Attune.open({ namespace }) with no model options');
      await run('npx', ['--no-install', 'vite', 'build', '--logLevel', 'error'], { cwd: dir });
      return path.join(dir, 'dist');
    },
  },
  webpack: {
    example: 'examples/webpack-app',
    async write(dir) {
      await fs.mkdir(path.join(dir, 'src'), { recursive: true });
      await fs.writeFile(path.join(dir, 'index.html'), `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>fresh webpack app</title><script defer src="main.js"></script></head>\n<body>${PAGE_BODY}</body></html>\n`);
      await fs.writeFile(path.join(dir, 'src/index.js'), appSource(false));
    },
    async build(dir) {
      await run('npx', ['--no-install', 'webpack', '--mode', 'production', '--entry', './src/index.js', '--output-path', 'dist', '--no-stats'], { cwd: dir });
      await fs.copyFile(path.join(dir, 'index.html'), path.join(dir, 'dist/index.html'));
      return path.join(dir, 'dist');
    },
  },
};

/** A fresh app in `dir`: package.json with the example's pinned bundler, its lock file without
 * the example's link to pkg/, then the two tarballs installed. */
async function createApp(repo, name, dir, tarballs) {
  const app = APPS[name];
  const example = path.join(repo, app.example);
  const pkg = JSON.parse(await fs.readFile(path.join(example, 'package.json'), 'utf8'));
  const lock = JSON.parse(await fs.readFile(path.join(example, 'package-lock.json'), 'utf8'));
  const fresh = { name: `fresh-${name}-app`, private: true, version: '0.0.0', type: 'module', devDependencies: pkg.devDependencies };
  for (const k of Object.keys(lock.packages)) if (k === 'node_modules/attune' || !k.startsWith('node_modules/') && k !== '') delete lock.packages[k];
  lock.name = fresh.name;
  lock.packages[''] = { name: fresh.name, version: '0.0.0', devDependencies: pkg.devDependencies };
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'package.json'), JSON.stringify(fresh, null, 2) + '\n');
  await fs.writeFile(path.join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2) + '\n');
  if (name === 'vite') await fs.copyFile(path.join(example, 'tsconfig.json'), path.join(dir, 'tsconfig.json'));
  await app.write(dir);
  const t0 = Date.now();
  await run('npm', ['install', ...NPM_FLAGS, tarballs.models, tarballs.attune], { cwd: dir });
  const installed = JSON.parse(await fs.readFile(path.join(dir, 'package.json'), 'utf8'));
  ok(installed.dependencies?.attune?.startsWith('file:') && installed.dependencies?.['attune-models']?.startsWith('file:'),
    `${name} app: npm install ./attune-models-*.tgz ./attune-*.tgz (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  const lockAfter = JSON.parse(await fs.readFile(path.join(dir, 'package-lock.json'), 'utf8'));
  const bundler = name === 'vite' ? 'vite' : 'webpack';
  ok(lockAfter.packages[`node_modules/${bundler}`].version === pkg.devDependencies[bundler], `${name} app: ${bundler} ${pkg.devDependencies[bundler]} as pinned`);
  const t1 = Date.now();
  const dist = await app.build(dir);
  const emitted = await fs.readdir(dist, { recursive: true });
  const ggufs = emitted.filter((f) => f.endsWith('.gguf'));
  ok(ggufs.length === 2, `${name} app: built in ${((Date.now() - t1) / 1000).toFixed(1)} s; the bundler emitted both models (${ggufs.join(', ')})`);
  return { dir, dist };
}

/** The page of a built app, driven in Chromium: open with no model options, rank, reply (in
 * the worker; with `inPage` also with { worker: false }). */
async function checkApp(context, name, dist, sizes, inPage) {
  const srv = await serve({ '/': dist });
  const requests = [];
  const onRequest = (r) => requests.push(r.url());
  context.on('request', onRequest);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`  page error: ${e.message}`));
  try {
    await page.goto(srv.origin + '/');
    await page.waitForSelector('#status:text-is("ready")', { timeout: 60_000 });
    for (const worker of inPage ? [true, false] : [true]) await checkFlow(page, worker ? `${name} app` : `${name} app, { worker: false }`, sizes, worker);
    const ggufs = requests.filter((u) => u.endsWith('.gguf'));
    ok(ggufs.length === 2 && ggufs.every((u) => u.startsWith(srv.origin + '/')), `${name} app: the models came from the app's own build, once (${ggufs.map((u) => u.slice(srv.origin.length)).join(', ')})`);
  } finally {
    context.off('request', onRequest);
    await page.close();
    await srv.close();
  }
}

async function checkFlow(page, name, sizes, worker) {
  {
    const r = await page.evaluate((w) => window.adopt.flow(w).catch((e) => ({ error: `${e.code}: ${e.message}` })), worker);
    ok(!r.error, `${name}: Attune.open({ namespace: 'x' }) with no model options, track, rank, reply ${r.error ?? ''}`);
    const ids = r.ranked.map((x) => x.id);
    const top = ids.slice(0, 10);
    const cycling = top.filter((id) => id.startsWith('cycling-')).length;
    ok(ids.length === 20 && cycling >= 7, `${name}: 300 items ranked in ${Math.round(r.rankMs)} ms; the liked topic leads (${cycling} of the top 10 cycling: ${top.join(' ')})`);
    const withReasons = r.ranked.slice(0, 5).filter((x) => x.reasons.length > 0 && x.reasons.every((y) => typeof y.text === 'string' && y.text.length > 0));
    ok(withReasons.length === 5, `${name}: each of the top 5 has reasons, e.g. "${r.ranked[0].reasons.map((y) => y.text).join('; ')}"`);
    ok(r.pieces.length >= 1 && r.stats.generatedTokens >= 1 && r.stats.generatedTokens <= 8,
      `${name}: the assistant streamed ${r.pieces.length} pieces, ${r.stats.generatedTokens} tokens in ${Math.round(r.replyMs)} ms: ${JSON.stringify(r.pieces.join(''))}`);
    ok(/minilm/i.test(r.info.embedder.name) && r.info.assistant.loaded && /smollm/i.test(r.info.assistant.name),
      `${name}: info() names the default models (${r.info.embedder.name}, ${r.info.assistant.name})`);
    const { modelBytes, modelFiles, modelStore } = r.info.storage;
    ok(modelStore === 'cache-api' && modelFiles === 2 && modelBytes === sizes,
      `${name}: info().storage: ${modelFiles} model files, ${modelBytes} bytes kept in ${modelStore}`);
  }
}

/** Creates, builds and checks both apps; resolves to the Vite app's folder (its node_modules
 * hold the installed packages, which the other parts of the test serve). */
export async function freshApps(repo, tmp, tarballs, context, only) {
  const dirs = {};
  const manifest = JSON.parse(await fs.readFile(path.join(repo, 'pkg/models.json'), 'utf8'));
  const sizes = Object.values(manifest.defaults).reduce((n, f) => n + manifest.files[f].size, 0);
  for (const name of Object.keys(APPS)) {
    if (only && !only.includes(name) && name !== 'vite') continue;
    const { dir, dist } = await createApp(repo, name, path.join(tmp, `${name}-app`), tarballs);
    dirs[name] = dir;
    if (!only || only.includes(name)) await checkApp(context, name, dist, sizes, name === 'vite');
  }
  return dirs;
}
