/**
 * Chaos: 500 requests per official SDK (Anthropic and OpenAI, default settings: 2 retries, 600 s
 * timeout) through spillway to a provider that fails a quarter of the time: 10% 529/503 overloaded,
 * 5% 500, 3% connection resets, 2% stalls before the first byte and 5% non-streamed answers cut
 * mid-body. Half the requests stream (a stream cannot be cut mid-body and still be retried, so cuts
 * fall on the non-streamed half). Prints client failures, upstream attempts per request (the floor
 * for independent faults at rate p is 1/(1-p)) and latency percentiles, against the targets:
 * 0 failures, ≤ 1.3 attempts per request, p99 well under the SDK's 600 s timeout.
 * The simulator and the gateway run in processes of their own; this process is the clients.
 *
 *   npm run bench:chaos            (CHAOS_COUNT=N for another count per SDK; CHAOS_BUDGET=0.5 for
 *                                   another retry.budget_ratio than the default 0.2)
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimKey } from '../src/sim/index.js';
import { spawnGateway, spawnSimulator } from '../test/support/replicas.js';

const PER_SDK = Number(process.env.CHAOS_COUNT ?? 500);
/** Clients in flight per SDK. */
const CONCURRENCY = 50;
const MAX_TOKENS = 32;
/** retry.budget_ratio; unset: the default. */
const BUDGET = process.env.CHAOS_BUDGET === undefined ? undefined : Number(process.env.CHAOS_BUDGET);
const FAULTS = { overloaded: 0.1, server_error: 0.05, reset: 0.03, stall: 0.02, cut_body: 0.05 };

interface Outcome {
  ok: boolean;
  ms: number;
  stream: boolean;
  error?: string;
}

interface Run {
  outcomes: Outcome[];
  /** HTTP requests the SDK sent to spillway (its own retries included). */
  sdkRequests: number;
}

/** The SDK's fetch, counted: each call is one request the client sent (its retries included). */
function countingFetch(counter: { n: number }): typeof fetch {
  return (input, init) => {
    counter.n++;
    return fetch(input, init);
  };
}

async function runPool(count: number, one: (i: number) => Promise<void>, isStream: (i: number) => boolean): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const started = performance.now();
      try {
        await one(i);
        outcomes.push({ ok: true, ms: performance.now() - started, stream: isStream(i) });
      } catch (error) {
        outcomes.push({ ok: false, ms: performance.now() - started, stream: isStream(i), error: error instanceof Error ? error.message : String(error) });
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return outcomes;
}

const streamed = (i: number) => i % 2 === 1;
const prompt = (i: number) => [{ role: 'user' as const, content: `chaos request ${i}: say something short` }];

async function anthropicRun(baseURL: string): Promise<Run> {
  const counter = { n: 0 };
  const client = new Anthropic({ baseURL, apiKey: 'chaos-client', fetch: countingFetch(counter) });
  const outcomes = await runPool(
    PER_SDK,
    async (i) => {
      if (streamed(i)) {
        const message = await client.messages.stream({ model: 'claude-haiku-4-5', max_tokens: MAX_TOKENS, messages: prompt(i) }).finalMessage();
        if (message.content.length === 0) throw new Error('empty message');
      } else {
        const message = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: MAX_TOKENS, messages: prompt(i) });
        if (message.type !== 'message') throw new Error('not a message');
      }
    },
    streamed,
  );
  return { outcomes, sdkRequests: counter.n };
}

async function openaiRun(baseURL: string): Promise<Run> {
  const counter = { n: 0 };
  const client = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: 'chaos-client', fetch: countingFetch(counter) });
  const outcomes = await runPool(
    PER_SDK,
    async (i) => {
      if (streamed(i)) {
        const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: MAX_TOKENS, messages: prompt(i), stream: true });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
        if (text.length === 0) throw new Error('empty stream');
      } else {
        const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: MAX_TOKENS, messages: prompt(i) });
        if (completion.object !== 'chat.completion') throw new Error('not a completion');
      }
    },
    streamed,
  );
  return { outcomes, sdkRequests: counter.n };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const generous = { rpm: 1_000_000, itpm: 1_000_000_000, otpm: 1_000_000_000 };
const keys = (prefix: string): SimKey[] => [1, 2].map((n) => ({ id: `${prefix}${n}`, key: `sk-chaos-${prefix}${n}`, limits: generous }));
const anthropicKeys = keys('a');
const openaiKeys = keys('o');

const sim = await spawnSimulator({
  keys: [...anthropicKeys, ...openaiKeys],
  window: 'minute',
  latency: { ttftMs: 50, tokensPerSecond: 1000 },
  outputTokens: 24,
  faults: FAULTS,
  seed: 12,
});
const dataDir = mkdtempSync(join(tmpdir(), 'spillway-chaos-'));
const gateway = await spawnGateway({
  server: { host: '127.0.0.1', port: 0 },
  data_dir: dataDir,
  usage: { enabled: false },
  batches: { enabled: false },
  // Every request is a new prompt, but keep the cache out of the measurement all the same.
  cache: { exact: { enabled: false }, semantic: { enabled: false }, negative: { enabled: false } },
  providers: {
    anthropic: { type: 'anthropic', base_url: sim.url, keys: anthropicKeys },
    openai: { type: 'openai', base_url: `${sim.url}/v1`, keys: openaiKeys },
  },
  routes: { 'gpt-*': { targets: [{ provider: 'openai' }] }, '*': { targets: [{ provider: 'anthropic' }] } },
  ...(BUDGET === undefined ? {} : { retry: { budget_ratio: BUDGET } }),
});

try {
  const started = performance.now();
  const [anthropic, openai] = await Promise.all([anthropicRun(gateway.url), openaiRun(gateway.url)]);
  const elapsed = performance.now() - started;
  const stats = await sim.stats();
  const upstreamOf = (ids: SimKey[]) => ids.reduce((sum, key) => sum + (stats.keys[key.id]?.requests ?? 0), 0);
  const faultedOf = (ids: SimKey[]) => ids.reduce((sum, key) => sum + (stats.keys[key.id]?.errors ?? 0), 0);

  const rows = (
    [
      ['Anthropic SDK', anthropic, anthropicKeys],
      ['OpenAI SDK', openai, openaiKeys],
    ] as const
  ).map(([sdk, run, ids]) => {
    const ms = run.outcomes.map((o) => o.ms).sort((a, b) => a - b);
    const failures = run.outcomes.filter((o) => !o.ok);
    for (const failure of failures.slice(0, 3)) console.error(`${sdk} failure (${failure.stream ? 'stream' : 'non-stream'}): ${failure.error}`);
    const upstream = upstreamOf(ids);
    return {
      sdk,
      requests: run.outcomes.length,
      'client failures': failures.length,
      'SDK retries': run.sdkRequests - run.outcomes.length,
      'upstream attempts': upstream,
      'faults drawn': faultedOf(ids),
      'attempts/request': Number((upstream / run.outcomes.length).toFixed(3)),
      'p50 s': Number((percentile(ms, 50) / 1000).toFixed(2)),
      'p99 s': Number((percentile(ms, 99) / 1000).toFixed(2)),
      'max s': Number((percentile(ms, 100) / 1000).toFixed(2)),
    };
  });
  const rate = Object.values(FAULTS).reduce((a, b) => a + b, 0);
  console.log(`\nchaos: ${PER_SDK} requests per SDK (half streamed), ${CONCURRENCY} at once each, SDK defaults, retry.budget_ratio ${BUDGET ?? '0.2 (default)'}; upstream faults:`);
  console.log(`  10% overloaded, 5% 500, 3% resets, 2% stalls before the first byte, 5% non-streamed answers cut mid-body`);
  console.log(`  (non-streamed requests meet ${Math.round(rate * 100)}% faults, streamed ones ${Math.round((rate - FAULTS.cut_body) * 100)}%)\n`);
  console.table(rows);
  const floor = (1 / (1 - rate) + 1 / (1 - rate + FAULTS.cut_body)) / 2;
  console.log(`attempts/request floor for independent faults at these rates: ${floor.toFixed(3)}; target ≤ 1.3`);
  const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const failures = rows.reduce((sum, row) => sum + row['client failures'], 0);
  const worstAttempts = Math.max(...rows.map((row) => row['attempts/request']));
  const worstP99 = Math.max(...rows.map((row) => row['p99 s']));
  console.log(`0 client failures: ${met(failures === 0)} (${failures}); ≤ 1.3 attempts/request: ${met(worstAttempts <= 1.3)} (${worstAttempts});`);
  console.log(`p99 well under the SDK's 600 s: ${met(worstP99 < 120)} (${worstP99} s, ${Math.round((worstP99 / 600) * 100)}% of it). Wall time ${(elapsed / 1000).toFixed(1)} s.`);
  console.log('"SDK retries": answers spillway gave up on (retry budget or attempts spent) that the SDK then retried itself.');
} finally {
  await gateway.stop();
  await sim.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
