/**
 * The admission ceiling of the shared store: admissions per second (admit + settle, no upstream
 * time) that one and three replicas sustain against one redis-server and against a three-node
 * Redis Cluster, with p50/p99 admission latency, and where the time goes: round trips per
 * admission, time inside Redis (scripts) per admission, and how busy each Redis process was.
 * Each replica is a process of its own running RedisKeyPool in a closed loop (CONCURRENCY
 * admissions in flight each) over POOLS pools of two keys; limits are far out of reach, so every
 * admission succeeds and the loop measures the store alone.
 *
 *   npm run bench:store        (needs redis-server; DURATION_MS, CONCURRENCY, POOLS to vary)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { redisBinary, startRedis, startRedisCluster } from '../test/support/redis.js';
import type { ReplicaJob, ReplicaReport } from './store-replica.js';

const DURATION_MS = Number(process.env.DURATION_MS ?? 5000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32);
const POOLS = Number(process.env.POOLS ?? 6);

if (!redisBinary) {
  console.error('bench:store needs redis-server (looked in /usr/bin and /usr/local/bin)');
  process.exit(1);
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Parses `INFO` sections into field → value. */
function infoFields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0) out.set(line.slice(0, at), line.slice(at + 1));
  }
  return out;
}

interface ServerUse {
  calls: number;
  scriptCalls: number;
  scriptUsec: number;
  cpuSeconds: number;
}

async function serverUse(ports: number[]): Promise<ServerUse[]> {
  return Promise.all(
    ports.map(async (port) => {
      const client = new Redis(port, '127.0.0.1');
      try {
        const stats = infoFields(await client.info('commandstats'));
        const cpu = infoFields(await client.info('cpu'));
        let calls = 0;
        let scriptCalls = 0;
        let scriptUsec = 0;
        for (const [name, value] of stats) {
          const fields = Object.fromEntries(value.split(',').map((pair) => pair.split('=') as [string, string]));
          const n = Number(fields.calls ?? 0);
          if (name === 'cmdstat_info' || name === 'cmdstat_config|resetstat') continue;
          calls += n;
          if (name === 'cmdstat_evalsha' || name === 'cmdstat_eval') {
            scriptCalls += n;
            scriptUsec += Number(fields.usec ?? 0);
          }
        }
        return { calls, scriptCalls, scriptUsec, cpuSeconds: Number(cpu.get('used_cpu_sys') ?? 0) + Number(cpu.get('used_cpu_user') ?? 0) };
      } finally {
        client.disconnect();
      }
    }),
  );
}

async function resetStats(ports: number[]): Promise<void> {
  await Promise.all(
    ports.map(async (port) => {
      const client = new Redis(port, '127.0.0.1');
      await client.config('RESETSTAT');
      client.disconnect();
    }),
  );
}

function message<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) => reject(new Error(`replica exited (${code})`)));
  });
}

async function measure(setup: string, store: ReplicaJob['store'], ports: number[], replicas: number): Promise<Record<string, string | number>> {
  const job: ReplicaJob = { store, pools: POOLS, keysPerPool: 2, concurrency: CONCURRENCY, durationMs: DURATION_MS };
  const children = Array.from({ length: replicas }, () =>
    fork(new URL('./store-replica.ts', import.meta.url).pathname, [JSON.stringify(job)], { execArgv: ['--import', 'tsx'] }),
  );
  await Promise.all(children.map((child) => message(child)));
  await Promise.all(children.map((child) => (child.send('warm'), message(child))));
  await resetStats(ports);
  const cpuBefore = await serverUse(ports);
  const started = performance.now();
  const reports = await Promise.all(children.map((child) => (child.send('go'), message<ReplicaReport>(child))));
  const seconds = (performance.now() - started) / 1000;
  const use = await serverUse(ports);
  const admissions = reports.reduce((sum, r) => sum + r.admissions, 0);
  if (reports.some((r) => r.refused !== 0)) throw new Error(`${setup}: admissions were refused or the store went down; the figure would not be the store's`);
  const latencies = reports.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const cycles = reports.flatMap((r) => r.cycles).sort((a, b) => a - b);
  const calls = use.reduce((sum, u) => sum + u.calls, 0);
  const scriptCalls = use.reduce((sum, u) => sum + u.scriptCalls, 0);
  const scriptUsec = use.reduce((sum, u) => sum + u.scriptUsec, 0);
  const busiest = Math.max(...use.map((u, i) => (u.cpuSeconds - cpuBefore[i]!.cpuSeconds) / seconds));
  return {
    setup,
    replicas,
    'admissions/s': Math.round(admissions / seconds),
    'admit p50 ms': percentile(latencies, 0.5).toFixed(2),
    'admit p99 ms': percentile(latencies, 0.99).toFixed(2),
    'admit+settle p50 ms': percentile(cycles, 0.5).toFixed(2),
    'round trips / admission': (scriptCalls / admissions).toFixed(2),
    'Redis commands / admission': (calls / admissions).toFixed(1),
    'script µs / admission': (scriptUsec / admissions).toFixed(1),
    'busiest Redis CPU %': Math.round(100 * busiest),
  };
}

const rows: Array<Record<string, string | number>> = [];
const single = await startRedis();
try {
  for (const replicas of [1, 3]) rows.push(await measure('one redis-server', { url: single.url, prefix: 'bench:' }, [single.port], replicas));
} finally {
  await single.stop();
}
const cluster = await startRedisCluster();
try {
  for (const replicas of [1, 3]) rows.push(await measure('3-node Redis Cluster', { nodes: cluster.urls, prefix: 'bench:' }, cluster.ports, replicas));
} finally {
  await cluster.stop();
}
console.log(`\nAdmission ceiling: admit + settle against the shared store, no upstream; ${POOLS} pools × 2 keys, ${CONCURRENCY} in flight per replica, ${DURATION_MS / 1000} s each, ${(await import('node:os')).cpus().length} CPUs on this machine\n`);
console.table(rows);
console.log('round trips / admission: script calls per admission (reserve + settle, heartbeats); Redis commands: every command Redis ran, those inside the scripts included; script µs: time inside the scripts per admission (Redis INFO commandstats).');
