/** Issue 17: `window` in the config, on a provider or a key, reaches the key pool as written. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { createProvider } from '../../src/providers/provider.js';
import { T0, small } from '../support/quota.js';

function providerOf(provider: Record<string, unknown>) {
  const config = parseConfig({ providers: { p: { type: 'openai', base_url: 'http://127.0.0.1:1/v1', ...provider } }, routes: { '*': { targets: [{ provider: 'p' }] } } });
  return createProvider('p', config.providers['p']!);
}

/** How many of `count` requests at once the key with `id` admits. */
function burst(pool: ReturnType<typeof providerOf>['pool'], count: number): Record<string, number> {
  const admitted: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const r = pool.tryReserve(small, T0);
    if ('ok' in r && r.ok) admitted[r.reservation.keyId] = (admitted[r.reservation.keyId] ?? 0) + 1;
  }
  return admitted;
}

describe('window in the config', () => {
  it('a provider window of "10s" makes 60 rpm ten per window; a key may override it', () => {
    const provider = providerOf({
      window: { type: 'sliding', length: '10s' },
      keys: [
        { id: 'a', key: 'sk-a', limits: { rpm: 60 } },
        { id: 'b', key: 'sk-b', limits: { rpm: 60 }, window: { type: 'bucket' } },
      ],
    });
    // b refills continuously from one second's worth (1); a takes a whole window (10).
    assert.deepEqual(burst(provider.pool, 20), { a: 10, b: 1 });
  });

  it('the length defaults to a minute; a bad type or length is a config error naming the path', () => {
    assert.deepEqual(burst(providerOf({ window: { type: 'fixed' }, keys: [{ id: 'k', key: 'sk', limits: { rpm: 30 } }] }).pool, 40), { k: 30 });
    assert.throws(() => providerOf({ window: { type: 'rolling' }, keys: [{ key: 'sk' }] }), /window\.type/);
    assert.throws(() => providerOf({ window: { type: 'sliding', length: '0s' }, keys: [{ key: 'sk' }] }), /window length must be positive/);
  });
});
