/**
 * The interactive-path merge window with a fake clock: a request never waits for partners longer
 * than the route's window or half its own deadline, a member with less time brings its group's
 * departure forward, and a merged call that cannot be made sends every member its ordinary way.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { answerHeaders } from '../../src/pipeline/answer-headers.js';
import type { Engine } from '../../src/pipeline/engine.js';
import { parseChatRequest } from '../../src/pipeline/ingress.js';
import type { RequestContext } from '../../src/pipeline/request-context.js';
import type { MergeEvent } from '../../src/observe/observer.js';
import { MergeWindow } from '../../src/merge/window.js';

/** An engine whose route merges but which has no provider running: any merged call fails before going upstream. */
function engine(events: MergeEvent[]): Engine {
  const config = parseConfig({
    providers: { p: { type: 'anthropic', base_url: 'http://127.0.0.1:9', keys: [{ id: 'k', key: 'x' }] } },
    routes: { '*': { targets: [{ provider: 'p' }], merge: { max: 3, max_input_tokens: 400, window: '100ms' } } },
  });
  return {
    config,
    providers: new Map(),
    observer: { request() {}, upstream() {}, keyDisabled() {}, keyProbed() {}, keyRestored() {}, merged: (e: MergeEvent) => events.push(e) },
    log() {},
  } as unknown as Engine;
}

function context(): RequestContext {
  return { req: { headers: {} }, requestId: 'r', surface: 'anthropic', owner: '', signal: new AbortController().signal, spillwayHeaders: answerHeaders(), trace: { startedAt: Date.now() } };
}

const chat = (prompt: string) => parseChatRequest('anthropic', Buffer.from(JSON.stringify({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: prompt }] })));

describe('merge window', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'] }));
  afterEach(() => mock.timers.reset());

  test('alone: waits the window, then goes its ordinary way', async () => {
    const window = new MergeWindow(engine([]));
    let settled = false;
    const offered = window.offer(context(), chat('a'), 60_000).then((answer) => {
      settled = true;
      return answer;
    });
    mock.timers.tick(99);
    await Promise.resolve();
    assert.equal(settled, false);
    mock.timers.tick(1);
    assert.equal(await offered, undefined);
  });

  test('never more than half its own deadline; nothing at all without time to spare', async () => {
    const window = new MergeWindow(engine([]));
    let settled = false;
    const offered = window.offer(context(), chat('a'), 40).then(() => (settled = true));
    mock.timers.tick(19);
    await Promise.resolve();
    assert.equal(settled, false);
    mock.timers.tick(1);
    await offered;
    assert.equal(await window.offer(context(), chat('b'), 0), undefined);
  });

  test('a member with less time brings the group forward; a merged call that cannot be made sends each its own way', async () => {
    const window = new MergeWindow(engine([]));
    const settled: string[] = [];
    void window.offer(context(), chat('a'), 60_000).then((answer) => settled.push(`a:${String(answer)}`));
    mock.timers.tick(10);
    // 20 ms to spare: it waits at most 10 ms, and so does the member already waiting.
    void window.offer(context(), chat('b'), 20).then((answer) => settled.push(`b:${String(answer)}`));
    mock.timers.tick(10);
    for (let i = 0; i < 5 && settled.length < 2; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(settled.sort(), ['a:undefined', 'b:undefined'], 'both left at 20 ms, not at the first member\'s 100 ms');
  });

  test('streams, tools and other routes are not offered a wait', async () => {
    const window = new MergeWindow(engine([]));
    const streaming = parseChatRequest('anthropic', Buffer.from(JSON.stringify({ model: 'm', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'x' }] })));
    const tools = parseChatRequest('anthropic', Buffer.from(JSON.stringify({ model: 'm', max_tokens: 10, tools: [{ name: 't', input_schema: { type: 'object' } }], messages: [{ role: 'user', content: 'x' }] })));
    assert.equal(await window.offer(context(), streaming, 60_000), undefined);
    assert.equal(await window.offer(context(), tools, 60_000), undefined);
  });
});
