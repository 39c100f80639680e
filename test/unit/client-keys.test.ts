import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clientKeyIdOfOwner, findKey, ownerOf } from '../../src/config/client-keys.js';

describe('client keys', () => {
  const keys = ['sk-team-alpha-0123456789', 'sk-team-beta-9876543210'];

  it('finds a client key by its whole value, compared as digests in constant time, not with indexOf', () => {
    assert.equal(findKey(keys, 'sk-team-alpha-0123456789'), 0);
    assert.equal(findKey(keys, 'sk-team-beta-9876543210'), 1);
    for (const guess of ['sk-team-alpha-012345678', 'sk-team-alpha-01234567890', 'sk-team-alpha-0123456788', 'SK-TEAM-ALPHA-0123456789', '']) {
      assert.equal(findKey(keys, guess), -1, guess);
    }
    assert.equal(findKey([], 'anything'), -1);
  });

  it("names a batch owner's client key by its position, for the usage log", () => {
    assert.equal(clientKeyIdOfOwner(keys, ownerOf(keys[1]!)), 'client-1');
    assert.equal(clientKeyIdOfOwner(keys, ownerOf('sk-removed')), undefined);
  });
});
