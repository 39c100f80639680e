/**
 * Issue 17, the day ahead, through real sockets: a pool whose daily request cap (rpd 300) the
 * demand in its usage log (20 requests a minute for the last three hours) would spend within the
 * hour. The gateway seeds its forecast from that log at start, projects the day, and then: the
 * alert webhook names the projected exhaustion time, /metrics shows the forecast against the
 * capacity and the seconds to exhaustion, the dashboard state carries it, batch requests are paced
 * (held back) while interactive ones are all served, and a tiered route steps down to its cheaper
 * model although most of today's quota is still there (a gateway without the forecast does not).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import type { ConfigInput } from '../../src/config/schema.js';
import { UsageLog } from '../../src/observe/usage-log.js';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { generousLimits } from '../support/stack.js';
import { startWebhookSink, type WebhookSink } from '../support/webhook-sink.js';

const ADMIN_KEY = 'admin-day-ahead';

/** A time zone in which it is about 03:00 now, so the reset is hours away whenever the test runs. */
function zoneAtThreeAm(now: number): string {
  let offset = (3 - new Date(now).getUTCHours() + 24) % 24;
  if (offset > 14) offset -= 24;
  return offset === 0 ? 'UTC' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}

/** Three hours of usage log: 20 requests a minute served by anthropic/k1. */
function writeHistory(dataDir: string, now: number): void {
  const log = new UsageLog(dataDir);
  for (let minute = 180; minute >= 1; minute--) {
    for (let i = 0; i < 20; i++) {
      log.request({
        requestId: `seed-${minute}-${i}`,
        startedAt: now - minute * 60_000 + i * 1000,
        surface: 'anthropic',
        requestedModel: 'claude-haiku-4-5',
        provider: 'anthropic',
        model: 'claude-haiku-4-5',
        keyId: 'k1',
        status: 200,
        stream: false,
        cache: 'bypass',
        queueMs: 0,
        attempts: 1,
        durationMs: 100,
      });
    }
  }
  log.close();
}

function config(simUrl: string, dataDir: string, hook: string, forecast: boolean): ConfigInput {
  return {
    admin: { keys: [ADMIN_KEY] },
    data_dir: dataDir,
    usage: { enabled: true },
    forecast: { enabled: forecast, time_zone: zoneAtThreeAm(Date.now()), interval: '1h' },
    alerts: { webhooks: [{ url: hook, format: 'json' }], interval: '100ms' },
    providers: { anthropic: { type: 'anthropic', base_url: simUrl, keys: [{ id: 'k1', key: 'sk-sim-1', limits: { ...generousLimits, rpd: 300 } }] } },
    routes: {
      tiered: { targets: [{ provider: 'anthropic' }], tiers: [{ model: 'claude-opus-4-8', min_remaining: 0.5 }, { model: 'claude-haiku-4-5', min_remaining: 0 }] },
      '*': { targets: [{ provider: 'anthropic' }] },
    },
  };
}

describe('the day ahead of a daily cap', () => {
  let sim: Simulator;
  let hook: WebhookSink;
  let gateway: RunningGateway;
  let plain: RunningGateway;
  const dirs: string[] = [];

  before(async () => {
    sim = await startSimulator({ keys: [{ id: 'k1', key: 'sk-sim-1', limits: generousLimits }] });
    hook = await startWebhookSink();
    const dataDir = mkdtempSync(join(tmpdir(), 'spillway-day-ahead-'));
    const plainDir = mkdtempSync(join(tmpdir(), 'spillway-day-ahead-plain-'));
    dirs.push(dataDir, plainDir);
    writeHistory(dataDir, Date.now());
    writeHistory(plainDir, Date.now());
    gateway = await startGateway(config(sim.url, dataDir, hook.url, true), { port: 0, quiet: true });
    plain = await startGateway(config(sim.url, plainDir, hook.url, false), { port: 0, quiet: true });
    await gateway.gateway.forecast!.refit();
  });

  after(async () => {
    await gateway?.close();
    await plain?.close();
    await hook?.close();
    await sim?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const client = (g: RunningGateway) => new Anthropic({ baseURL: g.url, apiKey: 'client', maxRetries: 0 });
  const ask = (g: RunningGateway, model: string, priority: 'interactive' | 'batch') =>
    client(g)
      .messages.create(
        { model, max_tokens: 8, messages: [{ role: 'user', content: 'hello' }] },
        { headers: { 'x-spillway-priority': priority, 'x-spillway-max-wait': '2s' } },
      )
      .withResponse();

  it('alerts with the projected exhaustion time', async () => {
    const deadline = Date.now() + 5000;
    let alert: Record<string, unknown> | undefined;
    while (!alert && Date.now() < deadline) {
      alert = hook.bodies.find((body) => body.alert === 'quota_exhaustion' && body.status === 'firing');
      if (!alert) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(alert, `no quota_exhaustion alert among ${JSON.stringify(hook.bodies)}`);
    const labels = alert.labels as Record<string, string>;
    assert.equal(labels.pool, 'anthropic');
    const exhaustAt = Date.parse(labels.exhaust_at!);
    // 300 left at about 20 a minute: about 15 minutes from now.
    assert.ok(exhaustAt > Date.now() && exhaustAt < Date.now() + 40 * 60_000, `exhaustion at ${labels.exhaust_at}`);
    assert.match(String(alert.summary), /pool anthropic's daily requests are projected to run out at \d{4}-\d\d-\d\dT/);
  });

  it('/metrics shows the forecast against the capacity and the seconds to exhaustion', async () => {
    const text = await (await fetch(`${gateway.url}/metrics`, { headers: { 'x-api-key': ADMIN_KEY } })).text();
    const value = (pattern: RegExp) => Number(text.match(pattern)?.[1]);
    const seconds = value(/^spillway_quota_exhaustion_seconds\{pool="anthropic",kind="pool"\} (\S+)$/m);
    assert.ok(seconds > 60 && seconds < 40 * 60, `exhaustion in ${seconds} s`);
    const demand = value(/^spillway_quota_forecast\{pool="anthropic",kind="pool",unit="requests",horizon="day",series="demand"\} (\S+)$/m);
    const capacity = value(/^spillway_quota_forecast\{pool="anthropic",kind="pool",unit="requests",horizon="day",series="capacity"\} (\S+)$/m);
    assert.ok(demand > capacity && capacity >= 250, `forecast ${demand} against ${capacity}`);
    const plainText = await (await fetch(`${plain.url}/metrics`, { headers: { 'x-api-key': ADMIN_KEY } })).text();
    assert.doesNotMatch(plainText, /^spillway_quota_exhaustion_seconds\{/m);
  });

  it('the dashboard state carries the forecast', async () => {
    const state = (await (await fetch(`${gateway.url}/admin/state`, { headers: { 'x-api-key': ADMIN_KEY } })).json()) as { forecasts: Array<{ name: string; exhaustAt?: number; batchPerMinute?: number }> };
    const pool = state.forecasts.find((f) => f.name === 'anthropic');
    assert.ok(pool?.exhaustAt !== undefined && pool.batchPerMinute !== undefined, JSON.stringify(state.forecasts));
  });

  it('paces batch requests to what is left of the day while interactive ones are all served', async () => {
    const outcome = (p: Promise<unknown>) => p.then(() => 200, (error: { status?: number }) => error.status ?? 0);
    const batch = Array.from({ length: 6 }, () => outcome(ask(gateway, 'claude-haiku-4-5', 'batch')));
    const interactive = Array.from({ length: 6 }, () => outcome(ask(gateway, 'claude-haiku-4-5', 'interactive')));
    const batchStatus = await Promise.all(batch);
    const interactiveStatus = await Promise.all(interactive);
    assert.deepEqual(interactiveStatus, [200, 200, 200, 200, 200, 200]);
    // The allowance is zero (interactive alone is forecast to need more than is left); the pace's one admission of burst goes through.
    assert.ok(batchStatus.filter((s) => s === 200).length <= 1, `batch statuses ${batchStatus}`);
    assert.ok(batchStatus.filter((s) => s === 429).length >= 5, `batch statuses ${batchStatus}`);
    // The same batch requests through a gateway without the forecast are served.
    const unpaced = await Promise.all(Array.from({ length: 3 }, () => outcome(ask(plain, 'claude-haiku-4-5', 'batch'))));
    assert.deepEqual(unpaced, [200, 200, 200]);
  });

  it('steps a tiered route down while most of the day\'s quota is still there', async () => {
    const snapshot = gateway.gateway.providers.get('anthropic')!.pool.snapshot(Date.now());
    const rpd = snapshot[0]!.dimensions.rpd!;
    assert.ok(rpd.remaining / rpd.limit > 0.9, `remaining ${rpd.remaining} of ${rpd.limit}`);
    const { response } = await ask(gateway, 'tiered', 'interactive');
    assert.equal(response.headers.get('x-spillway-model'), 'claude-haiku-4-5');
    const { response: plainResponse } = await ask(plain, 'tiered', 'interactive');
    assert.equal(plainResponse.headers.get('x-spillway-model'), 'claude-opus-4-8');
  });
});
