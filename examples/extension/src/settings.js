// The person's choices, in chrome.storage (they survive the service worker and the browser
// restarting): `paused`, `sites` (origin → { learn, since }) and `consents` (origin →
// { decision: 'allow' | 'deny', at }) in storage.local; "allow once" grants in storage.session
// (origin → document ids), gone when the browser closes. Changes run one after another.

let tail = Promise.resolve();

/** The settings as stored, with defaults. */
export async function readSettings() {
  const s = await chrome.storage.local.get(['paused', 'sites', 'consents']);
  return { paused: !!s.paused, sites: s.sites ?? {}, consents: s.consents ?? {} };
}

/** Applies `change(settings)` (which edits it in place) and stores the result. */
export function updateSettings(change) {
  const run = tail.then(async () => {
    const s = await readSettings();
    const value = await change(s);
    await chrome.storage.local.set(s);
    return value;
  });
  tail = run.catch(() => {});
  return run;
}

export async function onceGranted(origin, documentId) {
  if (!documentId) return false;
  const { once = {} } = await chrome.storage.session.get('once');
  return (once[origin] ?? []).includes(documentId);
}

export function grantOnce(origin, documentIds) {
  const run = tail.then(async () => {
    const { once = {} } = await chrome.storage.session.get('once');
    once[origin] = [...new Set([...(once[origin] ?? []), ...documentIds.filter(Boolean)])].slice(-50);
    await chrome.storage.session.set({ once });
  });
  tail = run.catch(() => {});
  return run;
}

export function revokeOnce(origin) {
  const run = tail.then(async () => {
    const { once = {} } = await chrome.storage.session.get('once');
    delete once[origin];
    await chrome.storage.session.set({ once });
  });
  tail = run.catch(() => {});
  return run;
}
