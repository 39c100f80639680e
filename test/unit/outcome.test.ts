import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  failureReason,
  hiddenFromClient,
  judgeNoAnswer,
  judgeOpeningError,
  judgeRefusal,
  refusedByKey,
  waitsInAdmission,
  worthFallingBack,
  type KeyEffect,
} from '../../src/resilience/outcome.js';
import type { Outcome } from '../../src/resilience/retry.js';

const NOW = 1_700_000_000_000;
const anthropic = (type: string, message = 'x') => JSON.stringify({ type: 'error', error: { type, message } });
const geminiBadKey = JSON.stringify({
  error: { code: 400, message: 'API key not valid.', status: 'INVALID_ARGUMENT', details: [{ reason: 'API_KEY_INVALID' }] },
});

describe('an upstream refusal, for the key that carried it', () => {
  const cases: Array<[string, number, string, KeyEffect['kind'], 'key' | 'request' | undefined]> = [
    ['a 429 cools the key down for the provider’s hint', 429, anthropic('rate_limit_error'), 'cool-down', undefined],
    ['a 401 rests the key', 401, anthropic('authentication_error', 'invalid x-api-key'), 'rest', 'key'],
    ["Gemini's 400 API_KEY_INVALID rests the key", 400, geminiBadKey, 'rest', 'key'],
    ['a 403 leaves the key in service; the request tries another', 403, anthropic('permission_error'), 'none', 'request'],
    ['a 529 leaves the key alone', 529, anthropic('overloaded_error'), 'none', undefined],
    ['a 500 leaves the key alone', 500, anthropic('api_error'), 'none', undefined],
    ['an ordinary 400 leaves the key alone', 400, anthropic('invalid_request_error'), 'none', undefined],
  ];
  for (const [name, status, body, effect, fault] of cases) {
    it(name, () => {
      const { outcome, key } = judgeRefusal({ status, headers: {}, body, now: NOW, cooldownMs: 3000 });
      assert.equal(key.kind, effect);
      assert.deepEqual(outcome, { kind: 'status', status, headers: {}, ...(fault ? { keyFault: fault } : {}) });
    });
  }

  it('a 429 cools the key down until now + the cool-down', () => {
    assert.deepEqual(judgeRefusal({ status: 429, headers: {}, body: '', now: NOW, cooldownMs: 2500 }).key, { kind: 'cool-down', until: NOW + 2500 });
  });

  it('a rested key carries the reason, never the whole body', () => {
    const { key } = judgeRefusal({ status: 401, headers: {}, body: anthropic('authentication_error', 'y'.repeat(1000)), now: NOW, cooldownMs: 0 });
    assert.equal(key.kind, 'rest');
    assert.ok(key.kind === 'rest' && key.reason.startsWith('the provider answered 401 authentication_error') && key.reason.length < 250);
  });

  it('a stream that opened with an error touches no key', () => {
    assert.deepEqual(judgeOpeningError(529), { outcome: { kind: 'status', status: 529, headers: {} }, key: { kind: 'none' } });
  });

  it('no answer at all touches no key', () => {
    assert.deepEqual(judgeNoAnswer('timeout'), { outcome: { kind: 'timeout' }, key: { kind: 'none' } });
  });
});

describe('an upstream failure, for the request', () => {
  const status = (code: number, keyFault?: 'key' | 'request'): Outcome => ({ kind: 'status', status: code, headers: {}, ...(keyFault ? { keyFault } : {}) });
  // name, outcome, falls back at once, waits in admission, passes over the key, hidden from the client, trace reason
  const cases: Array<[string, Outcome, boolean, boolean, boolean, boolean, string]> = [
    ['429', status(429), true, true, false, false, 'upstream 429'],
    ['529', status(529), true, false, false, false, 'upstream 529'],
    ['503', status(503), true, false, false, false, 'upstream 503'],
    ['408', status(408), true, false, false, false, 'upstream 408'],
    ['timeout', { kind: 'timeout' }, true, false, false, false, 'upstream timeout'],
    ['connection reset', { kind: 'connection' }, true, false, false, false, 'upstream connection'],
    ['a refused key: other keys first, its 401 never reaches the client', status(401, 'key'), false, false, true, true, 'upstream 401'],
    ['a request refused on one key: other keys first, the 403 is the answer if all refuse', status(403, 'request'), false, false, true, false, 'upstream 403'],
    ['a 400 is the client’s', status(400), false, false, false, false, 'upstream 400'],
    ['a 404 is the client’s', status(404), false, false, false, false, 'upstream 404'],
    ['409', status(409), false, false, false, false, 'upstream 409'],
  ];
  for (const [name, outcome, fallback, admission, passOver, hidden, reason] of cases) {
    it(name, () => {
      assert.equal(worthFallingBack(outcome), fallback, 'falls back');
      assert.equal(waitsInAdmission(outcome), admission, 'waits in admission');
      assert.equal(refusedByKey(outcome), passOver, 'passes over the key');
      assert.equal(hiddenFromClient(outcome), hidden, 'hidden from the client');
      assert.equal(failureReason(outcome), reason);
    });
  }
});
