/**
 * Gateway overhead: the simulator with zero latency, the same N requests at fixed concurrency sent
 * directly, through a bare Node proxy (bench/bare-proxy.ts: the cost of the extra hop alone) and
 * through spillway. The simulator and the proxies run as their own processes (as in production),
 * the load comes from this one.
 *
 *   npm run bench:overhead            (OVERHEAD_N=20000 OVERHEAD_CONCURRENCY=1,4,16 to change)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';

const N = Number(process.env.OVERHEAD_N ?? 10_000);
const CONCURRENCY_LEVELS = (process.env.OVERHEAD_CONCURRENCY ?? '1,16').split(',').map(Number);
const WARMUP = 500;
const KEY = 'sk-sim-bench';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function startProcess(args: string[], script = 'src/cli/main.ts'): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

async function waitReady(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`${url} did not come up`);
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
}

const body = JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'Say hello.' }] });

async function load(url: string, CONCURRENCY: number): Promise<Run> {
  const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 30_000 });
  const headers = { 'content-type': 'application/json', 'x-api-key': KEY, 'anthropic-version': '2023-06-01' };
  const one = async () => {
    const started = performance.now();
    const response = await request(`${url}/v1/messages`, { method: 'POST', headers, body, dispatcher: agent });
    await response.body.arrayBuffer();
    if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}`);
    return performance.now() - started;
  };
  const worker = async (count: number, latencies: number[]) => {
    for (let i = 0; i < count; i++) latencies.push(await one());
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, () => worker(WARMUP / CONCURRENCY, [])));
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, () => worker(N / CONCURRENCY, latencies)));
  const elapsed = performance.now() - started;
  await agent.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { rps: (latencies.length / elapsed) * 1000, p50: at(0.5), p99: at(0.99) };
}

const dir = mkdtempSync(join(tmpdir(), 'spillway-bench-'));
const simPort = await freePort();
const gatewayPort = await freePort();
const barePort = await freePort();
const limits = { rpm: 100_000_000, itpm: 1e12, otpm: 1e12 };
writeFileSync(join(dir, 'sim.yaml'), JSON.stringify({ port: simPort, keys: [{ id: 'bench', key: KEY, limits }] }));
writeFileSync(
  join(dir, 'spillway.yaml'),
  JSON.stringify({
    providers: { anthropic: { type: 'anthropic', base_url: `http://127.0.0.1:${simPort}`, keys: [{ id: 'bench', key: KEY, limits }] } },
    routes: { '*': { targets: [{ provider: 'anthropic' }] } },
  }),
);
const sim = startProcess(['sim', '--config', join(dir, 'sim.yaml')]);
const gateway = startProcess(['start', '--config', join(dir, 'spillway.yaml'), '--port', String(gatewayPort)]);
const bare = startProcess([String(barePort), `http://127.0.0.1:${simPort}`], 'bench/bare-proxy.ts');
try {
  await waitReady(`http://127.0.0.1:${simPort}/_sim/stats`);
  await waitReady(`http://127.0.0.1:${gatewayPort}/healthz`);
  await waitReady(`http://127.0.0.1:${barePort}/`);
  const fmt = (n: number) => n.toFixed(3);
  const rows = [];
  for (const concurrency of CONCURRENCY_LEVELS) {
    const direct = await load(`http://127.0.0.1:${simPort}`, concurrency);
    const proxied = await load(`http://127.0.0.1:${barePort}`, concurrency);
    const via = await load(`http://127.0.0.1:${gatewayPort}`, concurrency);
    rows.push({
      concurrency,
      'direct req/s': Math.round(direct.rps),
      'bare proxy req/s': Math.round(proxied.rps),
      'spillway req/s': Math.round(via.rps),
      'throughput ratio': fmt(via.rps / direct.rps),
      'direct p50/p99 ms': `${fmt(direct.p50)} / ${fmt(direct.p99)}`,
      'spillway p50/p99 ms': `${fmt(via.p50)} / ${fmt(via.p99)}`,
      'added p50 ms': fmt(via.p50 - direct.p50),
      'bare proxy added p50 ms': fmt(proxied.p50 - direct.p50),
    });
  }
  console.log(`\nGateway overhead: ${N} non-streaming requests per run, zero-latency simulator, load, simulator and proxy as processes on ${os.cpus().length} cores\n`);
  console.table(rows);
} finally {
  sim.kill();
  gateway.kill();
  bare.kill();
}
