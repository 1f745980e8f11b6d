// Which pages get which content script, from what the person allowed:
//   bridge.js  (lets the page ask; reads nothing of it): every site the browser gave host access to
//   collect.js (learning): only the sites the person enabled for learning, never sensitive ones
// Registered with chrome.scripting (kept across restarts) and redone whenever access or settings
// change. No host access is asked for at install: the popup asks the browser per site.

import { isSensitive } from './sensitive.js';
import { readSettings } from './settings.js';

let tail = Promise.resolve();

const web = (pattern) => /^(https?|\*):\/\//.test(pattern);

export function syncContentScripts() {
  const run = tail.then(async () => {
    const { origins = [] } = await chrome.permissions.getAll();
    const granted = origins.filter(web);
    const s = await readSettings();
    const learning = Object.entries(s.sites)
      .filter(([origin, v]) => v.learn && !isSensitive(new URL(origin).hostname))
      .map(([origin]) => `${origin}/*`);
    const scripts = [];
    if (granted.length) {
      scripts.push({ id: 'bridge', matches: granted, js: ['bridge.js'], runAt: 'document_start', allFrames: false, persistAcrossSessions: true });
    }
    if (learning.length) {
      scripts.push({ id: 'collect', matches: learning, js: ['collect.js'], runAt: 'document_idle', allFrames: false, persistAcrossSessions: true });
    }
    // Updated in place, not unregistered and registered again: at browser start (onStartup) a
    // page loading in between would get no bridge and find no extension.
    const existing = new Set((await chrome.scripting.getRegisteredContentScripts()).map((c) => c.id));
    const gone = [...existing].filter((id) => !scripts.some((c) => c.id === id));
    if (gone.length) await chrome.scripting.unregisterContentScripts({ ids: gone });
    const kept = scripts.filter((c) => existing.has(c.id));
    if (kept.length) await chrome.scripting.updateContentScripts(kept);
    const added = scripts.filter((c) => !existing.has(c.id));
    if (added.length) await chrome.scripting.registerContentScripts(added);
    return scripts.map((c) => ({ id: c.id, matches: c.matches }));
  });
  tail = run.catch((e) => console.error('attune: registering content scripts failed', e));
  return run;
}
