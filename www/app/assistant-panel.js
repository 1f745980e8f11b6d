// The assistant panel: a question → the articles closest to it (`similar`) and the profile's
// context block (`assistant.context`) → a streamed local reply (`assistant.reply`) that a Stop
// button cancels. The block the model was given is shown as it was sent.
import { $, formatMs, h } from './dom.js';

export class AssistantPanel {
  /** `feedTop()` → the first articles of For you (the page's own candidates). */
  constructor({ attune, catalog, status, feedTop, maxTokens }) {
    Object.assign(this, { attune, catalog, status, feedTop, maxTokens });
    this.controller = null;
    this.form = $('ask-form');
    this.input = $('ask-input');
    this.ask = $('ask-button');
    this.stop = $('stop-button');
    this.reply = $('reply');
    this.stats = $('reply-stats');
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.run(this.input.value); });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); this.run(this.input.value); }
    });
    for (const b of document.querySelectorAll('[data-ask]')) {
      b.addEventListener('click', () => { this.input.value = b.dataset.ask; this.run(b.dataset.ask); });
    }
    this.stop.addEventListener('click', () => this.controller?.abort());
  }

  /** The chat model's download progress (from `Attune.open({ onProgress })`). */
  progress(e) {
    const wrap = $('chat-load');
    if (e.phase === 'load') { wrap.hidden = true; return; }
    wrap.hidden = false;
    $('chat-progress').value = e.total ? e.loaded / e.total : 0;
    $('chat-progress-text').textContent = e.fromCache ? 'from this browser\'s cache'
      : e.total ? `${e.phase} ${Math.round((100 * e.loaded) / e.total)} % of ${(e.total / 1048576).toFixed(0)} MB` : e.phase;
  }

  async run(question) {
    question = question.trim();
    if (!question || this.controller) return;
    const controller = (this.controller = new AbortController());
    const { signal } = controller;
    this.ask.disabled = true;
    this.stop.disabled = false;
    this.reply.textContent = '';
    $('asked').hidden = false;
    $('asked').textContent = `You asked: ${question}`;
    this.reply.setAttribute('aria-busy', 'true');
    this.stats.textContent = 'Thinking…';
    try {
      // The page's own knowledge: articles closest to the question, then the visitor's top ones.
      const t0 = performance.now();
      const close = await this.attune.similar(question, this.catalog.items, { limit: 3, signal });
      this.status.set({ embed: performance.now() - t0 });
      const picks = [...close.map((s) => this.catalog.byId.get(s.id)), ...this.feedTop(3)]
        .filter((it, i, all) => it && all.findIndex((x) => x.id === it.id) === i).slice(0, 5);
      // A reading room's question is about the visitor's tastes in general: every interest may
      // help, not only those close to the question's words.
      // (Before the chat model is loaded the budget counts UTF-8 bytes, hence 400.)
      const ctx = await this.attune.assistant.context(question, { maxTokens: 400, minSimilarity: -1, signal });
      $('context-block').textContent = ctx.text || '(empty: the profile has nothing yet)';
      $('context-details').hidden = false;
      // SmolLM2-135M follows a list in the user's turn best (the profile's block goes to the
      // system message, as the SDK puts it).
      const prompt = `Articles on this site:\n${picks.map((it) => `- "${it.title}": ${it.summary}`).join('\n')}\n\n` +
        `${question} Recommend one or two of these articles by title.`;
      $('context-articles').replaceChildren(...picks.map((it) => h('li', {}, it.title)));
      if (!this.status.assistant || this.status.assistant.state === 'idle') this.status.set({ assistant: { state: 'loading' } });
      const stream = this.attune.assistant.reply(
        [{ role: 'user', content: prompt }],
        { context: ctx.text, maxTokens: this.maxTokens, signal },
      );
      let first = 0;
      let pieces = 0;
      for await (const piece of stream) {
        if (!first) first = performance.now();
        pieces++;
        this.reply.textContent += piece;
      }
      const st = stream.stats();
      const secs = first ? (performance.now() - first) / 1000 : 0;
      const rate = st.generatedTokens > 1 && secs > 0 ? (st.generatedTokens - 1) / secs : null;
      if (rate) this.status.set({ reply: rate });
      this.stats.textContent = `${st.generatedTokens} tokens${rate ? `, ${rate.toFixed(1)} tokens/s` : ''} · ` +
        `prompt ${st.promptTokens} tokens · first piece after ${formatMs(first - t0)} · ended: ${st.finishReason}`;
      if (!pieces) this.reply.textContent = '(no reply)';
    } catch (e) {
      this.stats.textContent = e.code === 'aborted' ? 'Stopped.' : `Error ${e.code ?? ''}: ${e.message}`;
    } finally {
      if (signal.aborted && !this.stats.textContent.startsWith('Stopped')) this.stats.textContent = `Stopped. ${this.stats.textContent}`;
      this.reply.setAttribute('aria-busy', 'false');
      this.controller = null;
      this.ask.disabled = false;
      this.stop.disabled = true;
    }
  }
}
