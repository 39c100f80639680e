/**
 * Interactive latency with shadow on vs off: two gateways side by side in one run, the same
 * simulated primary (200 ms to first token) behind both; one also copies every answered request
 * (share 1.0) to a candidate on a simulator of its own. Each round runs off, on, off again, so
 * drift in the machine's load hits both alike, and the two off runs give the noise (A/A) to judge
 * the on/off ratio against. The client's latency is measured to the end of its answer.
 *
 *   npm run bench:shadow            (SHADOW_N=400 SHADOW_CONCURRENCY=8 SHADOW_ROUNDS=3 to change)
 */
import { mkdtempSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import type { ConfigInput } from '../src/config/schema.js';
import { startGateway } from '../src/server/gateway.js';
import { startSimulator } from '../src/sim/index.js';

const N = Number(process.env.SHADOW_N ?? 400);
const CONCURRENCY = Number(process.env.SHADOW_CONCURRENCY ?? 8);
const ROUNDS = Number(process.env.SHADOW_ROUNDS ?? 3);
const limits = { rpm: 100_000_000, itpm: 1e12, otpm: 1e12 };
const keys = [{ id: 'bench', key: 'sk-sim-bench', limits }];

const primary = await startSimulator({ keys, latency: { ttftMs: 200, tokensPerSecond: 2000 }, outputTokens: 40 });
const candidate = await startSimulator({ keys, latency: { ttftMs: 300, tokensPerSecond: 1000 }, outputTokens: 40 });

function config(shadow: boolean): ConfigInput {
  return {
    data_dir: mkdtempSync(join(tmpdir(), 'spillway-bench-shadow-')),
    usage: { enabled: false },
    cache: { exact: { enabled: false } },
    providers: {
      anthropic: { type: 'anthropic', base_url: primary.url, keys },
      vendor: { type: 'anthropic', base_url: candidate.url, keys },
    },
    routes: { '*': { targets: [{ provider: 'anthropic' }], ...(shadow ? { shadow: { target: { provider: 'vendor' }, share: 1 } } : {}) } },
  };
}

const off = await startGateway(config(false), { port: 0, quiet: true });
const on = await startGateway(config(true), { port: 0, quiet: true });

async function load(url: string): Promise<number[]> {
  const client = new Anthropic({ baseURL: url, apiKey: 'bench', maxRetries: 0 });
  const latencies: number[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < N; i = next++) {
      const started = performance.now();
      await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 64, messages: [{ role: 'user', content: `question ${i}` }] });
      latencies.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return latencies.sort((a, b) => a - b);
}

const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
try {
  await load(off.url);
  await load(on.url); // warm-up
  const offA: number[] = [];
  const offB: number[] = [];
  const onAll: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    offA.push(...(await load(off.url)));
    onAll.push(...(await load(on.url)));
    offB.push(...(await load(off.url)));
  }
  const offAll = [...offA, ...offB].sort((a, b) => a - b);
  offA.sort((a, b) => a - b);
  offB.sort((a, b) => a - b);
  onAll.sort((a, b) => a - b);
  const pairs = (await on.gateway.shadow.report(undefined, 0)).pairs;
  console.log(`\nShadow on vs off: ${ROUNDS} × ${N} non-streaming requests each at concurrency ${CONCURRENCY}, primary 200 ms to first token, ${os.cpus().length} cores\n`);
  console.table([
    { shadow: 'off', 'p50 ms': at(offAll, 0.5).toFixed(1), 'p95 ms': at(offAll, 0.95).toFixed(1), 'p99 ms': at(offAll, 0.99).toFixed(1) },
    { shadow: 'on (share 1.0)', 'p50 ms': at(onAll, 0.5).toFixed(1), 'p95 ms': at(onAll, 0.95).toFixed(1), 'p99 ms': at(onAll, 0.99).toFixed(1) },
  ]);
  console.log(
    `p50 ratio on/off ${(at(onAll, 0.5) / at(offAll, 0.5)).toFixed(3)} (noise, off/off: ${(at(offB, 0.5) / at(offA, 0.5)).toFixed(3)}), ` +
      `p95 ratio ${(at(onAll, 0.95) / at(offAll, 0.95)).toFixed(3)} (off/off: ${(at(offB, 0.95) / at(offA, 0.95)).toFixed(3)}); ` +
      `${pairs} shadow pairs scored, ${on.gateway.shadow.skipped} copies skipped`,
  );
} finally {
  await off.close();
  await on.close();
  await primary.close();
  await candidate.close();
}
