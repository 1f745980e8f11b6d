// What a page may send and get back (src/page-answers.js) and the sensitive list, without a
// browser: node --test examples/extension/test/
import test from 'node:test';
import assert from 'node:assert/strict';
import { PAGE_LIMITS, pageItems, pageQuery, pageRankOptions, pageRanked, pageTopics, pageTopicsOptions, rateLimiter } from '../src/page-answers.js';
import { isSensitive } from '../src/sensitive.js';

test('page items are renamed apart from learned ones, with text built as the SDK does', () => {
  const page = pageItems([
    { id: 'http://site-a.test/article', title: 'Saturn', description: 'Rings', price: 3, tags: ['space', 7] },
    { id: 'b', text: 'x'.repeat(5000), prior: 7 },
  ]);
  assert.deepEqual(page.items[0], { id: 'page:0', tags: ['space'], text: 'Saturn. Rings' });
  assert.equal(page.items[1].text.length, PAGE_LIMITS.textChars);
  assert.equal(page.items[1].prior, 1);
  assert.deepEqual(page.ids, ['http://site-a.test/article', 'b']);
});

test('bad or oversized items are refused with stable codes', () => {
  assert.throws(() => pageItems('x'), { code: 'invalid_argument' });
  assert.throws(() => pageItems([{ id: '' }]), { code: 'invalid_argument' });
  assert.throws(() => pageItems([{ id: 'x'.repeat(300) }]), { code: 'invalid_argument' });
  assert.throws(() => pageItems(Array.from({ length: PAGE_LIMITS.items + 1 }, (_, i) => ({ id: `${i}` }))), { code: 'input_too_large' });
});

test('rank options: numbers in range kept, revealing or text-changing options dropped', () => {
  assert.deepEqual(pageRankOptions({ limit: 5.7, diversity: 0.3, cachedOnly: true, excludeSeen: true, reasonTexts: { interest: '{title}' } }),
    { limit: 5, diversity: 0.3 });
  assert.throws(() => pageRankOptions({ limit: 0 }), { code: 'invalid_argument' });
  assert.throws(() => pageRankOptions({ diversity: 'high' }), { code: 'invalid_argument' });
  assert.throws(() => pageRankOptions([]), { code: 'invalid_argument' });
});

test('reasons never cite what was read elsewhere', () => {
  const page = pageItems([{ id: 'p1', text: 'Telescopes', tags: ['Space'] }, { id: 'p2', text: 'Pie' }]);
  const ranked = pageRanked([
    { id: 'page:0', index: 0, score: 0.123456, explored: false, reasons: [
      { kind: 'similarTo', text: 'similar to “Webb spots a galaxy”, which you read', itemId: 'http://site-a.test/webb', event: 'view' },
      { kind: 'interest', text: 'close to your interests' },
      { kind: 'tag', text: 'you often pick “space”', tag: 'space' }] },
    { id: 'page:1', index: 1, score: 0.1, explored: true, reasons: [
      { kind: 'seen', text: 'you read this', event: 'view' },
      { kind: 'tag', text: 'you often pick “bank.example”', tag: 'bank.example' },
      { kind: 'new', text: 'anything' }] },
  ], page);
  assert.deepEqual(ranked[0], { id: 'p1', index: 0, score: 0.1235, explored: false, reasons: [
    { kind: 'interest', text: 'close to your interests' }, { kind: 'tag', text: 'you often pick “space”', tag: 'space' }] });
  assert.deepEqual(ranked[1].reasons, [{ kind: 'new', text: 'something new for you' }]);
  assert.ok(!JSON.stringify(ranked).includes('Webb') && !JSON.stringify(ranked).includes('site-a'));
});

test('similar queries and topics', () => {
  assert.equal(pageQuery({ title: 'A', summary: 'B' }), 'A. B');
  assert.throws(() => pageQuery(3), { code: 'invalid_argument' });
  assert.deepEqual(pageTopicsOptions(undefined), { limit: 5 });
  assert.throws(() => pageTopicsOptions({ limit: 50 }), { code: 'invalid_argument' });
  assert.deepEqual(pageTopics([{ label: 'Astronomy', parent: 'Science', weight: 0.6666, similarity: 0.4 }]), [{ label: 'Astronomy', parent: 'Science', weight: 0.67 }]);
});

test('rate limit per origin: a burst, then the refill', () => {
  let now = 0;
  const limit = rateLimiter({ burst: 3, perSecond: 2, now: () => now });
  assert.deepEqual([1, 2, 3, 4].map(() => limit.take('a')), [true, true, true, false]);
  assert.equal(limit.take('b'), true);
  now = 500;
  assert.equal(limit.take('a'), true);
  assert.equal(limit.take('a'), false);
});

test('the sensitive list', () => {
  for (const h of ['www.mybank.com', 'online.chase-bank.example', 'paypal.com', 'nhs.uk', 'clinic.example', 'xvideos.com', 'irs.gov', 'example.bank']) {
    assert.ok(isSensitive(h), h);
  }
  for (const h of ['site-a.localhost', 'news.example.com', 'space.blog']) assert.ok(!isSensitive(h), h);
});
