/**
 * Exact-cache costs measured in one run:
 *  1. lookup + replay of a typical cached answer (key hash, store get, SSE replay), in µs;
 *  2. memory held by a 16 MB store under a flood of 100k distinct prompts.
 * Run: npx tsx bench/cache.ts   (add --expose-gc via NODE_OPTIONS for steadier heap figures)
 */
import { exactKey, type KeyInput } from '../src/cache/key.js';
import { anthropicEntry, type AnthropicMessage } from '../src/cache/entry.js';
import { replayAnthropic } from '../src/cache/anthropic-answer.js';
import { replayOpenAI } from '../src/cache/openai-answer.js';
import { MemoryCacheStore } from '../src/cache/memory-store.js';

function request(prompt: string): KeyInput {
  return {
    surface: 'anthropic',
    scope: 'c0ffee0123456789',
    plan: 'anthropic/claude-sonnet-4-5',
    body: {
      model: 'claude-sonnet',
      max_tokens: 1024,
      temperature: 0,
      stream: true,
      system: 'You are a helpful coding assistant. Answer concisely and show code when useful.',
      messages: [{ role: 'user', content: prompt }],
    },
  };
}

function message(text: string): AnthropicMessage {
  return {
    id: 'msg_bench',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5',
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 120, output_tokens: 300 },
  };
}

const answerText = 'Use `list.reverse()` to reverse in place, or `reversed(xs)` for an iterator. '.repeat(16); // ~1.2 kB

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

// 1. lookup + replay
{
  const store = new MemoryCacheStore();
  const prompt = 'How do I reverse a list in Python? Show both the in-place and the copying way.';
  store.set(exactKey(request(prompt)), anthropicEntry(message(answerText), Date.now()));
  const samples: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 20_000; i++) {
    const start = process.hrtime.bigint();
    const entry = store.get(exactKey(request(prompt)));
    if (!entry || entry.surface !== 'anthropic') throw new Error('cache miss in the benchmark');
    bytes += replayAnthropic(entry.message).length;
    samples.push(Number(process.hrtime.bigint() - start) / 1_000);
  }
  samples.splice(0, 2_000); // warm-up
  samples.sort((a, b) => a - b);
  console.log(`exact hit, Anthropic SSE replay (~${answerText.length} chars): median ${quantile(samples, 0.5).toFixed(1)} µs, p99 ${quantile(samples, 0.99).toFixed(1)} µs (${samples.length} runs, ${mb(bytes)} replayed)`);

  const completion = {
    id: 'chatcmpl-bench',
    object: 'chat.completion' as const,
    created: 0,
    model: 'gpt-test',
    choices: [{ index: 0, message: { role: 'assistant' as const, content: answerText }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 120, completion_tokens: 300, total_tokens: 420 },
  };
  const openAISamples: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const start = process.hrtime.bigint();
    exactKey({ ...request(prompt), surface: 'openai' });
    replayOpenAI(completion, { includeUsage: true });
    openAISamples.push(Number(process.hrtime.bigint() - start) / 1_000);
  }
  openAISamples.splice(0, 2_000);
  openAISamples.sort((a, b) => a - b);
  console.log(`exact hit, OpenAI SSE replay: median ${quantile(openAISamples, 0.5).toFixed(1)} µs, p99 ${quantile(openAISamples, 0.99).toFixed(1)} µs`);
}

// 2. memory under a flood
{
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const budget = 16 * 1024 * 1024;
  const store = new MemoryCacheStore({ maxBytes: budget });
  const started = Date.now();
  for (let i = 0; i < 100_000; i++) {
    const text = `Answer number ${i}: ${answerText.slice(0, 200 + (i % 800))}`;
    store.set(exactKey(request(`distinct prompt ${i}`)), anthropicEntry(message(text), Date.now()));
  }
  const elapsed = Date.now() - started;
  gc();
  const heapAfter = process.memoryUsage().heapUsed;
  const stats = store.stats();
  console.log(
    `flood of 100k distinct prompts into a ${mb(budget)} store in ${elapsed} ms: ${stats.entries} entries, store accounts ${mb(stats.bytes)} (≤ budget: ${stats.bytes <= budget}); heap ${mb(heapBefore)} → ${mb(heapAfter)} (+${mb(heapAfter - heapBefore)})`,
  );
  if (!(globalThis as { gc?: unknown }).gc) console.log('(heap figures include garbage not yet collected; run with NODE_OPTIONS=--expose-gc for exact ones)');
}

// 3. end to end: a cache hit through the gateway vs the same request sent straight to the provider
{
  const { startSimulator } = await import('../src/sim/index.js');
  const { startGateway } = await import('../src/server/gateway.js');
  const { Agent, request: send } = await import('undici');
  const key = { id: 'bench', key: 'sk-sim-bench', limits: { rpm: 1e9, itpm: 1e12, otpm: 1e12 } };
  const sim = await startSimulator({ keys: [key] });
  const gateway = await startGateway(
    { providers: { anthropic: { type: 'anthropic', base_url: sim.url, keys: [key] } }, routes: { '*': { targets: [{ provider: 'anthropic' }] } } },
    { port: 0, quiet: true },
  );
  const agent = new Agent({ connections: 1 });
  const body = JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 64, temperature: 0, messages: [{ role: 'user', content: 'Reverse a list in Python.' }] });
  const time = async (url: string, runs: number) => {
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      const response = await send(`${url}/v1/messages`, {
        method: 'POST',
        body,
        dispatcher: agent,
        headers: { 'content-type': 'application/json', 'x-api-key': key.key, 'anthropic-version': '2023-06-01' },
      });
      await response.body.arrayBuffer();
      samples.push(performance.now() - start);
    }
    samples.splice(0, runs / 10);
    return samples.sort((a, b) => a - b);
  };
  const direct = await time(sim.url, 5_000);
  const hits = await time(gateway.url, 5_000);
  console.log(
    `end to end, one connection: provider directly median ${quantile(direct, 0.5).toFixed(3)} ms; cache hit through spillway median ${quantile(hits, 0.5).toFixed(3)} ms, p99 ${quantile(hits, 0.99).toFixed(3)} ms (upstream requests: ${sim.stats().total.requests - 5_000})`,
  );
  await agent.close();
  await gateway.close();
  await sim.close();
}
