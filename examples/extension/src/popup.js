// The popup: the person's profile (topics, recent items per site, memories), per-site learning,
// the global pause, the consent list with revoke, forget an item / a site / a topic, export,
// import, clear. Everything goes through the service worker's `admin` messages; only native
// controls, each with a name a screen reader reads, and a live status line.

import { SENSITIVE_SUMMARY } from './sensitive.js';

const $ = (id) => document.getElementById(id);
const status = (text) => { $('status').textContent = text; };

async function admin(op, ...args) {
  const r = await chrome.runtime.sendMessage({ kind: 'admin', op, args });
  if (!r) throw new Error('the extension did not answer');
  if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
  return r.value;
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'aria-label') e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...children);
  return e;
}

/** A button that runs `action`, says what happened, and redraws. */
const actionButton = (label, name, action, done) => el('button', {
  type: 'button', textContent: label, 'aria-label': name,
  onclick: async () => {
    try { const v = await action(); status(done(v)); } catch (e) { status(`Failed: ${e.message}`); }
    await render();
  },
});

const titleOf = (text, id) => (text ? text.split(/(?<=[.!?])\s/)[0].replace(/\.$/, '') : id);
const originOf = (id) => { try { return new URL(id).origin; } catch { return 'other'; } };
const forgotten = (r) => `Forgot ${r.removed} ${r.removed === 1 ? 'entry' : 'entries'}${r.exact ? '' : ' (some older influence was already merged and stays)'}.`;

const ANY_SITE = ['http://*/*', 'https://*/*'];
const sitePattern = (origin) => `${new URL(origin).protocol}//${new URL(origin).hostname}/*`;

/** Stops learning on `origin` and gives back the browser's access to it (unless another enabled
 * site on that host still needs it, or the person let any site ask). */
async function removeSite(origin, state) {
  await admin('removeSite', origin);
  const pattern = sitePattern(origin);
  const shared = state.sites.some((s) => s.origin !== origin && sitePattern(s.origin) === pattern);
  if (!shared) await chrome.permissions.remove({ origins: [pattern] }).catch(() => false);
}

async function render() {
  const state = await admin('state');
  $('paused').checked = state.paused;
  const anySite = ANY_SITE.every((p) => state.hostAccess.includes(p));
  $('any-site').textContent = anySite ? 'Stop letting every site ask' : 'Let any site ask to personalize';
  $('any-site').dataset.granted = String(anySite);

  $('sites').replaceChildren(...state.sites.map((s) => {
    const host = new URL(s.origin).host;
    const learn = el('input', { type: 'checkbox', checked: s.learn, disabled: s.sensitive, 'aria-label': `Learn from ${host}`,
      onchange: async (e) => { await admin('setLearn', s.origin, e.target.checked); status(`${e.target.checked ? 'Learning' : 'Not learning'} on ${host}.`); } });
    return el('li', {},
      el('label', {}, learn, ` ${host}${s.sensitive ? ' (sensitive: never)' : ''}`),
      el('span', { className: 'row' },
        actionButton('Forget', `Forget what you read on ${host}`, () => admin('forgetSite', s.origin), forgotten),
        actionButton('Remove', `Stop learning from ${host}`, () => removeSite(s.origin, state), () => `Removed ${host}.`)));
  }));
  if (!state.sites.length) $('sites').append(el('li', { textContent: 'None yet.' }));

  $('consents').replaceChildren(...state.consents.map((c) => {
    const host = new URL(c.origin).host;
    return el('li', {},
      el('span', { textContent: `${host}: ${c.decision === 'allow' ? 'allowed' : 'denied'}` }),
      actionButton('Revoke', `Revoke ${host}`, () => admin('revoke', c.origin), () => `${host} will ask again.`));
  }));
  if (!state.consents.length) $('consents').append(el('li', { textContent: 'No site has asked yet.' }));

  if (!$('topics').children.length) $('topics').append(el('li', { textContent: 'Loading…' }));
  let overview;
  try {
    overview = await admin('overview');
  } catch (e) {
    status(`The profile could not be read: ${e.message}`);
    return;
  }
  const { profile, topics } = overview;
  $('topics').replaceChildren(...topics.map((t) => el('li', {},
    el('span', { textContent: `${t.label} (${Math.round(t.weight * 100)}%)` }),
    actionButton('Forget', `Forget the topic ${t.label}`, () => admin('forgetTopic', t.label), forgotten))));
  if (!topics.length) $('topics').append(el('li', { textContent: 'Nothing learned yet.' }));

  const bySite = new Map();
  for (const r of profile.recent) {
    const o = originOf(r.id);
    if (!bySite.has(o)) bySite.set(o, []);
    bySite.get(o).push(r);
  }
  $('recent').replaceChildren(...[...bySite].map(([origin, items]) => {
    const host = origin === 'other' ? 'Other' : new URL(origin).host;
    const id = `recent-${host.replace(/[^a-z0-9]/gi, '-')}`;
    return el('div', {}, el('h3', { id, textContent: host }),
      el('ul', { 'aria-label': `Read on ${host}` }, ...items.map((r) => {
        const title = titleOf(r.text, r.id);
        return el('li', {}, el('span', { textContent: title }),
          actionButton('Forget', `Forget “${title}”`, () => admin('forgetItem', r.id), forgotten));
      })));
  }));
  if (!profile.recent.length) $('recent').append(el('p', { textContent: 'Nothing yet.' }));

  $('memories').replaceChildren(...profile.memories.map((m) => el('li', {}, el('span', { textContent: m.text }),
    actionButton('Forget', `Forget the memory “${m.text}”`, () => admin('forgetMemory', m.id), forgotten))));
  if (!profile.memories.length) $('memories').append(el('li', { textContent: 'None.' }));
}

$('sensitive').textContent = SENSITIVE_SUMMARY;

$('paused').addEventListener('change', async (e) => {
  await admin('setPaused', e.target.checked);
  status(e.target.checked ? 'Learning is paused everywhere.' : 'Learning again on the sites you enabled.');
});

$('add-site').addEventListener('submit', async (e) => {
  e.preventDefault();
  let origin;
  try { origin = new URL($('site-url').value).origin; } catch { status('That is not a site address.'); return; }
  // The browser's own prompt for this one site (needs this click); ports do not matter to it.
  const u = new URL(origin);
  const granted = await chrome.permissions.request({ origins: [`${u.protocol}//${u.hostname}/*`] }).catch(() => false);
  if (!granted) { status(`No access to ${u.host}: nothing changed.`); return; }
  try {
    await admin('addSite', origin, true);
    status(`Learning from ${u.host}.`);
    $('site-url').value = '';
  } catch (err) {
    status(`Failed: ${err.message}`);
  }
  await render();
});

$('any-site').addEventListener('click', async () => {
  if ($('any-site').dataset.granted === 'true') {
    const removed = await chrome.permissions.remove({ origins: ANY_SITE }).catch(() => false);
    status(removed ? 'Only the sites you turned on can ask now.' : 'Nothing changed.');
  } else {
    const granted = await chrome.permissions.request({ origins: ANY_SITE }).catch(() => false);
    status(granted ? 'Any site can now ask; each one asks you first.' : 'Nothing changed.');
  }
  await render();
});

$('export').addEventListener('click', async () => {
  try {
    const text = await admin('export');
    const a = el('a', { href: URL.createObjectURL(new Blob([text], { type: 'application/json' })),
      download: `attune-profile-${new Date().toISOString().slice(0, 10)}.json` });
    a.click();
    status('Exported.');
  } catch (e) { status(`Failed: ${e.message}`); }
});

$('import').addEventListener('change', async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  try {
    await admin('import', await file.text());
    status('Imported.');
  } catch (err) { status(`Import failed, nothing changed: ${err.message}`); }
  e.target.value = '';
  await render();
});

$('clear').addEventListener('click', async () => {
  if (!confirm('Delete everything Attune learned? Your site settings stay.')) return;
  try { await admin('clear'); status('Cleared.'); } catch (e) { status(`Failed: ${e.message}`); }
  await render();
});

// The site of the tab the popup was opened on (activeTab), ready to enable.
chrome.tabs?.query({ active: true, currentWindow: true }).then(([tab]) => {
  if (tab?.url && /^https?:/.test(tab.url) && !$('site-url').value) $('site-url').value = new URL(tab.url).origin;
}).catch(() => {});

render().catch((e) => status(`Failed: ${e.message}`));
