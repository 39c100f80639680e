/**
 * Issue 3: requests wait for capacity within their deadline, in priority order, and a request that
 * cannot be served in time gets an honest 429 without being sent upstream.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { simKeys, startStack } from '../support/stack.js';

const ask = (content: string) => ({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user' as const, content }] });

describe('a request that cannot be served before its deadline', () => {
  it('gets 429 with a retry-after that, when honored, succeeds; it never reached the provider', async () => {
    // One request per second, enforced per second: after one request the key is empty for a second.
    const stack = await startStack({ sim: { keys: simKeys(1, { rpm: 60, itpm: 1_000_000, otpm: 1_000_000 }), window: 'second' } });
    try {
      await stack.anthropic.messages.create(ask('first'));
      const impatient = { headers: { 'x-spillway-max-wait': '0' } };
      const rejection = await stack.anthropic.messages.create(ask('second'), impatient).then(
        () => assert.fail('expected a 429'),
        (error: unknown) => error,
      );
      assert.ok(rejection instanceof Anthropic.RateLimitError);
      assert.equal((rejection.error as { type?: string } | undefined)?.type, 'error');
      const retryAfter = Number(rejection.headers?.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 2, `retry-after ${retryAfter}`);
      assert.equal(stack.sim.stats().total.requests, 1, 'the rejected request was not sent upstream');

      await sleep(retryAfter * 1000);
      const honored = await stack.anthropic.messages.create(ask('second'), impatient);
      assert.equal(honored.type, 'message');
      assert.equal(stack.sim.stats().total.rateLimited, 0);
    } finally {
      await stack.close();
    }
  });

  it('the SDK with its default retries honors that retry-after and succeeds', async () => {
    const stack = await startStack({ sim: { keys: simKeys(1, { rpm: 60, itpm: 1_000_000, otpm: 1_000_000 }), window: 'second' } });
    try {
      const patient = new Anthropic({ baseURL: stack.gateway.url, apiKey: 'x', defaultHeaders: { 'x-spillway-max-wait': '0' } });
      const answers = await Promise.all([1, 2, 3].map((n) => patient.messages.create(ask(`question ${n}`))));
      assert.equal(answers.length, 3);
      assert.equal(stack.sim.stats().total.ok, 3);
      assert.equal(stack.sim.stats().total.rateLimited, 0);
    } finally {
      await stack.close();
    }
  });
});

describe('many concurrent streaming requests through one small key', () => {
  it('all succeed, interactive ones before batch ones', async () => {
    // Ten requests a second, in bursts of at most ten.
    const stack = await startStack({ sim: { keys: simKeys(1, { rpm: 600, itpm: 1_000_000, otpm: 1_000_000 }), window: 'second' } });
    try {
      // When each request was admitted: sent at, plus the queue time spillway reports.
      const admitted: Array<{ priority: string; at: number }> = [];
      const streamOne = async (priority: 'interactive' | 'batch', n: number) => {
        const sent = performance.now();
        const stream = stack.anthropic.messages.stream(ask(`${priority} ${n}`), { headers: { 'x-spillway-priority': priority } });
        const { response } = await stream.withResponse();
        const message = await stream.finalMessage();
        assert.equal(message.stop_reason === 'end_turn' || message.stop_reason === 'max_tokens', true);
        admitted.push({ priority, at: sent + Number(response.headers.get('x-spillway-queue-ms')) });
      };
      const batch = Array.from({ length: 20 }, (_, n) => streamOne('batch', n));
      await sleep(50); // the batch is queued first
      const interactive = Array.from({ length: 10 }, (_, n) => streamOne('interactive', n));
      await Promise.all([...batch, ...interactive]);

      assert.equal(admitted.length, 30);
      assert.equal(stack.sim.stats().total.rateLimited, 0);
      // Batch requests found room until the interactive ones arrived (how many depends on how fast
      // they arrive); from then on, every interactive request went before every waiting batch one.
      admitted.sort((a, b) => a.at - b.at);
      const firstInteractive = admitted.findIndex((entry) => entry.priority === 'interactive');
      const lastInteractive = admitted.findLastIndex((entry) => entry.priority === 'interactive');
      assert.ok(firstInteractive >= 0 && lastInteractive - firstInteractive === 9, `interactive requests admitted ${firstInteractive + 1}th to ${lastInteractive + 1}th of 30, with batch ones between them`);
      assert.ok(firstInteractive <= 12, `the first interactive request was admitted ${firstInteractive + 1}th of 30`);
    } finally {
      await stack.close();
    }
  });
});

describe('a client that disconnects while waiting', () => {
  it('leaves the queue and never reaches the provider', async () => {
    const stack = await startStack({ sim: { keys: simKeys(1, { rpm: 60, itpm: 1_000_000, otpm: 1_000_000 }), window: 'second' } });
    try {
      await stack.anthropic.messages.create(ask('fill the key'));
      const abort = new AbortController();
      const waiting = stack.anthropic.messages.create(ask('gives up'), { signal: abort.signal }).catch((error: unknown) => error);
      await sleep(100);
      assert.equal(stack.gateway.gateway.queue.depth, 1);
      abort.abort();
      assert.ok((await waiting) instanceof Anthropic.APIUserAbortError);
      await sleep(1500);
      assert.equal(stack.gateway.gateway.queue.depth, 0);
      assert.equal(stack.sim.stats().total.requests, 1, 'only the first request went upstream');
    } finally {
      await stack.close();
    }
  });
});
