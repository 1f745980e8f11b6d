// The local test sites of scripts/e2e-extension.mjs, one server on 127.0.0.1 told apart by the
// Host header (the browser maps *.localhost there):
//   site-a  space news, enabled for learning; /login has a password field (never collected)
//   site-b  an astronomy blog (no meta descriptions: the first paragraph is read), enabled
//   site-c  a page that ranks 200 of its own items with Attune.connect(); 100 about cooking come
//           first in its order and in its own local profile, 100 about space: only the profile
//           learned on site-a and site-b can put space first
//   site-d  recipes, never enabled (nothing may be collected); /csp sends script-src 'self'
//   127.0.0.1  site C's page where the extension has no host access (no extension there)
// /attune/ serves pkg/, /models/ the models (site-c's local fallback).

import { createServer } from 'node:http';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { TYPES } from './e2e-lib.mjs';

export const ARTICLES = {
  'site-a': [
    ['/articles/webb-galaxy', 'Webb telescope spots the most distant galaxy yet',
      'Astronomers using the James Webb Space Telescope found a galaxy that formed only 300 million years after the Big Bang.'],
    ['/articles/mars-lake', 'Perseverance confirms an ancient lake on Mars',
      'Radar images from the Mars rover show sediment layers left by a lake that once filled Jezero crater.'],
    ['/articles/solar-maximum', 'The Sun reaches its solar maximum',
      'Sunspots, solar flares and northern lights peak as the Sun turns over its magnetic field in an eleven-year cycle.'],
  ],
  'site-b': [
    ['/posts/first-telescope', 'Choosing a first backyard telescope',
      'A small refractor telescope shows the craters of the Moon, the moons of Jupiter and the rings of Saturn on a clear night.'],
    ['/posts/saturn-rings', 'Photographing Saturn from the city',
      'Planetary imaging with a webcam and a telescope cuts through light pollution to capture Saturn and its rings.'],
    ['/posts/exoplanet-transits', 'Measuring exoplanet transits at home',
      'Amateur astronomers time the dimming of distant stars as orbiting exoplanets pass in front of them.'],
  ],
  'site-d': [
    ['/recipes/sourdough', 'The perfect sourdough starter',
      'Flour, water and patience: feed your sourdough starter every day for a week before baking crusty bread.'],
    ['/recipes/curry', 'A weeknight chickpea curry',
      'Chickpeas simmered with tomatoes, garlic, ginger and garam masala make a quick vegetarian curry.'],
  ],
};
export const LOGIN = ['/login', 'Sign in to read knitting patterns', 'Members get weekly knitting patterns, yarn reviews and crochet lessons by email.'];

const SPACE = [['The James Webb telescope', 'Saturn\'s rings', 'A new exoplanet survey', 'The Artemis Moon mission', 'A Mars rover',
  'A solar flare', 'The Andromeda galaxy', 'A bright comet', 'A neutron star merger', 'The International Space Station'],
['reveals galaxies from the early universe', 'glows in a new infrared image', 'finds a rocky planet around a red dwarf star',
  'trains astronauts for a lunar landing', 'drills into ancient Martian rock', 'lights up auroras around the planet',
  'is seen by amateur astronomers with a small telescope', 'passes close to the Sun this spring',
  'sends gravitational waves across space', 'tests a mirror for the next space telescope']];
const COOKING = [['A sourdough loaf', 'This tomato pasta sauce', 'A vegan curry', 'Grandma\'s apple pie', 'A quick vegetable stir-fry',
  'Homemade ramen broth', 'Crispy roast potatoes', 'A chocolate layer cake', 'Fresh basil pesto', 'Slow-cooked beef stew'],
['needs only five ingredients from the pantry', 'is ready in twenty minutes on a weeknight', 'is cooked in a cast-iron pan',
  'freezes well for busy family dinners', 'gets its flavour from garlic and thyme', 'is a favourite family recipe',
  'starts with slowly caramelized onions', 'bakes in a hot oven until golden', 'uses seasonal vegetables from the market',
  'tastes even better the next day']];

const combos = ([subjects, predicates], prefix) => subjects.flatMap((s, i) => predicates.map((p, j) => ({ id: `${prefix}-${i}${j}`, title: `${s} ${p}` })));
/** Site C's catalog: 100 cooking items first, then 100 about space. */
export const CATALOG = [...combos(COOKING, 'cook'), ...combos(SPACE, 'space')];

function article(title, text, { meta = true, password = false } = {}) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>`
    + (meta ? `<meta name="description" content="${text}">` : '')
    + `</head><body><main><article><h1>${title}</h1><p>${text}</p><p>More words follow here for a reader who stays a while.</p>`
    + (password ? '<form><label>Email <input type="email"></label><label>Password <input type="password"></label><button>Sign in</button></form>' : '')
    + '</article></main></body></html>';
}

const SITE_C = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Site C: things to read</title></head>
<body><h1>Things to read</h1><ul id="list"></ul>
<script type="module">import { Attune } from '/attune/index.js'; window.Attune = Attune; window.attuneLoaded = true;</script></body></html>`;

const SCRIPT_TAG = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Site C with the script tag</title>
<script src="/attune/attune.js"></script></head><body></body></html>`;

const CSP_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>CSP without wasm-unsafe-eval</title></head>
<body><script type="module" src="/csp.js"></script></body></html>`;
const CSP_SCRIPT = `import { Attune } from '/attune/index.js';
Attune.open({ namespace: 'csp', embedder: { url: '/models/minilm-l6-v2.q8_0.gguf' }, worker: false })
  .then(() => { window.cspResult = { opened: true }; }, (e) => { window.cspResult = { code: e.code, message: e.message }; });`;

/** Starts the sites; resolves to { port, origin(site), close() }. */
export async function startSites({ pkg, models }) {
  const server = createServer(async (req, res) => {
    const host = (req.headers.host || '').split('.')[0];
    const p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const html = (body, headers = {}) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(body);
    for (const [dir, prefix] of [[pkg, '/attune/'], [models, '/models/']]) {
      if (!p.startsWith(prefix)) continue;
      const file = path.join(dir, p.slice(prefix.length));
      if (!file.startsWith(dir + path.sep)) return res.writeHead(403).end();
      try {
        const st = await fs.stat(file);
        res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'content-length': st.size, 'cache-control': 'no-store' });
        return createReadStream(file).pipe(res);
      } catch { return res.writeHead(404).end(); }
    }
    if (host === 'site-c' && p === '/script-tag') return html(SCRIPT_TAG);
    // 127.0.0.1 itself: a page where the extension has no access (no bridge, so no extension).
    if ((host === 'site-c' || host === '127') && p === '/') return html(SITE_C);
    if ((host === 'site-c' || host === '127') && p === '/items.json') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(CATALOG));
    if (host === 'site-d' && p === '/csp') return html(CSP_PAGE, { 'content-security-policy': "script-src 'self'" });
    if (host === 'site-d' && p === '/csp.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(CSP_SCRIPT);
    if (host === 'site-a' && p === LOGIN[0]) return html(article(LOGIN[1], LOGIN[2], { password: true }));
    const a = (ARTICLES[host] ?? []).find(([u]) => u === p);
    if (a) return html(article(a[1], a[2], { meta: host !== 'site-b' }));
    res.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { port, origin: (site) => `http://${site}.localhost:${port}`, close: () => server.close() };
}
