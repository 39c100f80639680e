import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isRememberedFailure, NegativeCache } from '../../src/cache/negative.js';

const badRequest = '{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}';

describe('negative cache: invalid requests are answered from memory', () => {
  it('remembers 400-class provider rejections that retrying cannot fix', () => {
    for (const status of [400, 402, 404, 413, 422]) assert.equal(isRememberedFailure(status), true, String(status));
  });

  it('never remembers auth, timeout, conflict, rate-limit or server failures', () => {
    for (const status of [401, 403, 408, 409, 429, 500, 502, 503, 504, 529, 200, 304]) {
      assert.equal(isRememberedFailure(status), false, String(status));
    }
  });

  it('answers a remembered 400 with its status, body and headers for 10 minutes', () => {
    let now = 0;
    const cache = new NegativeCache({ now: () => now });
    const kept = cache.remember('k', 400, badRequest, {
      'Content-Type': 'application/json',
      'content-length': '97',
      'request-id': 'req_1',
    });
    assert.equal(kept, true);
    assert.deepEqual(cache.lookup('k'), {
      status: 400,
      body: badRequest,
      headers: { 'content-type': 'application/json', 'request-id': 'req_1' },
      expiresAt: 600_000,
    });
    now = 599_999;
    assert.ok(cache.lookup('k'));
    now = 600_000;
    assert.equal(cache.lookup('k'), undefined);
  });

  it('does not store a 429 or a 500', () => {
    const cache = new NegativeCache();
    assert.equal(cache.remember('a', 429, '{}', {}), false);
    assert.equal(cache.remember('b', 500, '{}', {}), false);
    assert.equal(cache.lookup('a'), undefined);
    assert.equal(cache.lookup('b'), undefined);
  });

  it('keeps at most maxEntries failures, dropping the oldest', () => {
    const cache = new NegativeCache({ maxEntries: 2 });
    cache.remember('a', 400, 'a');
    cache.remember('b', 400, 'b');
    cache.remember('c', 400, 'c');
    assert.equal(cache.size, 2);
    assert.equal(cache.lookup('a'), undefined);
    assert.equal(cache.lookup('c')?.body, 'c');
  });
});
