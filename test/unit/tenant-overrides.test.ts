/**
 * Issue 16: a tenant's limits, budget, weight, priority and longest wait changed at runtime. The
 * merge patch, the tenant it makes, and the ceilings and ledgers told through their setters with
 * what was used kept; all with a fake clock.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { patchOf } from '../../src/cli/tenants.js';
import { TenantActivity } from '../../src/observe/tenant-activity.js';
import { BudgetLedger } from '../../src/tenants/budget.js';
import { TenantCeiling } from '../../src/tenants/ceiling.js';
import { patchOverride, parseOverride, tenantPatchSchema, withOverride, type TenantOverride, type TenantOverrideStore } from '../../src/tenants/overrides.js';
import { TenantRegistry } from '../../src/tenants/registry.js';
import { SqliteTenantOverrides } from '../../src/store/tenant-overrides-sqlite.js';
import type { RequestRecord } from '../../src/observe/observer.js';

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const one = { inputTokens: 100, outputTokens: 50 };
const patch = (body: unknown) => tenantPatchSchema.parse(body);

class MemoryOverrides implements TenantOverrideStore {
  readonly kept = new Map<string, TenantOverride>();
  async readAll() {
    return new Map(this.kept);
  }
  async read(tenant: string) {
    return this.kept.get(tenant) ?? {};
  }
  async write(tenant: string, override: TenantOverride) {
    if (Object.keys(override).length === 0) this.kept.delete(tenant);
    else this.kept.set(tenant, override);
  }
  async close() {}
}

describe('tenant overrides: the merge patch', () => {
  it('fields given replace, limits and budget leaf by leaf; null puts a setting back to config; absent leaves it', () => {
    let kept = patchOverride({}, patch({ limits: { rpm: 60 }, budget: { daily_usd: 5 }, weight: 2 }));
    assert.deepEqual(kept, { limits: { rpm: 60 }, budget: { daily_usd: 5 }, weight: 2 });
    kept = patchOverride(kept, patch({ limits: { tpm: 1000 }, priority: 'batch', max_wait: '30s' }));
    assert.deepEqual(kept, { limits: { rpm: 60, tpm: 1000 }, budget: { daily_usd: 5 }, weight: 2, priority: 'batch', max_wait: 30_000 });
    kept = patchOverride(kept, patch({ limits: { rpm: null }, budget: null, weight: null }));
    assert.deepEqual(kept, { limits: { tpm: 1000 }, priority: 'batch', max_wait: 30_000 });
    assert.deepEqual(patchOverride(kept, patch({ limits: null, priority: null, max_wait: null })), {});
  });

  it('a bad patch is refused with the field named; a stored override that does not parse is not trusted', () => {
    for (const body of [{ limits: { rpm: -1 } }, { limits: { rps: 5 } }, { weight: 0 }, { priority: 'urgent' }, { max_wait: 'soon' }, { keys: ['sk-x'] }]) {
      assert.equal(tenantPatchSchema.safeParse(body).success, false, JSON.stringify(body));
    }
    assert.equal(parseOverride('{"weight": -3}'), undefined);
    assert.equal(parseOverride('not json'), undefined);
    assert.deepEqual(parseOverride('{"limits":{"rpm":60},"max_wait":30000}'), { limits: { rpm: 60 }, max_wait: 30_000 });
  });

  it('the tenant it makes: config with the override laid over it, the budget keeping its time zone', () => {
    const base = { name: 'ci', weight: 1, priority: 'batch' as const, limits: { rpm: 300, tpm: 400_000 }, budget: { dailyUsd: 50, timeZone: 'Europe/Paris' }, models: ['claude-*'], maxWaitMs: 600_000 };
    const tenant = withOverride(base, { limits: { rpm: 60 }, budget: { monthly_usd: 900 }, weight: 3, priority: 'interactive', max_wait: 5_000 });
    assert.deepEqual(tenant, { ...base, limits: { rpm: 60, tpm: 400_000 }, budget: { dailyUsd: 50, monthlyUsd: 900, timeZone: 'Europe/Paris' }, weight: 3, priority: 'interactive', maxWaitMs: 5_000 });
    assert.deepEqual(withOverride({ ...base, budget: undefined }, { budget: { daily_usd: 1 } }).budget, { dailyUsd: 1, monthlyUsd: undefined, timeZone: 'UTC' });
  });

  it('`spillway tenants set` options become the patch; "config" puts one back', () => {
    assert.deepEqual(patchOf({ rpm: '60', tpm: 'config', dailyUsd: '2.5', weight: '3', priority: 'batch', maxWait: '30s' }), {
      limits: { rpm: 60, tpm: null },
      budget: { daily_usd: 2.5 },
      weight: 3,
      priority: 'batch',
      max_wait: '30s',
    });
    assert.throws(() => patchOf({}), /nothing to change/);
    assert.throws(() => patchOf({ rpm: 'lots' }), /--rpm: expected a positive number/);
  });
});

describe('tenant overrides: the setters keep what was used', () => {
  it("a ceiling given new limits keeps each bucket's deficit: no fresh burst, no forgotten slot", () => {
    const ceiling = new TenantCeiling({ rpm: 600, concurrency: 2 }, T0); // burst of 10 a second
    for (let i = 0; i < 10; i++) ceiling.take(one, T0);
    assert.ok(ceiling.waitFor(one, T0) > 0);
    ceiling.setLimits({ rpm: 6000, concurrency: 3 }, T0); // burst of 100; 10 used
    assert.equal(ceiling.headroom(T0).find((h) => h.dimension === 'rpm')!.remaining, 90);
    assert.equal(ceiling.headroom(T0).find((h) => h.dimension === 'concurrency')!.remaining, 0, 'ten in flight on a limit of 3 leaves none');
    ceiling.setLimits({ rpm: 60 }, T0); // lowered: burst of 1, 10 used → it waits them off at one a second
    const wait = ceiling.waitFor(one, T0);
    assert.ok(wait >= 9_000 && wait <= 11_000, `wait ${wait}`);
    assert.deepEqual(ceiling.headroom(T0).map((h) => h.dimension), ['rpm'], 'the dropped concurrency limit is gone');
  });

  it('a ledger given a new budget keeps what was spent and what is in flight', () => {
    const ledger = new BudgetLedger({ dailyUsd: 10, timeZone: 'UTC' });
    assert.ok(ledger.reserve(2, T0).ok);
    ledger.settle(2, T0, 3, T0);
    assert.ok(ledger.reserve(1, T0).ok); // $3 spent, $1 in flight
    ledger.setBudget({ dailyUsd: 3.5, timeZone: 'UTC' });
    const refused = ledger.reserve(0.1, T0);
    assert.ok(!refused.ok && refused.refusal.limitUsd === 3.5 && refused.refusal.spentUsd === 3);
    ledger.setBudget({ dailyUsd: 100, monthlyUsd: 200, timeZone: 'UTC' });
    assert.ok(ledger.reserve(0.1, T0).ok);
    assert.deepEqual(ledger.use(T0).map((u) => [u.window, u.limitUsd, u.spentUsd]), [['daily', 100, 3], ['monthly', 200, 0]]);
  });

  it('the registry applies a stored change to the tenant, its ceiling and its ledger; null returns it to config', async () => {
    const config = parseConfig(
      { providers: { anthropic: { type: 'anthropic', keys: [{ key: 'sk-up' }] } }, admin: { keys: ['sk-admin'] }, tenants: { ci: { keys: ['sk-ci'], limits: { rpm: 600 }, budget: { daily_usd: 10 } }, web: { keys: ['sk-web'] } } },
      'test',
    );
    const registry = new TenantRegistry(config);
    const store = new MemoryOverrides();
    await registry.useOverrides(store, 60_000);
    try {
      const ci = registry.get('ci')!;
      const ceiling = registry.ceilingOf(ci)!;
      const ledger = registry.ledgerOf(ci)!;
      const changed = await registry.patch('ci', patch({ limits: { rpm: 60 }, budget: { daily_usd: 1 }, weight: 4, priority: 'batch' }));
      assert.equal(changed.weight, 4);
      assert.equal(registry.identify('sk-ci')!.tenant.priority, 'batch', 'a new request of the tenant carries the change');
      assert.equal(registry.ceilingOf(changed), ceiling, 'the same ceiling, told its new limits');
      assert.equal(ceiling.headroom(Date.now())[0]!.limit, 60);
      assert.equal(registry.ledgerOf(changed), ledger);
      assert.equal(ledger.budget.dailyUsd, 1);
      assert.deepEqual(registry.overrideOf('ci'), { limits: { rpm: 60 }, budget: { daily_usd: 1 }, weight: 4, priority: 'batch' });
      // Another replica's write, read on the next refresh.
      await store.write('web', { limits: { rpm: 30 } });
      await registry.refreshOverrides();
      assert.equal(registry.ceilingOf(registry.get('web')!)!.headroom(Date.now())[0]!.limit, 30);
      await registry.patch('ci', patch({ limits: null, budget: null, weight: null, priority: null }));
      assert.equal(ceiling.headroom(Date.now())[0]!.limit, 600);
      assert.equal(ledger.budget.dailyUsd, 10);
      assert.equal(registry.get('ci')!.weight, 1);
      await assert.rejects(registry.patch('nobody', patch({ weight: 2 })));
    } finally {
      registry.close();
    }
  });
});

describe('tenant activity', () => {
  it("a tenant's share of capacity is its admissions over everyone's in the window; refusals and waits counted", () => {
    const activity = new TenantActivity();
    const record = (tenant: string, status: number, attempts: number, queueMs: number): RequestRecord =>
      ({ requestId: 'r', surface: 'anthropic', status, stream: false, cache: 'bypass', queueMs, attempts, durationMs: 10, tenant }) as RequestRecord;
    for (let i = 0; i < 30; i++) activity.request(record('ci', 200, 1, 100), T0);
    for (let i = 0; i < 10; i++) activity.request(record('web', 200, 1, 300), T0);
    activity.request(record('web', 429, 0, 0), T0);
    activity.request(record('old', 200, 1, 0), T0 - 120_000);
    const now = activity.window(T0 + 1000, 60_000);
    assert.equal(now.get('ci')!.share, 0.75);
    assert.equal(now.get('web')!.share, 0.25);
    assert.equal(now.get('web')!.meanWaitMs, 300);
    assert.equal(now.get('web')!.refused, 1);
    assert.equal(now.get('web')!.requests, 11);
    assert.equal(now.get('old')!.share, 0, 'outside the window');
  });
});

describe('tenant overrides kept in SQLite (no Redis)', () => {
  it('two gateways sharing a data directory see each other’s changes on their next refresh, and after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spillway-overrides-'));
    const config = parseConfig({ providers: { anthropic: { type: 'anthropic', keys: [{ key: 'sk-up' }] } }, admin: { keys: ['sk-admin'] }, tenants: { ci: { keys: ['sk-ci'] } } }, 'test');
    const one = new TenantRegistry(config);
    const two = new TenantRegistry(config);
    await one.useOverrides(new SqliteTenantOverrides(dir), 60_000);
    await two.useOverrides(new SqliteTenantOverrides(dir), 60_000);
    try {
      await one.patch('ci', patch({ limits: { rpm: 60 }, weight: 2 }));
      assert.equal(two.get('ci')!.weight, 1, 'not before its refresh');
      await two.refreshOverrides();
      assert.equal(two.get('ci')!.weight, 2);
      assert.deepEqual(two.get('ci')!.limits, { rpm: 60 });
      const restarted = new TenantRegistry(config);
      await restarted.useOverrides(new SqliteTenantOverrides(dir), 60_000);
      assert.equal(restarted.get('ci')!.weight, 2);
      restarted.close();
      await two.patch('ci', patch({ limits: null, weight: null }));
      await one.refreshOverrides();
      assert.equal(one.get('ci')!.weight, 1);
      assert.equal(one.get('ci')!.limits, undefined);
    } finally {
      one.close();
      two.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
