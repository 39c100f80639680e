/**
 * Interactive latency with shadow on vs off: two gateways side by side in one run, the same
 * simulated primary (200 ms to first token) behind both; one also copies every answered request
 * (share 1.0) to a candidate on a simulator of its own. Each round runs off, on, off again, so
 * drift in the machine's load hits both alike, and the two off runs give the noise (A/A) to judge
 * the on/off ratio against; every round is printed, so the spread between rounds shows too. The
 * client's latency is measured to the end of its answer. The two gateways and the load share this
 * process (the simulators run in processes of their own), so the copies' CPU in the gateway (a
 * second upstream call, scoring and storing per request) is in the figures: the cost the check is
 * about.
 *
 *   npm run bench:shadow            (SHADOW_N=400 SHADOW_CONCURRENCY=8 SHADOW_ROUNDS=3 SHADOW_SHARE=1 to change)
 */
import { mkdtempSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import type { ConfigInput } from '../src/config/schema.js';
import { startGateway } from '../src/server/gateway.js';
import { spawnSimulator } from '../test/support/replicas.js';

const N = Number(process.env.SHADOW_N ?? 400);
const CONCURRENCY = Number(process.env.SHADOW_CONCURRENCY ?? 8);
const ROUNDS = Number(process.env.SHADOW_ROUNDS ?? 3);
/** The route's shadow share: 1.0 doubles the upstream work of every request, the worst case. */
const SHARE = Number(process.env.SHADOW_SHARE ?? 1);
const limits = { rpm: 100_000_000, itpm: 1e12, otpm: 1e12 };
const keys = [{ id: 'bench', key: 'sk-sim-bench', limits }];

// Each provider a process of its own, as it is a machine of its own: in this process the
// candidate's simulator would charge its own work to the gateway that shadows.
const primary = await spawnSimulator({ keys, window: 'minute', latency: { ttftMs: 200, tokensPerSecond: 2000 }, outputTokens: 40 });
const candidate = await spawnSimulator({ keys, window: 'minute', latency: { ttftMs: 300, tokensPerSecond: 1000 }, outputTokens: 40 });

function config(shadow: boolean): ConfigInput {
  return {
    data_dir: mkdtempSync(join(tmpdir(), 'spillway-bench-shadow-')),
    usage: { enabled: false },
    cache: { exact: { enabled: false } },
    providers: {
      anthropic: { type: 'anthropic', base_url: primary.url, keys },
      vendor: { type: 'anthropic', base_url: candidate.url, keys },
    },
    routes: { '*': { targets: [{ provider: 'anthropic' }], ...(shadow ? { shadow: { target: { provider: 'vendor' }, share: SHARE } } : {}) } },
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
const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
const load1 = () => os.loadavg()[0]!.toFixed(2);
try {
  await load(off.url);
  await load(on.url); // warm-up
  const offA: number[] = [];
  const offB: number[] = [];
  const onAll: number[] = [];
  const rounds: Array<Record<string, string>> = [];
  for (let round = 0; round < ROUNDS; round++) {
    const a = await load(off.url);
    const o = await load(on.url);
    const b = await load(off.url);
    offA.push(...a);
    onAll.push(...o);
    offB.push(...b);
    const offRound = sorted([...a, ...b]);
    rounds.push({
      round: String(round + 1),
      'off p50': at(a, 0.5).toFixed(1),
      'on p50': at(o, 0.5).toFixed(1),
      'off again p50': at(b, 0.5).toFixed(1),
      'off p95': at(a, 0.95).toFixed(1),
      'on p95': at(o, 0.95).toFixed(1),
      'off again p95': at(b, 0.95).toFixed(1),
      'p95 on/off': (at(o, 0.95) / at(offRound, 0.95)).toFixed(3),
      'p95 off/off (noise)': (at(b, 0.95) / at(a, 0.95)).toFixed(3),
      'load 1m': load1(),
    });
  }
  const offAll = sorted([...offA, ...offB]);
  const offAs = sorted(offA);
  const offBs = sorted(offB);
  const onAs = sorted(onAll);
  // Let the last copies land before counting the pairs.
  for (let tries = 0; tries < 100 && (await on.gateway.shadow.report(undefined, 0)).pairs < SHARE * (ROUNDS + 1) * N * 0.9 - on.gateway.shadow.skipped; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const pairs = (await on.gateway.shadow.report(undefined, 0)).pairs;
  console.log(`\nShadow on vs off: ${ROUNDS} rounds of off, on, off again, ${N} non-streaming requests each at concurrency ${CONCURRENCY}; primary 200 ms to first token; ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  console.log('Each round, in ms:');
  console.table(rounds);
  console.log('All rounds together:');
  console.table([
    { shadow: 'off', 'p50 ms': at(offAll, 0.5).toFixed(1), 'p95 ms': at(offAll, 0.95).toFixed(1), 'p99 ms': at(offAll, 0.99).toFixed(1) },
    { shadow: `on (share ${SHARE})`, 'p50 ms': at(onAs, 0.5).toFixed(1), 'p95 ms': at(onAs, 0.95).toFixed(1), 'p99 ms': at(onAs, 0.99).toFixed(1) },
  ]);
  console.log(
    `p50 ratio on/off ${(at(onAs, 0.5) / at(offAll, 0.5)).toFixed(3)} (noise, off/off: ${(at(offBs, 0.5) / at(offAs, 0.5)).toFixed(3)}), ` +
      `p95 ratio ${(at(onAs, 0.95) / at(offAll, 0.95)).toFixed(3)} (off/off: ${(at(offBs, 0.95) / at(offAs, 0.95)).toFixed(3)}); ` +
      `${pairs} shadow pairs scored, ${on.gateway.shadow.skipped} copies skipped`,
  );
} finally {
  await off.close();
  await on.close();
  await primary.stop();
  await candidate.stop();
}
