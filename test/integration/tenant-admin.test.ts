/**
 * Issue 16: a tenant's limits and budget changed at runtime through the admin API (admin keys
 * only) and `spillway tenants`, applied within about a second on every replica sharing Redis, and
 * the tenant view (GET /admin/tenants, the dashboard's data and page) showing each tenant's share
 * of capacity, queue and spend against its budget. Two tenants, the Anthropic SDK, real sockets,
 * a real redis-server.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { chromium } from 'playwright-core';
import { tenantsCommand } from '../../src/cli/tenants.js';
import type { ConfigInput } from '../../src/config/schema.js';
import type { DashboardState, DashboardTenant } from '../../src/observe/dashboard.js';
import { startGateway, type RunningGateway } from '../../src/server/gateway.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../support/redis.js';
import { defaultConfig, simKeys } from '../support/stack.js';
import { fireTenants } from '../support/tenant-load.js';

const ADMIN = 'sk-admin';
const ask = { model: 'claude-sonnet-4-6', max_tokens: 16, messages: [{ role: 'user' as const, content: 'Describe a ceramic mug in one sentence.' }] };

async function until<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('tenants changed at runtime, on every replica', { skip: skipWithoutRedis }, () => {
  let redis: RedisServer;
  let sim: Simulator;
  let config: (dataDir: string) => ConfigInput;
  let a: RunningGateway;
  let b: RunningGateway;
  const extra: RunningGateway[] = [];
  before(async () => {
    redis = await startRedis();
    sim = await startSimulator({ keys: simKeys(2) });
    const prefix = `spillway-test-${randomBytes(4).toString('hex')}:`;
    config = (dataDir) => ({
      ...defaultConfig(sim.url, simKeys(2)),
      store: { type: 'redis', url: redis.url, prefix },
      data_dir: dataDir,
      admin: { keys: [ADMIN] },
      // $100 per million tokens: a request of a few dozen tokens costs a few thousandths of a dollar.
      prices: { 'claude-sonnet-4-6': { input: 100, output: 100 } },
      tenants: { ci: { keys: ['sk-ci'], limits: { rpm: 6000 } }, web: { keys: ['sk-web'] } },
    });
    // Each replica its own data directory: what they share is Redis alone.
    a = await startGateway(config(mkdtempSync(join(tmpdir(), 'spillway-tenant-a-'))), { port: 0, quiet: true });
    b = await startGateway(config(mkdtempSync(join(tmpdir(), 'spillway-tenant-b-'))), { port: 0, quiet: true });
  });
  after(async () => {
    for (const gateway of [a, b, ...extra]) await gateway?.close();
    await sim?.close();
    await redis?.stop();
  });

  const admin = (gateway: RunningGateway, path: string, init: RequestInit = {}, key = ADMIN) =>
    fetch(`${gateway.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } });
  const client = (gateway: RunningGateway, apiKey: string) => new Anthropic({ baseURL: gateway.url, apiKey, maxRetries: 0 });
  const limitSeen = async (gateway: RunningGateway, apiKey: string) =>
    (await client(gateway, apiKey).messages.create(ask).withResponse()).response.headers.get('anthropic-ratelimit-requests-limit');

  it('only admin keys may read or change tenants; a bad change is a 400 naming the field; an unknown tenant a 404', async () => {
    assert.equal((await admin(a, '/admin/tenants', {}, 'sk-ci')).status, 401);
    assert.equal((await admin(a, '/admin/tenants/ci', { method: 'PATCH', body: '{"limits":{"rpm":1}}' }, 'sk-ci')).status, 401);
    assert.equal((await admin(a, '/admin/tenants/ci', { method: 'PATCH', body: '{"limits":{"rpm":1}}' }, 'sk-nobody')).status, 401);
    const bad = await admin(a, '/admin/tenants/ci', { method: 'PATCH', body: '{"limits":{"rpm":-5}}' });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /^limits\.rpm: /);
    assert.equal((await admin(a, '/admin/tenants/ci', { method: 'PATCH', body: '{"keys":["sk-evil"]}' })).status, 400);
    assert.equal((await admin(a, '/admin/tenants/nobody', { method: 'PATCH', body: '{"weight":2}' })).status, 404);
    assert.equal(await limitSeen(a, 'sk-ci'), '6000', 'nothing changed');
  });

  it("a tenant's ceiling changed on one replica holds there at once and on the other within about a second, and on a replica started afterwards", async () => {
    const changed = await admin(a, '/admin/tenants/ci', { method: 'PATCH', body: JSON.stringify({ limits: { rpm: 60 } }) });
    assert.equal(changed.status, 200);
    const changedAt = Date.now();
    const row = (await changed.json()) as DashboardTenant & { override: unknown };
    assert.deepEqual(row.limits, { rpm: 60 });
    assert.deepEqual(row.override, { limits: { rpm: 60 } });
    assert.equal(await limitSeen(a, 'sk-ci'), '60');
    await until(async () => ((await limitSeen(b, 'sk-ci')) === '60' ? true : undefined), 'replica b applies the new ceiling');
    const elapsed = Date.now() - changedAt;
    // The refresh runs twice a second; a loaded machine is given slack.
    assert.ok(elapsed < 2500, `replica b took ${elapsed} ms`);
    // The ceiling paces: 60 rpm is one a second, so a second request at once waits about a second.
    const before = Date.now();
    await client(b, 'sk-ci').messages.create(ask);
    assert.ok(Date.now() - before >= 500, 'paced by the new ceiling');
    // Another tenant is untouched.
    assert.notEqual(await limitSeen(b, 'sk-web'), '60');
    // A replica started later applies it from its first request.
    const c = await startGateway(config(mkdtempSync(join(tmpdir(), 'spillway-tenant-c-'))), { port: 0, quiet: true });
    extra.push(c);
    assert.equal(await limitSeen(c, 'sk-ci'), '60');
    // null puts it back to config, everywhere.
    assert.equal((await admin(b, '/admin/tenants/ci', { method: 'PATCH', body: '{"limits":{"rpm":null}}' })).status, 200);
    await until(async () => ((await limitSeen(a, 'sk-ci')) === '6000' ? true : undefined), 'replica a returns to the configured ceiling');
  });

  it("a budget set at runtime refuses the tenant with a 429 naming it on every replica; cleared, the tenant is served again; the other tenant never notices", async () => {
    assert.equal((await admin(b, '/admin/tenants/web', { method: 'PATCH', body: JSON.stringify({ budget: { daily_usd: 0.001 } }) })).status, 200);
    for (const gateway of [a, b]) {
      const web = client(gateway, 'sk-web');
      const refusal = await until(async () => {
        try {
          await web.messages.create(ask);
          return undefined;
        } catch (error) {
          return error;
        }
      }, 'the budget is spent');
      assert.ok(refusal instanceof Anthropic.RateLimitError, String(refusal));
      assert.match((refusal.error as { error: { message: string } }).error.message, /tenant "web" has used its daily budget of \$0\.0010/);
      assert.equal(refusal.headers?.get('x-should-retry'), 'false');
      await client(gateway, 'sk-ci').messages.create(ask);
    }
    const listed = (await (await admin(a, '/admin/tenants')).json()) as { data: Array<DashboardTenant & { override: unknown }> };
    const web = listed.data.find((t) => t.name === 'web')!;
    assert.equal(web.budgets[0]!.window, 'daily');
    assert.equal(web.budgets[0]!.limitUsd, 0.001);
    assert.ok(web.budgets[0]!.spentUsd >= 0.001, `spent ${web.budgets[0]!.spentUsd}`);
    assert.deepEqual(web.overridden, ['budget']);
    assert.equal((await admin(a, '/admin/tenants/web', { method: 'PATCH', body: '{"budget":null}' })).status, 200);
    await until(() => client(b, 'sk-web').messages.create(ask).then(() => true, () => undefined), 'replica b serves web again');
  });

  it('`spillway tenants set` changes weight, priority and max wait on every replica; `spillway tenants list` shows them', async () => {
    const printed = await tenantsCommand({ url: a.url, key: ADMIN }, { action: 'set', name: 'ci', options: { weight: '3', priority: 'batch', maxWait: '30s', tpm: '500000' } });
    assert.match(printed, /^Changed tenant ci/);
    const listing = await until(async () => {
      const text = await tenantsCommand({ url: b.url, key: ADMIN }, { action: 'list' });
      return /^ci\s+3\s+batch\s+rpm 6000, tpm 500000/m.test(text) ? text : undefined;
    }, 'replica b lists the change');
    assert.match(listing, /^web\s+1\s+interactive/m);
    assert.match(listing, /CHANGED/);
    assert.match(listing, /^ci .*limits, weight, priority, max_wait$/m);
    const ci = ((await (await admin(b, '/admin/tenants/ci')).json()) as DashboardTenant);
    assert.equal(ci.maxWaitMs, 30_000);
    await assert.rejects(tenantsCommand({ url: a.url, key: 'sk-ci' }, { action: 'list' }), /admin key is needed/);
    await assert.rejects(tenantsCommand({ url: a.url, key: ADMIN }, { action: 'set', name: 'nobody', options: { weight: '2' } }), /no tenant "nobody"/);
    await tenantsCommand({ url: a.url, key: ADMIN }, { action: 'set', name: 'ci', options: { weight: 'config', priority: 'config', maxWait: 'config', tpm: 'config' } });
  });
});

const CHROMIUM = '/usr/bin/chromium';
const noChromium = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium)`;

describe("the dashboard's tenant view", () => {
  const client = (gw: RunningGateway, apiKey: string) => new Anthropic({ baseURL: gw.url, apiKey, maxRetries: 0 });
  let sim: Simulator;
  let gateway: RunningGateway;
  before(async () => {
    // Two keys of 600 rpm enforced per second: 20 requests/s, which two bursts saturate.
    const keys = simKeys(2, { rpm: 600, itpm: 10_000_000, otpm: 10_000_000 });
    sim = await startSimulator({ keys, window: 'second', latency: { ttftMs: 20 } });
    gateway = await startGateway(
      {
        ...defaultConfig(sim.url, keys),
        data_dir: mkdtempSync(join(tmpdir(), 'spillway-tenant-dash-')),
        admin: { keys: [ADMIN] },
        tenants: { ci: { keys: ['sk-ci'], weight: 3, budget: { daily_usd: 100 } }, web: { keys: ['sk-web'], weight: 1 } },
      },
      { port: 0, quiet: true },
    );
  });
  after(async () => {
    await gateway?.close();
    await sim?.close();
  });

  it('/admin/state shows each tenant with its share of admissions (in its weights while both wait), its queue and its spend against its budget', async () => {
    const state = async () => (await (await fetch(`${gateway.url}/admin/state`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as DashboardState;
    // Both tenants fire 120 at once on a 20/s pool: both wait, and ci (weight 3) is admitted three times as often.
    const load = fireTenants(gateway.url, [
      { apiKey: 'sk-ci', count: 120, startMs: 0 },
      { apiKey: 'sk-web', count: 120, startMs: 0 },
    ]);
    const busy = await until(async () => {
      const s = await state();
      const [ci, web] = ['ci', 'web'].map((name) => s.tenants.find((t) => t.name === name)!);
      return ci!.waiting > 0 && web!.waiting > 0 && ci!.lastMinute.admitted + web!.lastMinute.admitted >= 40 ? s : undefined;
    }, 'both tenants wait while admissions pile up', 20_000);
    const [ci, web] = ['ci', 'web'].map((name) => busy.tenants.find((t) => t.name === name)!);
    assert.ok(ci!.lastMinute.share! > web!.lastMinute.share!, `ci ${ci!.lastMinute.share}, web ${web!.lastMinute.share}`);
    assert.ok(ci!.lastMinute.share! >= 0.6, `ci's share ${ci!.lastMinute.share} while both wait, weights 3:1`);
    assert.ok(web!.longestWaitMs > 0);
    assert.equal(web!.weight, 1);
    assert.equal(ci!.weight, 3);
    const results = await load;
    assert.deepEqual(results.map((r) => r.failures), [{}, {}]);
    const done = await state();
    const after = done.tenants.find((t) => t.name === 'ci')!;
    assert.equal(after.waiting, 0);
    assert.equal(after.lastMinute.requests, 120);
    assert.equal(after.budgets[0]!.limitUsd, 100);
    assert.ok(after.budgets[0]!.spentUsd > 0, 'spend against the budget');
    assert.deepEqual(done.tenants.find((t) => t.name === 'web')!.budgets, []);
  });

  it('the page shows both tenants: share, queue, spend against budget', { skip: noChromium }, async () => {
    await client(gateway, 'sk-ci').messages.create(ask);
    await client(gateway, 'sk-web').messages.create(ask);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    try {
      const page = await browser.newPage();
      await page.goto(`${gateway.url}/?key=${ADMIN}`);
      await page.waitForSelector('#tenants tr[data-tenant="ci"]');
      assert.equal(await page.locator('#tenants tr').count(), 2);
      assert.match((await page.textContent('#tenants tr[data-tenant="ci"] .share'))!, /\d+(\.\d)?%/);
      assert.equal(await page.textContent('#tenants tr[data-tenant="ci"] .queue'), '0');
      assert.match((await page.textContent('#tenants tr[data-tenant="ci"] .spend'))!, /daily \$\d+\.\d+ of \$100/);
      assert.match((await page.textContent('#tenants tr[data-tenant="web"] .spend'))!, /no budget/);
    } finally {
      await browser.close();
    }
  });
});
