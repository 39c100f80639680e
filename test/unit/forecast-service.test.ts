import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DemandForecaster, rpdCap } from '../../src/forecast/service.js';
import { pacedAdmission } from '../../src/forecast/paced-admission.js';
import { activeConditions } from '../../src/observe/alerts.js';
import type { RequestRecord } from '../../src/observe/observer.js';
import type { AdmissionPool } from '../../src/quota/queue.js';
import type { KeySnapshot } from '../../src/quota/types.js';

const NOW = Date.UTC(2026, 2, 2, 9, 0, 0); // 09:00 UTC: 15 hours to the reset
const MINUTE = 60_000;

const key = (remaining: number, over: Partial<KeySnapshot> = {}): KeySnapshot => ({
  id: 'k1',
  healthy: true,
  coolingUntil: 0,
  inFlight: 0,
  learning: false,
  predictionMisses: 0,
  dimensions: { rpm: { limit: 600, capacity: 10, remaining: 10 }, rpd: { limit: 1000, capacity: 1000, remaining } },
  ...over,
});

const served = (at: number, priority: 'interactive' | 'batch'): RequestRecord => ({
  requestId: `r${at}`,
  startedAt: at,
  surface: 'anthropic',
  tenant: 'ci',
  provider: 'p',
  model: 'claude-haiku-4-5',
  keyId: 'k1',
  status: 200,
  stream: false,
  cache: 'miss',
  queueMs: 0,
  attempts: 1,
  durationMs: 10,
  costUsd: 0.01,
  priority,
});

function forecaster(remaining: number, replicas = 1) {
  return new DemandForecaster({
    replicas: () => replicas,
    timeZone: 'UTC',
    intervalMs: MINUTE,
    prices: {},
    now: () => NOW,
    sources: {
      pools: async () => [
        { provider: 'p', keys: [key(remaining)] },
        { provider: 'open', keys: [key(0, { dimensions: { rpm: { limit: 60, capacity: 1, remaining: 1 } } })] },
      ],
      budgets: () => [{ tenant: 'ci', window: 'daily', limitUsd: 10, spentUsd: 2, resetsAt: Date.UTC(2026, 2, 3) }],
    },
  });
}

/** Three hours of 10 interactive requests a minute, then the refit at 09:00. */
async function busyMorning(remaining: number, replicas = 1) {
  const f = forecaster(remaining, replicas);
  for (let m = 180; m >= 1; m--) for (let i = 0; i < 10; i++) f.record(served(NOW - m * MINUTE + i * 100, 'interactive'));
  await f.refit(NOW);
  return f;
}

describe('the forecaster on a fake clock', () => {
  it('projects a pool whose rpd the morning\'s pace spends within the hour, and a tenant\'s budget', async () => {
    const f = await busyMorning(500);
    const pool = f.forecasts().find((x) => x.kind === 'pool' && x.name === 'p')!;
    // 500 left at 10 a minute (the rpd bucket refills 1000/day, 0.69 a minute): about 54 minutes.
    assert.ok(pool.exhaustAt! > NOW + 50 * MINUTE && pool.exhaustAt! < NOW + 58 * MINUTE, `exhaustion ${(pool.exhaustAt! - NOW) / MINUTE} min`);
    assert.equal(pool.resetAt, Date.UTC(2026, 2, 3));
    assert.equal(pool.batchPerMinute, 0, 'interactive alone needs more than what is left');
    assert.ok(!f.forecasts().some((x) => x.name === 'open'), 'a pool without a daily cap is not projected');
    const tenant = f.forecasts().find((x) => x.kind === 'tenant')!;
    // $8 left at $0.10 a minute: 80 minutes.
    assert.ok(Math.abs(tenant.exhaustAt! - (NOW + 80 * MINUTE)) < 2 * MINUTE, `tenant exhaustion ${(tenant.exhaustAt! - NOW) / MINUTE} min`);
    assert.equal(tenant.unit, 'usd');
  });

  it('lets no batch through the pace beyond its one of burst, and interactive through untouched', async () => {
    const f = await busyMorning(500);
    const calls: string[] = [];
    const inner: AdmissionPool = {
      id: 'p',
      tryReserve: (_demand, now, priority) => {
        calls.push(priority);
        return { ok: true, reservation: { poolId: 'p', keyId: 'k1', demand: { inputTokens: 1, outputTokens: 1 }, at: now } };
      },
    };
    const paced = pacedAdmission(inner, 'p', f);
    const demand = { inputTokens: 1, outputTokens: 1 };
    assert.equal((paced.tryReserve(demand, NOW, 'batch') as { ok: boolean }).ok, true);
    const held = paced.tryReserve(demand, NOW + 1, 'batch') as { ok: false; waitMs: number };
    assert.equal(held.ok, false);
    assert.equal(held.waitMs, MINUTE, 'a zero allowance is asked again at the next refit');
    assert.equal((paced.tryReserve(demand, NOW + 2, 'interactive') as { ok: boolean }).ok, true);
    assert.deepEqual(calls, ['batch', 'interactive'], 'the held batch request never reached the pool');
    assert.equal(f.batchWait('open', NOW), 0);
  });

  it('scales the share tiering sees by how much of the day the cap lasts', async () => {
    const f = await busyMorning(500);
    const share = f.foresight('p', 0.5, NOW);
    assert.ok(share > 0 && share < 0.5 * 0.07, `share ${share}`); // ~54 min of 15 h
    assert.equal(f.foresight('open', 0.5, NOW), 0.5);
  });

  it('an ample day is neither paced nor alerted', async () => {
    const f = forecaster(1000);
    for (let m = 180; m >= 1; m--) f.record(served(NOW - m * MINUTE, 'interactive'));
    await f.refit(NOW);
    const pool = f.forecasts().find((x) => x.name === 'p')!;
    assert.equal(pool.exhaustAt, undefined);
    assert.equal(pool.batchPerMinute, undefined);
    assert.equal(f.batchWait('p', NOW), 0);
    const conditions = activeConditions({ keys: [], upstream429LastMinute: 0, queueDepth: 0, recentRequests: 0, recentFallbacks: 0, forecasts: f.forecasts() }, { rpm_utilisation: 1, daily_utilisation: 1, upstream_429_per_minute: 1e9, queue_depth: 1e9, fallback_rate: 1 });
    assert.ok(!conditions.some((c) => c.kind === 'quota_exhaustion' && c.labels.pool === 'p'), JSON.stringify(conditions));
  });

  it('a short day raises one quota_exhaustion alert per cap naming the projected time', async () => {
    const f = await busyMorning(500);
    const conditions = activeConditions({ keys: [], upstream429LastMinute: 0, queueDepth: 0, recentRequests: 0, recentFallbacks: 0, forecasts: f.forecasts() }, { rpm_utilisation: 1, daily_utilisation: 1, upstream_429_per_minute: 1e9, queue_depth: 1e9, fallback_rate: 1 });
    const alerts = conditions.filter((c) => c.kind === 'quota_exhaustion');
    assert.deepEqual(alerts.map((c) => c.id).sort(), [`quota_exhaustion:pool:p:${Date.UTC(2026, 2, 3)}`, `quota_exhaustion:tenant:ci:${Date.UTC(2026, 2, 3)}`]);
    assert.match(alerts.find((c) => c.labels.pool === 'p')!.summary, /pool p's daily requests are projected to run out at 2026-03-02T09:5\d/);
  });

  it('with two replicas sharing the pool, each counts the other\'s demand as its own and the cap runs out twice as soon', async () => {
    const f = await busyMorning(500, 2);
    const pool = f.forecasts().find((x) => x.kind === 'pool')!;
    assert.ok(pool.exhaustAt! > NOW + 24 * MINUTE && pool.exhaustAt! < NOW + 28 * MINUTE, `exhaustion ${(pool.exhaustAt! - NOW) / MINUTE} min`);
    const tenant = f.forecasts().find((x) => x.kind === 'tenant')!;
    assert.ok(Math.abs(tenant.exhaustAt! - (NOW + 80 * MINUTE)) < 2 * MINUTE, 'a tenant ledger is per process: not scaled');
  });

  it('a pool\'s cap counts the keys in service only', () => {
    assert.deepEqual(rpdCap([key(100), key(50, { healthy: false })], 0), { remaining: 100, limit: 1000, refillPerMs: 1000 / 86_400_000, resetAt: 0 });
    assert.equal(rpdCap([key(0, { dimensions: {} })], 0), undefined);
  });
});
