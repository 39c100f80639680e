import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCacheStore } from '../../src/cache/memory-store.js';
import { openAIEntry, type CacheEntry } from '../../src/cache/entry.js';

function answer(text: string, now = 0): CacheEntry {
  return openAIEntry(
    {
      id: `chatcmpl-${text.slice(0, 8)}`,
      object: 'chat.completion',
      created: 0,
      model: 'gpt-test',
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    },
    now,
  );
}

function fakeClock(start = 0): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('exact cache store (in memory)', () => {
  it('returns what was stored until its TTL runs out', () => {
    const clock = fakeClock();
    const store = new MemoryCacheStore({ now: clock.now });
    const entry = answer('hello');
    store.set('k', entry, 1_000);
    assert.equal(store.get('k'), entry);
    clock.advance(999);
    assert.equal(store.get('k'), entry);
    clock.advance(1);
    assert.equal(store.get('k'), undefined);
    assert.deepEqual(store.stats(), { entries: 0, bytes: 0 });
  });

  it('uses a 6 hour TTL by default', () => {
    const clock = fakeClock();
    const store = new MemoryCacheStore({ now: clock.now });
    store.set('k', answer('hello'));
    clock.advance(6 * 3_600_000 - 1);
    assert.ok(store.get('k'));
    clock.advance(1);
    assert.equal(store.get('k'), undefined);
  });

  it('never holds more bytes than its budget, evicting the least recently used', () => {
    const sample = answer('x'.repeat(100));
    const perEntry = sample.bytes + 2 * 'key-0'.length;
    const store = new MemoryCacheStore({ maxBytes: perEntry * 3 + 10 });
    store.set('key-0', answer('x'.repeat(100)));
    store.set('key-1', answer('y'.repeat(100)));
    store.set('key-2', answer('z'.repeat(100)));
    assert.ok(store.get('key-0'), 'touch key-0: key-1 is now the least recently used');
    store.set('key-3', answer('w'.repeat(100)));
    assert.equal(store.get('key-1'), undefined);
    assert.ok(store.get('key-0'));
    assert.ok(store.get('key-2'));
    assert.ok(store.get('key-3'));
    assert.ok(store.stats().bytes <= store.maxBytes);
  });

  it('stays within budget under a flood of writes of mixed sizes', () => {
    const store = new MemoryCacheStore({ maxBytes: 50_000 });
    for (let i = 0; i < 2_000; i++) {
      store.set(`key-${i}`, answer('a'.repeat((i * 37) % 3_000)));
      assert.ok(store.stats().bytes <= 50_000, `over budget after write ${i}`);
    }
    assert.ok(store.stats().entries > 5);
    assert.ok(store.get('key-1999'), 'the newest entry is kept');
  });

  it('refuses an entry bigger than the whole budget without evicting others', () => {
    const store = new MemoryCacheStore({ maxBytes: 2_000 });
    store.set('small', answer('ok'));
    store.set('huge', answer('h'.repeat(5_000)));
    assert.equal(store.get('huge'), undefined);
    assert.ok(store.get('small'));
  });

  it('replacing a key charges its bytes once', () => {
    const store = new MemoryCacheStore();
    store.set('k', answer('first'));
    const once = store.stats().bytes;
    store.set('k', answer('first'));
    assert.deepEqual(store.stats(), { entries: 1, bytes: once });
    store.delete('k');
    assert.deepEqual(store.stats(), { entries: 0, bytes: 0 });
  });

  it('prune drops expired entries and keeps live ones', () => {
    const clock = fakeClock();
    const store = new MemoryCacheStore({ now: clock.now });
    store.set('short', answer('a'), 100);
    store.set('long', answer('b'), 10_000);
    clock.advance(500);
    assert.equal(store.prune(), 1);
    assert.equal(store.stats().entries, 1);
    assert.ok(store.get('long'));
  });
});
