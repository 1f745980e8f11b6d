// The service worker's way to the offscreen document that runs the SDK: made on first use (one
// per extension), then messages `{ target: 'offscreen', op, args }`. A closed or crashed document
// is made again by the next call; the profile is in IndexedDB, so nothing is lost.

import { PageError } from './page-answers.js';

const URL_ = 'offscreen.html';
let creating = null;

async function ensureOffscreen() {
  const open = await chrome.runtime.getContexts({ contextTypes: ['OFFSCREEN_DOCUMENT'] });
  if (open.length > 0) return;
  creating ??= chrome.offscreen.createDocument({
    url: URL_,
    reasons: ['WORKERS'],
    justification: 'Runs the Attune model in a Web Worker and keeps it loaded between requests.',
  }).finally(() => { creating = null; });
  await creating;
}

/** Runs `op(...args)` on the SDK instance in the offscreen document. */
export async function offscreen(op, args = []) {
  for (let attempt = 0; ; attempt++) {
    await ensureOffscreen();
    let answer;
    try {
      answer = await chrome.runtime.sendMessage({ target: 'offscreen', op, args });
    } catch (e) {
      // The document was closing, or not listening yet: once more with a fresh one.
      if (attempt < 2) { await new Promise((r) => setTimeout(r, 100)); continue; }
      throw new PageError('internal', `the Attune offscreen document did not answer: ${e.message}`);
    }
    if (!answer) {
      if (attempt < 2) { await new Promise((r) => setTimeout(r, 100)); continue; }
      throw new PageError('internal', 'the Attune offscreen document did not answer');
    }
    if (!answer.ok) throw new PageError(answer.error?.code ?? 'internal', answer.error?.message ?? 'failed');
    return answer.value;
  }
}

export async function closeOffscreen() {
  const open = await chrome.runtime.getContexts({ contextTypes: ['OFFSCREEN_DOCUMENT'] });
  if (open.length > 0) await chrome.offscreen.closeDocument();
}
