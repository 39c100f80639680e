import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProviderLeases } from '../../src/providers/leases.js';
import type { Provider } from '../../src/providers/provider.js';

const provider = (name: string) => ({ name }) as Provider;

describe('a provider replaced by a reload', () => {
  it('is closed at once when no request holds it', () => {
    const leases = new ProviderLeases();
    let closed = 0;
    leases.retire(provider('a'), () => closed++);
    assert.equal(closed, 1);
  });

  it('is closed when the last request holding it lets go, once', () => {
    const leases = new ProviderLeases();
    const old = provider('old');
    const other = provider('other');
    const first = leases.hold([old, other, old]);
    const second = leases.hold([old]);
    let closed = 0;
    leases.retire(old, () => closed++);
    first();
    first();
    assert.equal(closed, 0, 'a request still holds it');
    assert.equal(leases.holding(old), 1);
    second();
    assert.equal(closed, 1);
    assert.equal(leases.holding(old), 0);
    assert.equal(leases.holding(other), 0);
  });
});
