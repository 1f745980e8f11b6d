// What the adoption test's parts share: running npm, a small HTTP server with per-path
// overrides, and the feed of 300 items the pages rank.

import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TYPES } from '../e2e-lib.mjs';

export const NPM_CACHE = path.join(os.homedir(), '.cache/attune/npm');
export const NPM_FLAGS = ['--cache', NPM_CACHE, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

/** Runs a command; resolves to its stdout, rejects with its output when it fails. */
export function run(cmd, args, { cwd, quiet = true } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_UPDATE_NOTIFIER: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; if (!quiet) process.stdout.write(d); });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${code}:\n${out.slice(-3000)}\n${err.slice(-3000)}`))));
  });
}

const MIME = { ...TYPES, '.gguf': 'application/octet-stream', '.ts': 'text/javascript' };

/**
 * A server on 127.0.0.1 (a free port): `routes` maps a path prefix to a directory (the longest
 * prefix wins); `special(pathname)` may answer a path itself with { status, type, body }
 * (the broken servers of the failure cases); `headers` go on every response.
 */
export async function serve(routes, { headers = {}, special = () => null } = {}) {
  const prefixes = Object.keys(routes).sort((a, b) => b.length - a.length);
  const server = createServer(async (req, res) => {
    const p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const send = (status, type, body) => res.writeHead(status, { ...headers, 'content-type': type, 'cache-control': 'no-store' }).end(body);
    const own = special(p, req);
    if (own) return send(own.status ?? 200, own.type, own.body);
    const prefix = prefixes.find((x) => p.startsWith(x));
    if (!prefix) return send(404, 'text/plain', 'not found\n');
    const dir = routes[prefix];
    let file = path.join(dir, p.slice(prefix.length));
    if (file !== dir && !file.startsWith(dir + path.sep)) return send(403, 'text/plain', 'forbidden\n');
    try {
      let st = await fs.stat(file);
      if (st.isDirectory()) { file = path.join(file, 'index.html'); st = await fs.stat(file); }
      res.writeHead(200, { ...headers, 'content-type': MIME[path.extname(file)] || 'application/octet-stream', 'content-length': st.size, 'cache-control': 'no-store' });
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).pipe(res);
    } catch {
      send(404, 'text/plain', 'not found\n');
    }
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}

/** A port free on 127.0.0.1 now (for a server started by another program). */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** 300 items of six topics (50 each), as a page's feed; runs in the browser too (toString). */
export function makeFeed() {
  const TOPICS = {
    cycling: ['road bike', 'gravel bike', 'bike helmet', 'cycling shoes', 'bike lights', 'bicycle saddle', 'bike chain', 'tubeless tyres', 'indoor bike trainer', 'cycling jersey'],
    cooking: ['sourdough bread', 'tomato pasta sauce', 'vegetable curry', 'chef knife', 'roast chicken', 'pizza dough', 'winter soup', 'fresh ravioli', 'spice rack', 'chocolate cake'],
    finance: ['index fund', 'government bond', 'mortgage', 'company balance sheet', 'savings account', 'stock market', 'household budget', 'dividend stock', 'credit card', 'retirement plan'],
    gardening: ['tomato plants', 'rose bush', 'compost heap', 'shade plants', 'seed trays', 'lettuce bed', 'wildflower meadow', 'garden hose', 'raised vegetable bed', 'houseplants'],
    astronomy: ['small telescope', 'solar eclipse', 'star nebula', 'Andromeda galaxy', 'meteor shower', 'black hole', 'Milky Way photo', 'moons of Jupiter', 'stargazing binoculars', 'nearest star'],
    music: ['jazz trio', 'electric guitar', 'piano lessons', 'vinyl records', 'string quartet', 'concert tickets', 'drum kit', 'music festival', 'violin bow', 'studio headphones'],
  };
  const FORMS = ['A beginner guide to the {s}', 'How to choose a {s}', 'Ten things to know about the {s}', 'Our review of the {s}', 'What experts say about the {s}'];
  return Object.entries(TOPICS).flatMap(([topic, subjects]) =>
    subjects.flatMap((s, i) => FORMS.map((f, j) => ({ id: `${topic}-${i * FORMS.length + j}`, title: f.replace('{s}', s), tags: [topic] }))));
}
