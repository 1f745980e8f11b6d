// Every method of the SDK once, with its documented argument and result types. Not run by the
// page: `npm run typecheck` (tsc --noEmit) checks it against the package's index.d.ts.
import { Attune, AttuneError, type AttuneErrorCode, type Ranked, type ReplyStats } from 'attune';

export async function tour(): Promise<void> {
  const attune = await Attune.open({
    namespace: 'tour',
    embedder: { url: '/models/minilm-l6-v2.q8_0.gguf', sha256: '0'.repeat(64) },
    assistant: { url: new URL('/models/smollm2-135m-instruct.q4_1.gguf', location.href), context: 2048, device: 'cpu' },
    device: 'auto',
    worker: true,
    cache: true,
    onProgress: (e) => console.log(e.model, e.phase, e.loaded, e.total ?? '?', e.fromCache),
  });
  // No model options: the default models of the attune-models package, pinned by sha256.
  const byDefault = await Attune.open({ namespace: 'tour-defaults', assistant: { device: 'cpu', context: 1024 } });
  byDefault.close();
  (await Attune.open({ namespace: 'tour-no-chat', assistant: false })).close();
  const item = { id: 'p1', text: 'Carbon road bike', tags: ['cycling'], price: 1200 };
  await attune.track({ type: 'click', item });
  await attune.track({ type: 'dwell', item, seconds: 30, at: Date.now() });
  await attune.track({ type: 'search', item: { id: 'q' }, query: 'gravel bikes', weight: 2 });
  const memoryId: string = await attune.remember('I am vegetarian');
  const report = await attune.forget({ memoryId });
  const removed: number = report.removed + Number(report.exact);
  await attune.forget({ itemId: 'p1' });
  await attune.forget({ tag: 'cycling' });
  await attune.forget({ before: Date.now() - 86_400_000 });
  await attune.forget({ from: 0, to: 10 });
  const profile = await attune.profile();
  const firstInterest = profile.interests[0]?.items.join(',') ?? '';
  const topics = await attune.topics({ limit: 5 });
  const labels: string[] = topics.map((t) => t.label);
  const doc: string = await attune.export();
  await attune.import(doc);
  await attune.import(JSON.parse(doc) as object);
  const controller = new AbortController();
  const vectors: Float32Array[] = await attune.embed(['a', 'b'], { signal: controller.signal });
  const ranked: Ranked[] = await attune.rank([item, { id: 'p2', text: 'Jazz records' }], { limit: 10, diversity: 0.3, explore: 0.1 });
  const now = await attune.rank([item], { cachedOnly: true, onProgress: ({ done, total }) => console.log(done, total) });
  const pending: boolean = now.some((r) => r.pending === true);
  const loaded: number = await attune.addVectors(new Uint8Array(0)).catch(() => 0);
  const similar = await attune.similar('road cycling', [item], { limit: 3 });
  const similarToItem = await attune.similar(item, [item], { signal: controller.signal });
  const info = await attune.info();
  const ctx = await attune.assistant.context('what should I cook?', { maxTokens: 200 });
  const stream = attune.assistant.reply(
    [{ role: 'system', content: ctx.text }, { role: 'user', content: 'Suggest a dinner.' }],
    { maxTokens: 64, temperature: 0.7, topK: 40, topP: 0.9, repetitionPenalty: 1.1, seed: 7, stop: ['\n\n'], signal: controller.signal },
  );
  let text = '';
  for await (const piece of stream) text += piece;
  const stats: ReplyStats = stream.stats();
  await attune.clear();
  const unreadable: string | null = await attune.exportCorrupt();
  const discarded: boolean = await attune.discardCorrupt();
  console.log(unreadable?.length, discarded, info.storage.corruptBytes, info.storage.modelBytes, info.storage.modelFiles, info.storage.modelStore);
  console.log(removed, firstInterest, labels, vectors[0].length, ranked[0]?.reasons, similar, similarToItem,
    info.backend, info.embedder.bytes, info.assistant.loaded && info.assistant.device.used, info.storage.profileBytes, info.storage.cacheEntries, pending, loaded, ctx.tokens, text, stats.finishReason, attune.closed);
  attune.close();
  try {
    await attune.track({ type: 'view', item });
  } catch (e) {
    if (e instanceof AttuneError) {
      const code: AttuneErrorCode = e.code;
      console.log(code, e.message);
    }
  }
}

/** Attune.connect(): the Attune extension's answers with the person's consent, else this page's own profile. */
export async function connectTour(items: { id: string; text: string }[]): Promise<Ranked[]> {
  const a = await Attune.connect({ namespace: 'tour', embedder: { url: '/models/minilm-l6-v2.q8_0.gguf' }, extension: { timeoutMs: 300 } });
  const ranked: Ranked[] = await a.rank(items, { limit: 10, diversity: 0.2 });
  if (a.source === 'extension') {
    const consent: 'allow' | 'once' = a.consent;
    const topics = await a.topics({ limit: 3 });
    console.log(consent, a.origin, topics.map((t) => `${t.parent} > ${t.label}`), await a.similar('bikes', items, { limit: 3 }));
  } else {
    console.log(a.why, a.origin);
    await a.track({ type: 'view', item: items[0] });
  }
  a.close();
  return ranked;
}
