import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isRequestFault, NegativeCache } from '../../src/cache/negative.js';

const badRequest = '{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}';

describe('negative cache: invalid requests are answered from memory', () => {
  it('remembers an invalid request as the provider says it: 400, 413 and 422 of type invalid_request_error', () => {
    for (const status of [400, 413, 422]) assert.equal(isRequestFault(status, badRequest), true, String(status));
    const openai = '{"error":{"message":"Invalid \'messages[3].name\'","type":"invalid_request_error","param":"messages[3].name","code":"invalid_value"}}';
    assert.equal(isRequestFault(400, openai), true);
    assert.equal(isRequestFault(413, '{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum size"}}'), true);
  });

  it('never remembers a key-specific failure: auth, permission, model access, billing, a spend limit', () => {
    const typed = (type: string, message = 'no') => JSON.stringify({ type: 'error', error: { type, message } });
    for (const [status, body] of [
      [401, typed('authentication_error', 'invalid x-api-key')],
      [403, typed('permission_error', 'this key may not use claude-opus-4-1')],
      [404, typed('not_found_error', 'model: claude-x')],
      [402, typed('billing_error')],
      [400, typed('invalid_request_error', 'Your credit balance is too low to access the Anthropic API.')],
      [400, typed('invalid_request_error', 'You have reached your specified workspace API usage limits.')],
      [400, '{"error":{"message":"Your organization must be verified to use the model `o3`.","type":"invalid_request_error"}}'],
      [400, '<html>bad gateway proxy</html>'],
    ] as const) {
      assert.equal(isRequestFault(status, body), false, `${status} ${body}`);
    }
  });

  it('never remembers timeout, conflict, rate-limit or server failures', () => {
    for (const status of [408, 409, 429, 500, 502, 503, 504, 529, 200, 304]) {
      assert.equal(isRequestFault(status, badRequest), false, String(status));
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
    cache.remember('a', 400, badRequest);
    cache.remember('b', 400, badRequest);
    cache.remember('c', 400, badRequest);
    assert.equal(cache.size, 2);
    assert.equal(cache.lookup('a'), undefined);
    assert.equal(cache.lookup('c')?.body, badRequest);
  });
});
