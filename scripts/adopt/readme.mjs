// Every code block of the package README (node_modules/attune/README.md, as packed), run in
// headless Chromium against the installed package, so the docs cannot rot. How a block is run
// depends on its fence's info string:
//   js                  an ES module on a page whose import map resolves `attune` and
//                       `attune-models` to the installed packages. A block without its own
//                       `import … from 'attune'` gets `import { Attune, AttuneError } from
//                       'attune'`; one that declares no `attune` also gets `const attune = await
//                       Attune.open({ namespace: 'readme' })` (closed after it). The page defines
//                       `items` (300 feed items { id, title, tags }), `out` and `render(list)`.
//                       It passes when it settles without throwing, a console error or a failed
//                       console.assert.
//   js file=NAME        a file of an app: scripts/adopt/load-errors.mjs writes vite.config.js
//                       from it and checks that the Vite dev server then works
//   html                a whole page served beside /attune/ and /attune-models/; it passes when
//                       it logs with console.log and nothing fails
//   LANG no-run: WHY    not run, with the reason (at least three words); anything else fails
// The README's sha256 strings must be those of models.json, its CSP headers those that
// scripts/e2e-strict.mjs serves, and its Troubleshooting table must name every error code
// (index.d.ts, errors.js, the Rust core's src/error.rs).

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ok } from '../e2e-lib.mjs';
import { makeFeed, serve } from './lib.mjs';

const IMPORT_MAP = '<script type="importmap">{"imports":{"attune":"/node_modules/attune/index.js","attune-models":"/node_modules/attune-models/index.js"}}</script>';
const HEAD = '<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>readme</title>';

/** The fenced blocks of a Markdown text: { info, code, line, section }. */
export function parseBlocks(text) {
  const blocks = [];
  let section = '';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heading = /^#{1,4} (.*)/.exec(lines[i]);
    if (heading) section = heading[1];
    const fence = /^```(.*)$/.exec(lines[i]);
    if (!fence) continue;
    const start = i;
    const body = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    blocks.push({ info: fence[1].trim(), code: body.join('\n') + '\n', line: start + 1, section });
  }
  return blocks;
}

function runnerPage() {
  return `${HEAD}${IMPORT_MAP}</head><body><div id="out"></div><ol id="list"></ol>
<script type="module">
window.items = (${makeFeed.toString()})();
window.out = document.getElementById('out');
window.render = (list) => document.getElementById('list').replaceChildren(...list.map((r) => Object.assign(document.createElement('li'), { textContent: r.id })));
const n = new URLSearchParams(location.search).get('n');
import('/block/' + n + '.js').then(() => { document.title = 'block-done'; },
  (e) => { window.blockError = (e && e.code ? e.code + ': ' : '') + (e && e.name) + ': ' + (e && e.message); document.title = 'block-failed'; });
</script></body></html>`;
}

/** A js block as the module the runner page imports (the harness lines around it). */
function moduleSource(code) {
  const head = [];
  let tail = '';
  if (!/from\s+['"]attune['"]/.test(code)) head.push("import { Attune, AttuneError } from 'attune';");
  if (!/\b(const|let|var)\s+attune\b/.test(code)) {
    head.push("const attune = await Attune.open({ namespace: 'readme' });");
    tail = '\nattune.close();\n';
  }
  return `${head.join('\n')}\n${code}${tail}`;
}

async function runBlock(context, origin, block, n) {
  const page = await context.newPage();
  const problems = [];
  const logs = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'assert') problems.push(`console.${m.type()}: ${m.text()}`);
    else if (m.type() === 'log') logs.push(m.text());
  });
  const t0 = Date.now();
  try {
    if (block.kind === 'js') {
      await page.goto(`${origin}/?n=${n}`);
      await page.waitForFunction(() => document.title.startsWith('block-'), null, { timeout: 180_000 });
      const failed = await page.evaluate(() => window.blockError ?? null);
      if (failed) problems.push(failed);
    } else {
      await page.goto(`${origin}/page/${n}.html`);
      await page.waitForFunction(() => window.__logged, null, { timeout: 180_000 }).catch(() => problems.push('the page logged nothing'));
    }
    await new Promise((r) => setTimeout(r, 100)); // a last console message
  } catch (e) {
    problems.push(e.message.split('\n')[0]);
  } finally {
    await page.close();
  }
  const where = `README line ${block.line} (${block.section}, \`\`\`${block.info})`;
  ok(problems.length === 0, `${where} runs in ${((Date.now() - t0) / 1000).toFixed(1)} s${logs.length ? `, logs ${JSON.stringify(logs.join(' | ').slice(0, 160))}` : ''}${problems.length ? `: ${problems.join('; ')}` : ''}`);
}

/** The error codes the package and the core can raise. */
async function allCodes(repo, modules) {
  const codes = new Set();
  const dts = await fs.readFile(path.join(modules, 'attune/index.d.ts'), 'utf8');
  const union = /export type AttuneErrorCode =([^;]+);/.exec(dts)[1];
  for (const m of union.matchAll(/'([a-z_]+)'/g)) codes.add(m[1]);
  const rust = await fs.readFile(path.join(repo, 'src/error.rs'), 'utf8').catch(() => '');
  for (const m of rust.matchAll(/=> "([a-z_]+)"/g)) codes.add(m[1]);
  const js = await fs.readFile(path.join(repo, 'pkg-template/errors.js'), 'utf8');
  for (const m of js.matchAll(/: '([a-z_]+)',/g)) codes.add(m[1]);
  return codes;
}

export async function readmeBlocks(repo, modules, context) {
  const readme = await fs.readFile(path.join(modules, 'attune/README.md'), 'utf8');
  const source = await fs.readFile(path.join(repo, 'pkg-template/README.md'), 'utf8');
  ok(readme === source, 'the packed README is pkg-template/README.md');

  // Hard-coded hashes are those the package pins.
  const models = JSON.parse(await fs.readFile(path.join(modules, 'attune/models.json'), 'utf8'));
  const pinned = new Set(Object.values(models.files).map((f) => f.sha256));
  const hashes = [...readme.matchAll(/\b[0-9a-f]{64}\b/g)].map((m) => m[0]);
  ok(hashes.length > 0 && hashes.every((h) => pinned.has(h)), `the README's ${hashes.length} sha256 strings are in models.json`);

  // Troubleshooting names every code (the core's gpu_unavailable reaches pages as `device`).
  const trouble = readme.slice(readme.indexOf('## Troubleshooting'));
  const codes = [...await allCodes(repo, modules)].filter((c) => c !== 'gpu_unavailable');
  const missing = codes.filter((c) => !trouble.includes(`| \`${c}\` |`));
  ok(missing.length === 0 && trouble.includes('gpu_unavailable'), `Troubleshooting has a row for each of the ${codes.length} error codes ${missing.length ? `(missing ${missing.join(', ')})` : ''}`);

  const blocks = parseBlocks(readme);
  // The CSP headers shown are those scripts/e2e-strict.mjs serves to its passing cases.
  const strict = await fs.readFile(path.join(repo, 'scripts/e2e-strict.mjs'), 'utf8').catch(() => null);
  const shown = blocks.filter((b) => b.info.startsWith('http')).flatMap((b) => [...b.code.matchAll(/^Content-Security-Policy: (.*)$/gm)].map((m) => m[1]));
  if (strict) {
    const csp = /^const CSP = "([^"]+)";/m.exec(strict)[1];
    const served = [csp, `${csp}; require-trusted-types-for 'script'; trusted-types attune`];
    ok(shown.length === 2 && shown.every((h) => served.includes(h)) && strict.includes("require-trusted-types-for 'script'; trusted-types attune` }"),
      `the README's ${shown.length} CSP headers are those scripts/e2e-strict.mjs serves`);
  }
  const kinds = { js: 0, html: 0, file: 0, 'no-run': 0 };
  for (const b of blocks) {
    if (b.info === 'js' || b.info === 'html') b.kind = b.info;
    else if (/^js file=[\w.-]+$/.test(b.info)) b.kind = 'file';
    else if (/^\w+ no-run: \S+ \S+ \S+/.test(b.info)) b.kind = 'no-run';
    ok(b.kind, `README line ${b.line}: \`\`\`${b.info} is js, html, js file=NAME or tagged no-run with a reason`);
    kinds[b.kind]++;
  }
  const fileBlocks = blocks.filter((b) => b.kind === 'file').map((b) => b.info.slice('js file='.length));
  ok(fileBlocks.every((f) => f === 'vite.config.js'), `file blocks are ones the test uses (${fileBlocks.join(', ') || 'none'}: scripts/adopt/load-errors.mjs)`);
  console.log(`  README: ${blocks.length} blocks: ${Object.entries(kinds).map(([k, v]) => `${v} ${k}`).join(', ')}`);

  const runnable = blocks.filter((b) => b.kind === 'js' || b.kind === 'html');
  const srv = await serve({
    '/node_modules/': modules,
    '/attune/': path.join(modules, 'attune'),
    '/attune-models/': path.join(modules, 'attune-models'),
    '/models/': path.join(modules, 'attune-models'),
  }, {
    special: (p) => {
      if (p === '/') return { type: 'text/html', body: runnerPage() };
      const m = /^\/(block|page)\/(\d+)\.(js|html)$/.exec(p);
      if (!m) return null;
      const b = runnable[Number(m[2])];
      if (!b) return { status: 404, type: 'text/plain', body: 'no such block\n' };
      if (m[1] === 'block') return { type: 'text/javascript', body: moduleSource(b.code) };
      // An html block: its page, told apart when it logs.
      return { type: 'text/html', body: `${HEAD}<script>{ const log = console.log; console.log = (...a) => { window.__logged = true; log(...a); }; }</script></head><body>\n${b.code}</body></html>` };
    },
  });
  try {
    for (const [n, b] of runnable.entries()) await runBlock(context, srv.origin, b, n);
  } finally {
    await srv.close();
  }
}
