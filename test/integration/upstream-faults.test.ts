/**
 * Issue 12, items 6, 7 and 9: what happens before the client's first byte can be retried, and is.
 * A non-streamed answer cut mid-body, an upstream that stalls before its first byte, a full
 * connection pool, and a retry limit above the default, each against the simulator with the
 * official SDKs.
 */
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import type { ConfigInput } from '../../src/config/schema.js';
import type { SimKey, SimOptions } from '../../src/sim/index.js';
import { simKeys, simProvider, type Stack, startStack } from '../support/stack.js';

interface Setup {
  sim?: Partial<SimOptions>;
  /** Merged into both providers' config. */
  provider?: Record<string, unknown>;
  config?: Partial<ConfigInput>;
}

function configFor(url: string, keys: SimKey[], setup: Setup): ConfigInput {
  return {
    providers: {
      anthropic: { ...simProvider('anthropic', url, keys), ...setup.provider },
      openai: { ...simProvider('openai', url, keys), ...setup.provider },
    },
    routes: { 'gpt-*': { targets: [{ provider: 'openai' }] }, '*': { targets: [{ provider: 'anthropic' }] } },
    ...setup.config,
  } as ConfigInput;
}

const stacks: Stack[] = [];
async function stack(setup: Setup): Promise<Stack> {
  const s = await startStack({ sim: { keys: simKeys(2), ...setup.sim }, config: (url, keys) => configFor(url, keys, setup) });
  stacks.push(s);
  return s;
}

const ask = (s: Stack, headers: Record<string, string> = {}) =>
  s.anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hello there' }] }, { headers }).withResponse();
const askOpenAI = (s: Stack) => s.openai.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'hello there' }] });

async function streamText(s: Stack): Promise<string> {
  const stream = s.anthropic.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hello there' }] });
  const message = await stream.finalMessage();
  return message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
}

describe('upstream faults before the first byte', () => {
  afterEach(async () => {
    await Promise.all(stacks.splice(0).map((s) => s.close()));
  });
  after(async () => {
    await Promise.all(stacks.splice(0).map((s) => s.close()));
  });

  it('non-streamed answers cut mid-body are retried: every client gets a whole answer', async () => {
    const s = await stack({ sim: { faults: { cutBody: 0.3 }, seed: 7 }, config: { retry: { max_attempts: 8, budget_ratio: 1 } } });
    const answers = await Promise.all(Array.from({ length: 20 }, () => ask(s)));
    const openai = await Promise.all(Array.from({ length: 20 }, () => askOpenAI(s)));
    for (const answer of answers) assert.equal(answer.data.type, 'message');
    for (const answer of openai) assert.equal(answer.object, 'chat.completion');
    const stats = s.sim.stats().total;
    assert.ok(stats.errors > 0, 'some answers were cut');
    assert.equal(stats.ok, 40);
  });

  it('an upstream that stalls before its first byte is retried after first_byte_timeout, long before the SDK gives up', async () => {
    const s = await stack({ sim: { faults: { stall: 0.3 }, seed: 3 }, provider: { first_byte_timeout: '300ms' }, config: { retry: { max_attempts: 8, budget_ratio: 1 } } });
    const started = Date.now();
    const [answers, texts] = await Promise.all([Promise.all(Array.from({ length: 15 }, () => ask(s))), Promise.all(Array.from({ length: 15 }, () => streamText(s)))]);
    const elapsed = Date.now() - started;
    for (const answer of answers) assert.equal(answer.data.type, 'message');
    for (const text of texts) assert.ok(text.length > 0);
    assert.ok(answers.some((answer) => Number(answer.response.headers.get('x-spillway-attempts')) > 1), 'some requests needed a second attempt');
    // A non-streamed limit adds max_tokens at 10 tokens/s (1.6 s here): a few stalls in a row stay within seconds.
    assert.ok(elapsed < 20_000, `took ${elapsed} ms`);
  });

  it('a stream whose headers arrive but whose first event never does is retried on another attempt', async () => {
    // Anthropic opens a stream with message_start at once: first_byte_timeout runs to it. An
    // OpenAI stream may think before its first chunk, so there the attempt's `timeout` ends the wait.
    const s = await stack({
      sim: { faults: { stallAfterHeaders: 0.3 }, seed: 5 },
      provider: { first_byte_timeout: '300ms', timeout: '1s' },
      config: { retry: { max_attempts: 8, budget_ratio: 1 } },
    });
    const texts = await Promise.all(Array.from({ length: 15 }, () => streamText(s)));
    for (const text of texts) assert.ok(text.length > 0);
    const chunks: string[] = [];
    const stream = await s.openai.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], stream: true });
    for await (const chunk of stream) chunks.push(chunk.choices[0]?.delta?.content ?? '');
    assert.ok(chunks.join('').length > 0);
    assert.ok(s.sim.stats().total.errors > 0, 'some streams stalled after their headers');
  });

  it('a stream that opens with an overloaded or server error event is retried: the client sees a clean stream', async () => {
    const s = await stack({ sim: { faults: { openingError: 0.3 }, seed: 11 }, config: { retry: { max_attempts: 8, budget_ratio: 1 } } });
    const texts = await Promise.all(Array.from({ length: 10 }, () => streamText(s)));
    for (const text of texts) assert.ok(text.length > 0);
    for (let i = 0; i < 10; i++) {
      const stream = await s.openai.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      assert.ok(text.length > 0);
    }
    assert.ok(s.sim.stats().total.errors > 0, 'some streams opened with an error');
  });

  it("requests beyond a provider's connections wait in the queue, not inside the HTTP client, and within their deadline", async () => {
    const s = await stack({ sim: { latency: { ttftMs: 300 } }, provider: { connections: 2 } });
    const answers = await Promise.all(Array.from({ length: 6 }, () => ask(s)));
    const peak = Math.max(...Object.values(s.sim.stats().keys).map((key) => key.peakConcurrency));
    assert.ok(s.sim.stats().total.peakConcurrency <= 2, `at most 2 upstream at once, saw ${s.sim.stats().total.peakConcurrency} (per key ${peak})`);
    const queued = answers.map((answer) => Number(answer.response.headers.get('x-spillway-queue-ms')));
    assert.ok(queued.filter((ms) => ms >= 250).length >= 2, `the queue saw the wait: ${queued.join(', ')}`);

    // Both connections busy for 300 ms; a request allowed to wait 100 ms is told so at once.
    const busy = [ask(s), ask(s)];
    await assert.rejects(ask(s, { 'x-spillway-max-wait': '0.1' }), (error: unknown) => {
      assert.equal((error as { status?: number }).status, 429);
      return true;
    });
    await Promise.all(busy);
  });

  it('retry.max_attempts above 4 is honoured', async () => {
    const s = await stack({ config: { retry: { max_attempts: 5, budget_ratio: 1 } } });
    for (let i = 0; i < 5; i++) await ask(s); // requests the retry budget counts
    s.sim.setOptions({ faults: { serverError: 1 } });
    s.sim.resetStats();
    const response = await fetch(`${s.gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'client-key', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hello' }] }),
    });
    assert.equal(response.status, 500);
    assert.equal(response.headers.get('x-spillway-attempts'), '5');
    assert.equal(s.sim.stats().total.requests, 5);
  });
});
