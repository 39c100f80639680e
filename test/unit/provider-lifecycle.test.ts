/**
 * The providers' lifecycle across reloads and shutdown, with in-process pools: what is kept, what
 * is built, and that each replaced pool is closed once, after the requests holding it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { ProviderLifecycle } from '../../src/providers/lifecycle.js';
import type { Provider } from '../../src/providers/provider.js';
import { reserved, small, T0 } from '../support/quota.js';

function config(providers: Record<string, { keyId: string; rpm?: number }>): Config {
  return parseConfig(
    {
      providers: Object.fromEntries(
        Object.entries(providers).map(([name, { keyId, rpm }]) => [name, { type: 'anthropic', base_url: 'http://127.0.0.1:9', keys: [{ id: keyId, key: `sk-${keyId}` }], limits: rpm ? { rpm } : undefined }]),
      ),
      routes: { '*': { targets: [{ provider: Object.keys(providers)[0]! }] } },
    },
    'test',
  );
}

/** Counts the closes of each provider's pool, by provider name and key. */
function countCloses(closes: string[], ...providers: Provider[]): void {
  for (const provider of providers) {
    const key = provider.pool.snapshot(T0)[0]!.id;
    provider.pool.close = async () => {
      closes.push(`${provider.name}/${key}`);
    };
  }
}

describe('provider lifecycle', () => {
  it('a reload keeps an unchanged provider with its pool state, and rebuilds a changed one', async () => {
    const lifecycle = new ProviderLifecycle(config({ a: { keyId: 'a1', rpm: 600 }, b: { keyId: 'b1' } }), undefined, () => {});
    const a = lifecycle.providers.get('a')!;
    reserved(await a.pool.tryReserve(small, T0));
    const changed = lifecycle.apply(config({ a: { keyId: 'a1', rpm: 600 }, b: { keyId: 'b2' }, c: { keyId: 'c1' } }));
    assert.deepEqual(changed.sort(), ['b', 'c']);
    assert.equal(lifecycle.providers.get('a'), a, 'the same Provider object');
    assert.equal(lifecycle.providers.get('a')!.pool.snapshot(T0)[0]!.inFlight, 1, 'with its reservation still open');
    assert.equal(lifecycle.providers.get('b')!.pool.snapshot(T0)[0]!.id, 'b2');
  });

  it('a replaced provider closes when its last request lets go; a removed one nobody holds closes at once', () => {
    const closes: string[] = [];
    const lifecycle = new ProviderLifecycle(config({ a: { keyId: 'a1' }, b: { keyId: 'b1' } }), undefined, () => {});
    const [a, b] = [lifecycle.providers.get('a')!, lifecycle.providers.get('b')!];
    countCloses(closes, a, b);
    const release = lifecycle.leases.hold([a]);
    assert.deepEqual(lifecycle.apply(config({ a: { keyId: 'a2' } })).sort(), ['a', 'b']);
    assert.deepEqual(closes, ['b/b1'], 'b is closed, a still serves the request holding it');
    release();
    assert.deepEqual(closes, ['b/b1', 'a/a1']);
  });

  it('shutdown closes the providers in service and the replaced ones still held, each once', async () => {
    const closes: string[] = [];
    const lifecycle = new ProviderLifecycle(config({ a: { keyId: 'a1' } }), undefined, () => {});
    const old = lifecycle.providers.get('a')!;
    countCloses(closes, old);
    const release = lifecycle.leases.hold([old]);
    lifecycle.apply(config({ a: { keyId: 'a2' } }));
    countCloses(closes, lifecycle.providers.get('a')!);
    await lifecycle.close();
    assert.deepEqual(closes.sort(), ['a/a1', 'a/a2']);
    release(); // the request ends after shutdown
    await lifecycle.close();
    assert.deepEqual(closes.sort(), ['a/a1', 'a/a2'], 'nothing is closed twice');
  });
});
