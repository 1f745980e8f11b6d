// The demo's catalog (catalog.json: 308 short articles in 14 topics, written for Attune,
// Apache-2.0), newest first, with a colour per topic for the cards.

const HUES = [12, 200, 265, 120, 330, 45, 150, 290, 220, 25, 0, 180, 35, 95];

export async function loadCatalog(url = new URL('./catalog.json', import.meta.url)) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`the catalog ${url} could not be loaded: HTTP ${res.status}`);
  const doc = await res.json();
  const topics = new Map(doc.topics.map((t, i) => [t.id, { ...t, hue: HUES[i % HUES.length] }]));
  // What is embedded: title, summary and the topic's name. The topic pulls one topic's articles
  // together (MiniLM puts short texts of one field only loosely close), and the title stays
  // the first sentence, which is what a reason quotes ("because you read “…”").
  const items = doc.items.map((it) => ({ ...it, text: `${it.title}. ${it.summary} Topic: ${topics.get(it.topic).name}.` }));
  const byId = new Map(items.map((it) => [it.id, it]));
  return { topics, items, byId, about: doc.about };
}

/** The item's first sentence, as the SDK's reasons quote it. */
export const titleOf = (catalog, id) => catalog.byId.get(id)?.title ?? id;
