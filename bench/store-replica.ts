/**
 * One replica of bench/store.ts, in a process of its own (as a gateway replica would be): admits
 * and settles against the shared store in a closed loop and reports how many it did and how long
 * each admission took. No upstream: the time measured is the store's alone.
 */
import { RedisKeyPool } from '../src/store/redis-pool.js';
import { RedisStore, type RedisStoreOptions } from '../src/store/redis-store.js';

export interface ReplicaJob {
  store: Pick<RedisStoreOptions, 'url' | 'nodes' | 'prefix'>;
  pools: number;
  keysPerPool: number;
  concurrency: number;
  durationMs: number;
}

export interface ReplicaReport {
  admissions: number;
  refused: number;
  /** Admission latency (tryReserve), ms, one per admission. */
  latencies: number[];
  /** Whole admit + settle cycles, ms. */
  cycles: number[];
}

const job = JSON.parse(process.argv[2]!) as ReplicaJob;
// Limits far above what the store can do: every admission succeeds, so the loop measures the store.
const limits = { rpm: 1e12, itpm: 1e15, otpm: 1e15 };
// A generous command timeout: on a loaded machine a slow reply is the figure, not an outage.
const store = new RedisStore({ ...job.store, replicas: 3, heartbeatMs: 1000, commandTimeoutMs: 5000, log: (line) => console.error(line) });
const pools = Array.from(
  { length: job.pools },
  (_, p) => new RedisKeyPool(`bench-pool-${p}`, Array.from({ length: job.keysPerPool }, (_, k) => ({ id: `k${k}`, limits })), store),
);
const demand = { inputTokens: 1200, outputTokens: 300 };
const usage = { inputTokens: 1180, outputTokens: 240 };

async function loop(worker: number, until: number, report: ReplicaReport): Promise<void> {
  let turn = worker;
  while (performance.now() < until) {
    const pool = pools[turn++ % pools.length]!;
    const start = performance.now();
    const result = await pool.tryReserve(demand, Date.now());
    const admitted = performance.now();
    if (!result.ok) {
      report.refused++;
      continue;
    }
    await pool.settle(result.reservation, usage, Date.now());
    report.admissions++;
    report.latencies.push(admitted - start);
    report.cycles.push(performance.now() - start);
  }
}

process.once('message', async () => {
  // Warm: the scripts loaded, the cluster's slot map read.
  await Promise.all(pools.map(async (pool) => {
    const r = await pool.tryReserve(demand, Date.now());
    if (r.ok) await pool.settle(r.reservation, usage, Date.now());
  }));
  process.send!('warm');
  process.once('message', async () => {
    const report: ReplicaReport = { admissions: 0, refused: 0, latencies: [], cycles: [] };
    const until = performance.now() + job.durationMs;
    await Promise.all(Array.from({ length: job.concurrency }, (_, w) => loop(w, until, report)));
    if (store.degraded || pools.some((pool) => pool.degraded)) report.refused = -1;
    process.send!(report, () => {
      void Promise.all(pools.map((pool) => pool.close())).then(() => process.exit(0));
    });
  });
});
process.send!('ready');
