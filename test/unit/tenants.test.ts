import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { TenantRegistry } from '../../src/tenants/registry.js';
import { mayUseModel, tenantMaxWait } from '../../src/tenants/tenant.js';
import { priorityOf } from '../../src/pipeline/ingress.js';

const providers = { anthropic: { type: 'anthropic' as const, keys: [{ key: 'sk-upstream' }] } };

function registry(extra: object) {
  return new TenantRegistry(parseConfig({ providers, ...extra }, 'test'));
}

describe('tenants in config', () => {
  const tenants = registry({
    server: { auth: { keys: ['sk-solo'] } },
    tenants: {
      checkout: { keys: ['sk-checkout-1', 'sk-checkout-2'], weight: 3 },
      ci: { keys: ['sk-ci'], priority: 'batch', limits: { rpm: 300 }, budget: { daily_usd: 50 }, models: ['claude-*', 'gpt-4o*'], max_wait: '10m' },
    },
  });

  it('each key finds its tenant; a key of server.auth.keys is a tenant of its own; an unknown key none', () => {
    assert.equal(tenants.identify('sk-checkout-2')?.tenant.name, 'checkout');
    assert.equal(tenants.identify('sk-checkout-2')?.keyId, 'checkout-1');
    assert.equal(tenants.identify('sk-ci')?.tenant.priority, 'batch');
    assert.equal(tenants.identify('sk-solo')?.tenant.name, 'client-0');
    for (const guess of ['sk-ci ', 'sk-c', 'SK-CI', '', 'sk-checkout-3']) assert.equal(tenants.identify(guess), undefined, guess);
    assert.equal(tenants.open, false);
    assert.equal(registry({}).open, true);
  });

  it('defaults: weight 1, interactive, no ceiling, no budget, any model', () => {
    const solo = tenants.get('client-0')!;
    assert.deepEqual([solo.weight, solo.priority, solo.limits, solo.budget, solo.models], [1, 'interactive', undefined, undefined, undefined]);
    assert.equal(tenants.get('checkout')!.weight, 3);
  });

  it('models are globs; a tenant without `models` may ask for any', () => {
    const ci = tenants.get('ci')!;
    assert.equal(mayUseModel(ci, 'claude-sonnet-4-6'), true);
    assert.equal(mayUseModel(ci, 'gpt-4o-mini'), true);
    assert.equal(mayUseModel(ci, 'gpt-5'), false);
    assert.equal(mayUseModel(ci, 'my-claude-x'), false);
    assert.equal(mayUseModel(tenants.get('checkout')!, 'anything'), true);
  });

  it("max_wait caps what a request asks for; the tenant's priority is the default, the header still wins", () => {
    const ci = tenants.get('ci')!;
    assert.equal(tenantMaxWait(ci, 3_600_000), 600_000);
    assert.equal(tenantMaxWait(ci, 30_000), 30_000);
    assert.equal(tenantMaxWait(undefined, 30_000), 30_000);
    assert.equal(priorityOf({}, ci.priority), 'batch');
    assert.equal(priorityOf({ 'x-spillway-priority': 'interactive' }, ci.priority), 'interactive');
    assert.equal(priorityOf({}), 'interactive');
  });

  it('a key in two tenants, and tenants without admin keys, are config errors', () => {
    assert.throws(() => registry({ admin: { keys: ['adm'] }, tenants: { a: { keys: ['k'] }, b: { keys: ['k'] } } }), /a key belongs to one tenant/);
    assert.throws(() => registry({ tenants: { a: { keys: ['k'] } } }), /tenants need admin.keys/);
    assert.throws(() => registry({ admin: { keys: ['adm'] }, tenants: { a: { keys: ['k'], weight: 0 } } }), /weight/);
  });
});
