// The feed: one card per article, keyed by id and reused across renders so a re-rank moves
// cards (animated by flip.js) instead of rebuilding them. Each card shows its reasons, a
// "why this?" detail, and buttons for the tracked actions (open/close = click + dwell, like,
// hide). The page's logic lives in main.js; this module only draws and reports clicks.
import { h } from './dom.js';
import { flip } from './flip.js';

const KIND_NAMES = {
  seen: 'you acted on it', similarTo: 'close to an article you acted on', interest: 'close to your interests',
  tag: 'a tag you often pick', popular: 'popular', new: 'exploration (something new)', pageOrder: 'no signal: newest first',
};

export class Feed {
  /** `on`: { toggleOpen(item), like(item), hide(item) }. */
  constructor({ list, live, catalog, on }) {
    this.list = list;
    this.live = live;
    this.catalog = catalog;
    this.on = on;
    this.cards = new Map();      // id → { li, parts }
    this.positions = new Map();  // view → Map(id → position) of the last render
    this.openId = null;
    this.liked = new Set();
  }

  /** Draws `entries` ([{ item, ranked? }]) for `view`; cards that rose get a badge. */
  render(entries, view, { latestPos } = {}) {
    const before = this.positions.get(view);
    const after = new Map(entries.map((e, i) => [e.item.id, i]));
    const moved = [];
    flip(this.list, () => {
      const nodes = entries.map((e, i) => {
        const card = this.card(e.item);
        const was = before?.get(e.item.id);
        const rose = before ? (was === undefined ? Infinity : was - i) : 0;
        if (rose > 0) moved.push({ item: e.item, rose, to: i });
        this.update(card, e, i, { rose, view, latestPos });
        return card.li;
      });
      this.list.replaceChildren(...nodes);
    });
    this.positions.set(view, after);
    return moved;
  }

  card(item) {
    let card = this.cards.get(item.id);
    if (card) return card;
    const topic = this.catalog.topics.get(item.topic);
    const titleId = `t-${item.id}`;
    const parts = {
      move: h('span', { class: 'rank-move' }),
      title: h('button', { type: 'button', class: 'card-title', id: titleId, 'aria-expanded': 'false',
        onclick: () => this.on.toggleOpen(item) }, item.title),
      reasons: h('ul', { class: 'reasons', 'aria-label': 'Why it is here' }),
      like: h('button', { type: 'button', 'aria-pressed': 'false', 'aria-label': `Like “${item.title}”`, onclick: () => this.on.like(item) }, 'Like'),
      hide: h('button', { type: 'button', 'aria-label': `Hide “${item.title}”`, onclick: () => this.on.hide(item) }, 'Hide'),
      why: h('dl'),
      reading: h('div', { class: 'reading', hidden: true }),
    };
    const details = h('details', { class: 'why' }, h('summary', {}, 'Why this?'), parts.why);
    const li = h('li', { class: 'card', dataset: { id: item.id, topic: item.topic }, style: `--dot: hsl(${topic.hue} 65% 50%)` },
      h('div', { class: 'card-meta' }, h('span', { class: 'topic' }, topic.name), h('span', {}, item.date), parts.move),
      h('h3', {}, parts.title),
      h('p', { class: 'summary' }, item.summary),
      h('ul', { class: 'tags', 'aria-label': 'Tags' }, item.tags.map((t) => h('li', {}, t))),
      parts.reasons,
      parts.reading,
      h('div', { class: 'card-actions' }, parts.like, parts.hide, details),
    );
    card = { li, parts, item };
    this.cards.set(item.id, card);
    return card;
  }

  update(card, entry, pos, { rose, view, latestPos }) {
    const { parts, li, item } = card;
    const r = entry.ranked;
    parts.reasons.replaceChildren(...(r?.reasons ?? []).map((x) => h('li', { dataset: { kind: x.kind, item: x.itemId ?? '' } }, x.text)));
    parts.move.textContent = rose === Infinity ? '▲ new here' : rose > 0 ? `▲ ${rose}` : '';
    li.classList.toggle('moved', rose > 0);
    if (rose > 0) setTimeout(() => li.classList.remove('moved'), 1600);
    const liked = this.liked.has(item.id);
    parts.like.setAttribute('aria-pressed', String(liked));
    parts.like.textContent = liked ? 'Liked' : 'Like';
    const open = this.openId === item.id;
    li.classList.toggle('open', open);
    parts.title.setAttribute('aria-expanded', String(open));
    parts.reading.hidden = !open;
    const rows = [['position', `${pos + 1} in ${view === 'foryou' ? 'For you' : 'Latest'}${latestPos?.has(item.id) ? `, ${latestPos.get(item.id) + 1} in Latest` : ''}`]];
    if (r) {
      rows.push(['score', r.score.toFixed(3)]);
      for (const x of r.reasons) {
        const cited = x.itemId ? ` — cites “${this.catalog.byId.get(x.itemId)?.title ?? x.itemId}”` : '';
        rows.push([x.kind, `${KIND_NAMES[x.kind] ?? x.kind}${x.event ? ` (${x.event})` : ''}${cited}`]);
      }
      if (!r.reasons.length) rows.push(['reasons', 'none strong enough to show']);
      if (r.explored) rows.push(['explored', 'placed by exploration, outside your known interests']);
    } else {
      rows.push(['order', 'newest first; switch to For you for the personalized order']);
    }
    parts.why.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  }

  /** Shows the reading pane of an open card (its similar articles, how long it has been open). */
  setReading(id, content) {
    const card = this.cards.get(id);
    if (card) card.parts.reading.replaceChildren(...content);
  }

  announce(text) {
    this.live.textContent = text;
  }
}
