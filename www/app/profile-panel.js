// The profile panel: what Attune has stored about this visitor, read back through the SDK
// (profile, topics, info) and editable with forget / remember / export / import / clear.
import { $, ago, formatBytes, h } from './dom.js';

const VERBS = { view: 'viewed', click: 'read', dwell: 'spent time on', like: 'liked', share: 'shared', purchase: 'bought',
  dislike: 'disliked', dismiss: 'dismissed', hide: 'hid', search: 'searched' };

export class ProfilePanel {
  /** `on`: { forgetItem(id), forgetTopic(topicId), forgetTag(tag), forgetMemory(id) } → Promise. */
  constructor({ attune, catalog, on }) {
    this.attune = attune;
    this.catalog = catalog;
    this.on = on;
    this.body = $('profile-body');
  }

  async refresh() {
    const [p, topics, info] = await Promise.all([this.attune.profile(), this.attune.topics({ limit: 5 }), this.attune.info()]);
    this.last = p;
    const sections = [];
    const now = Date.now();

    sections.push(h('h3', {}, 'Interests, as Attune names them'));
    sections.push(topics.length
      ? h('ul', { class: 'plain-list', id: 'interests' }, topics.map((t) => h('li', {},
        h('span', { class: 'what' }, h('span', { class: 'bar', style: `width:${Math.max(4, Math.round(t.weight * 80))}px` }), t.label),
        h('span', { class: 'muted' }, `${Math.round(t.weight * 100)} %`))))
      : h('p', { class: 'muted small', id: 'interests' }, 'None yet: open or like a few articles.'));

    // The catalog's own topics behind what the visitor did, each forgettable as a whole.
    const byTopic = new Map();
    for (const r of p.recent) {
      const item = this.catalog.byId.get(r.id);
      if (!item || r.lastType === 'hide' || r.lastType === 'dismiss') continue;
      byTopic.set(item.topic, (byTopic.get(item.topic) ?? 0) + 1);
    }
    if (byTopic.size) {
      sections.push(h('h3', {}, 'Topics you read here'));
      sections.push(h('ul', { class: 'plain-list', id: 'read-topics' }, [...byTopic].sort((a, b) => b[1] - a[1]).map(([id, n]) => {
        const name = this.catalog.topics.get(id).name;
        return h('li', { dataset: { topic: id } }, h('span', { class: 'what' }, `${name} · ${n} article${n > 1 ? 's' : ''}`),
          h('button', { type: 'button', 'aria-label': `Forget the topic ${name}`, onclick: () => this.on.forgetTopic(id) }, 'Forget topic'));
      })));
    }

    const tags = [...p.tags].filter((t) => t.affinity > 0).sort((a, b) => b.affinity - a.affinity).slice(0, 8);
    if (tags.length) {
      sections.push(h('h3', {}, 'Tags you pick'));
      sections.push(h('ul', { class: 'plain-list', id: 'tags' }, tags.map((t) => h('li', {},
        h('span', { class: 'what' }, `${t.tag} · ${t.affinity.toFixed(2)}`),
        h('button', { type: 'button', 'aria-label': `Forget the tag ${t.tag}`, onclick: () => this.on.forgetTag(t.tag) }, 'Forget')))));
    }

    const recent = [...p.recent].sort((a, b) => b.lastAt - a.lastAt).slice(0, 8);
    if (recent.length) {
      sections.push(h('h3', {}, 'Recent'));
      sections.push(h('ul', { class: 'plain-list', id: 'recent' }, recent.map((r) => {
        const title = this.catalog.byId.get(r.id)?.title ?? r.text ?? r.id;
        return h('li', { dataset: { id: r.id } }, h('span', { class: 'what' }, `${VERBS[r.lastType] ?? r.lastType} “${title}” · ${ago(r.lastAt, now)}`),
          h('button', { type: 'button', 'aria-label': `Forget “${title}”`, onclick: () => this.on.forgetItem(r.id) },
            r.lastType === 'hide' ? 'Show again' : 'Forget'));
      })));
    }

    this.body.replaceChildren(...sections);

    $('memories').replaceChildren(...(p.memories.length ? p.memories.map((m) => h('li', {},
      h('span', { class: 'what' }, m.text),
      h('button', { type: 'button', 'aria-label': `Forget the memory “${m.text}”`, onclick: () => this.on.forgetMemory(m.id) }, 'Forget')))
      : [h('li', { class: 'muted' }, 'None. Facts you add here go into the assistant\'s context.')]));

    const s = info.storage;
    $('profile-size').textContent = `${p.stats.events} events · profile ${formatBytes(s.profileBytes)} · embedding cache ` +
      `${s.cacheEntries} texts, ${formatBytes(s.cacheBytes)} · stored in ${s.backend === 'indexeddb' ? 'IndexedDB' : `memory only (${s.why})`}` +
      (s.originUsage ? ` · this site uses ${formatBytes(s.originUsage)} in all, models included` : '');
    return { profile: p, info };
  }
}
