// What a page may send the extension and what it gets back. Pure functions (no chrome.*), used
// by the service worker and tested on their own. A page gets ranked ids, scores and reasons that
// name only the items it sent in that call: its items are renamed `page:<index>` before they reach
// the profile (so they can never match an item learned on another site), options that would
// reveal the profile's state (cachedOnly, excludeSeen) or rewrite its texts (reasonTexts) are
// dropped, and every reason that cites a learned item is replaced by "close to your interests".

/** Limits of one page request (the SDK's own limits are larger: this is a shared worker). */
export const PAGE_LIMITS = Object.freeze({ items: 1000, idChars: 256, textChars: 2000, tags: 16, tagChars: 64, topics: 10, requestBytes: 1 << 20 });

/** The reason texts a page can get: fixed, so no text of the profile can reach it. */
const FIXED_TEXTS = { interest: 'close to your interests', tag: 'you often pick “{tag}”', popular: 'popular here', new: 'something new for you', pageOrder: 'in the page\'s order' };

export class PageError extends Error {
  constructor(code, message) { super(message); this.name = 'AttuneError'; this.code = code; }
}
const bad = (message) => new PageError('invalid_argument', message);

const str = (v, max) => (typeof v === 'string' ? v.slice(0, max) : undefined);

/** The text Attune embeds for an item, as the SDK builds it (text, else title/name + summary/description). */
function itemText(item) {
  if (typeof item.text === 'string') return item.text.slice(0, PAGE_LIMITS.textChars);
  const parts = [str(item.title, PAGE_LIMITS.textChars) ?? str(item.name, PAGE_LIMITS.textChars), str(item.summary, PAGE_LIMITS.textChars) ?? str(item.description, PAGE_LIMITS.textChars)]
    .map((s) => s?.trim()).filter(Boolean);
  return parts.length ? parts.join('. ').slice(0, PAGE_LIMITS.textChars) : undefined;
}

/** A page's items → { items for the profile (ids `page:<i>`), their original ids and tags }. */
export function pageItems(raw) {
  if (!Array.isArray(raw)) throw bad('items must be an array of { id, text?, title?, tags?, prior? }');
  if (raw.length > PAGE_LIMITS.items) throw new PageError('input_too_large', `${raw.length} items; the extension ranks at most ${PAGE_LIMITS.items} a call`);
  const ids = [];
  const tags = [];
  const items = raw.map((item, i) => {
    if (!item || typeof item !== 'object' || typeof item.id !== 'string' || item.id.length === 0 || item.id.length > PAGE_LIMITS.idChars) {
      throw bad(`item ${i}: needs an id of 1 … ${PAGE_LIMITS.idChars} characters`);
    }
    const own = Array.isArray(item.tags) ? item.tags.filter((t) => typeof t === 'string').slice(0, PAGE_LIMITS.tags).map((t) => t.slice(0, PAGE_LIMITS.tagChars)) : [];
    ids.push(item.id);
    tags.push(new Set(own.map((t) => t.trim().toLowerCase())));
    const out = { id: `page:${i}`, tags: own };
    const text = itemText(item);
    if (text) out.text = text;
    if (typeof item.prior === 'number' && Number.isFinite(item.prior)) out.prior = Math.min(1, Math.max(0, item.prior));
    return out;
  });
  return { items, ids, tags };
}

const RANK_NUMBERS = { limit: [1, PAGE_LIMITS.items], diversity: [0, 1], explore: [0, 1], exploration: [0, 1], seed: [0, 2 ** 32 - 1],
  priorWeight: [0, 1], tagWeight: [0, 10], neighborWeight: [0, 10], noveltyBelow: [-1, 1] };

/** Rank options a page may set (numbers in range); the rest is dropped. */
export function pageRankOptions(raw) {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw bad('rank options must be an object');
  const out = {};
  for (const [k, [lo, hi]] of Object.entries(RANK_NUMBERS)) {
    if (raw[k] === undefined) continue;
    if (typeof raw[k] !== 'number' || !(raw[k] >= lo && raw[k] <= hi)) throw bad(`${k} must be a number in ${lo} … ${hi}`);
    out[k] = k === 'limit' || k === 'seed' ? Math.floor(raw[k]) : raw[k];
  }
  return out;
}

/** The reasons of one ranked item that a page may see. */
function pageReasons(reasons, ownTags) {
  const out = [];
  for (const r of reasons ?? []) {
    let kept = null;
    if (r.kind === 'tag' && typeof r.tag === 'string' && ownTags.has(r.tag)) kept = { kind: 'tag', text: FIXED_TEXTS.tag.replace('{tag}', r.tag), tag: r.tag };
    else if (r.kind === 'similarTo' || r.kind === 'interest') kept = { kind: 'interest', text: FIXED_TEXTS.interest };
    else if (r.kind in FIXED_TEXTS && r.kind !== 'tag') kept = { kind: r.kind, text: FIXED_TEXTS[r.kind] };
    // `seen` (never true of a page's items, renamed apart from learned ones) and unknown kinds: dropped.
    if (kept && !out.some((o) => o.kind === kept.kind && o.tag === kept.tag)) out.push(kept);
  }
  return out;
}

const round = (x, digits) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The SDK's ranking → what the page gets: its own ids, scores, filtered reasons. */
export function pageRanked(ranked, page) {
  return ranked.map((r) => {
    const out = { id: page.ids[r.index], index: r.index, score: round(r.score, 4), explored: !!r.explored, reasons: pageReasons(r.reasons, page.tags[r.index]) };
    if (r.noText) out.noText = true;
    return out;
  });
}

/** similar(query, items): the query as a text (a string or an item). */
export function pageQuery(raw) {
  if (typeof raw === 'string') return raw.slice(0, PAGE_LIMITS.textChars);
  if (raw && typeof raw === 'object') {
    const t = itemText(raw);
    if (t) return t;
  }
  throw bad('the query must be a text or an item with text');
}

export function pageSimilarOptions(raw) {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object') throw bad('similar options must be an object');
  if (raw.limit === undefined) return {};
  if (typeof raw.limit !== 'number' || !(raw.limit >= 1 && raw.limit <= PAGE_LIMITS.items)) throw bad(`limit must be 1 … ${PAGE_LIMITS.items}`);
  return { limit: Math.floor(raw.limit) };
}

export function pageSimilar(similar, page) {
  return similar.map((s) => ({ id: page.ids[s.index], index: s.index, similarity: round(s.similarity, 4) }));
}

/** topics(): at most PAGE_LIMITS.topics labels, coarse weights. */
export function pageTopicsOptions(raw) {
  const limit = raw && typeof raw === 'object' && typeof raw.limit === 'number' ? Math.floor(raw.limit) : 5;
  if (!(limit >= 1 && limit <= PAGE_LIMITS.topics)) throw bad(`limit must be 1 … ${PAGE_LIMITS.topics}`);
  return { limit };
}

export function pageTopics(topics) {
  return topics.map((t) => ({ label: t.label, parent: t.parent, weight: round(t.weight, 2) }));
}

/**
 * A per-origin token bucket: `burst` requests at once, refilled at `perSecond`. `take(origin)`
 * is false when the origin is over its budget.
 */
export function rateLimiter({ burst = 30, perSecond = 2, now = () => Date.now() } = {}) {
  const buckets = new Map();
  return {
    take(origin) {
      const t = now();
      const b = buckets.get(origin) ?? { tokens: burst, at: t };
      b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * perSecond);
      b.at = t;
      buckets.set(origin, b);
      if (b.tokens < 1) return false;
      b.tokens -= 1;
      return true;
    },
  };
}
