/**
 * Issue 3: requests wait for capacity within their deadline, in priority order, and a request that
 * cannot be served in time gets an honest 429 without being sent upstream.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
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
      // Arrival and admission as the gateway saw them (its own clock): the client's clock would add
      // the time each request took to reach the gateway, which varies with the machine's load.
      const seen: Array<{ priority: string; arrived: number; admitted: number }> = [];
      const observer = stack.gateway.gateway.observer;
      const report = observer.request.bind(observer);
      observer.request = (record) => {
        seen.push({ priority: record.priority ?? 'interactive', arrived: record.startedAt, admitted: record.startedAt + record.queueMs });
        report(record);
      };
      const streamOne = async (priority: 'interactive' | 'batch', n: number) => {
        const stream = stack.anthropic.messages.stream(ask(`${priority} ${n}`), { headers: { 'x-spillway-priority': priority } });
        const message = await stream.finalMessage();
        assert.equal(message.stop_reason === 'end_turn' || message.stop_reason === 'max_tokens', true);
      };
      const batch = Array.from({ length: 20 }, (_, n) => streamOne('batch', n));
      await sleep(50); // the batch is queued first
      const interactive = Array.from({ length: 10 }, (_, n) => streamOne('interactive', n));
      await Promise.all([...batch, ...interactive]);

      assert.equal(seen.length, 30);
      assert.equal(stack.sim.stats().total.rateLimited, 0);
      const waitedBatch = seen.filter((entry) => entry.priority === 'batch' && entry.admitted > entry.arrived + 50);
      assert.ok(waitedBatch.length >= 5, `${waitedBatch.length} batch requests waited for room`);
      // No batch request was admitted while an interactive one that had already arrived still waited.
      for (const urgent of seen.filter((entry) => entry.priority === 'interactive')) {
        const overtaking = seen.filter((entry) => entry.priority === 'batch' && entry.admitted > urgent.arrived + 1 && entry.admitted < urgent.admitted - 1);
        assert.equal(overtaking.length, 0, `an interactive request waited ${urgent.admitted - urgent.arrived} ms while ${overtaking.length} batch ones were admitted`);
      }
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

describe('a prompt larger than every key can ever admit', () => {
  it('is refused at once in the caller\'s shape, never sent upstream, and costs other requests nothing', async () => {
    const stack = await startStack({ sim: { keys: simKeys(2, { rpm: 600, itpm: 40_000, otpm: 8_000 }) } });
    try {
      const huge = 'lorem ipsum dolor sit amet '.repeat(40_000); // about 270,000 tokens against 40,000 a minute
      const refusal = await stack.anthropic.messages.create(ask(huge)).then(
        () => assert.fail('expected a 429'),
        (error: unknown) => error,
      );
      assert.ok(refusal instanceof Anthropic.RateLimitError);
      assert.equal(refusal.headers?.get('x-should-retry'), 'false', 'no retry can cure it');
      assert.match(refusal.message, /exceed the rate limit of 40,000 input tokens per minute of every key .* Reduce the prompt's length/);
      await assert.rejects(stack.openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: huge }] }), (error: unknown) => {
        assert.ok(error instanceof OpenAI.RateLimitError);
        assert.equal((error.error as { type?: string } | undefined)?.type, 'rate_limit_error');
        return true;
      });
      assert.equal(stack.sim.stats().total.requests, 0, 'neither was sent upstream');

      const { data, response } = await stack.anthropic.messages.create(ask('a normal question')).withResponse();
      assert.equal(data.type, 'message');
      const queued = Number(response.headers.get('x-spillway-queue-ms'));
      assert.ok(queued < 100, `no key rests for it: queued ${queued} ms`);
    } finally {
      await stack.close();
    }
  });
});
