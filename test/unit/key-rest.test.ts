import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { claimProbe, DEFAULT_REST_POLICY, probeDelayMs, startRest, type Rest } from '../../src/quota/rest.js';
import { keyFaultOf } from '../../src/resilience/key-fault.js';
import { probeResult } from '../../src/server/key-prober.js';
import { T0 } from '../support/quota.js';

const anthropic = (type: string, message: string) => JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_1' });
const openai = (type: string, code: string | null, message: string) => JSON.stringify({ error: { message, type, param: null, code } });

describe('keyFaultOf: the key, the request on this key, or neither', () => {
  const cases: Array<[string, number, string, 'key' | 'request' | undefined]> = [
    ['Anthropic 401 authentication_error is the key', 401, anthropic('authentication_error', 'invalid x-api-key'), 'key'],
    ['OpenAI 401 invalid_api_key is the key', 401, openai('invalid_request_error', 'invalid_api_key', 'Incorrect API key provided: sk-...'), 'key'],
    ['a 401 with a body nobody can read is still the key', 401, '<html>Unauthorized</html>', 'key'],
    ['Anthropic 403 permission_error (a model or beta) is the request on this key', 403, anthropic('permission_error', 'Your API key does not have permission to use the specified resource.'), 'request'],
    ['OpenAI 403 for one model is the request on this key', 403, openai('invalid_request_error', 'model_not_found', 'You are not allowed to sample from this model'), 'request'],
    ['Gemini 403 PERMISSION_DENIED is the request on this key', 403, JSON.stringify({ error: { code: 403, message: 'denied', status: 'PERMISSION_DENIED' } }), 'request'],
    [
      "Gemini's bad key is a 400 API_KEY_INVALID: the key",
      400,
      JSON.stringify({ error: { code: 400, message: 'API key not valid. Please pass a valid API key.', status: 'INVALID_ARGUMENT', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }] } }),
      'key',
    ],
    ['an ordinary 400 is neither', 400, anthropic('invalid_request_error', 'max_tokens: Field required'), undefined],
    ['a 429 is neither (it cools the key down instead)', 429, anthropic('rate_limit_error', 'slow down'), undefined],
    ['a 500 is neither', 500, anthropic('api_error', 'Internal server error'), undefined],
    ['a 404 is neither', 404, anthropic('not_found_error', 'model: nope'), undefined],
  ];
  for (const [name, status, body, scope] of cases) {
    it(name, () => assert.equal(keyFaultOf(status, body)?.scope, scope));
  }

  it('the reason names the status and the error type, never more than a short message', () => {
    const fault = keyFaultOf(401, anthropic('authentication_error', 'x'.repeat(1000)));
    assert.match(fault!.reason, /^the provider answered 401 authentication_error: x+\.\.\.$/);
    assert.ok(fault!.reason.length < 220);
  });
});

describe('probeResult: what a probe answer says about the key', () => {
  const cases: Array<[string, number | undefined, string, string]> = [
    ['200 model list: accepted', 200, '{"data":[]}', 'accepted'],
    ['401: still refused', 401, anthropic('authentication_error', 'invalid x-api-key'), 'refused'],
    ['529: says nothing about the key', 529, anthropic('overloaded_error', 'Overloaded'), 'inconclusive'],
    ['no answer at all: says nothing', undefined, '', 'inconclusive'],
  ];
  for (const [name, status, body, result] of cases) it(name, () => assert.equal(probeResult(status, body), result));
});

describe('rest schedule (fake clock)', () => {
  it('probes at once, then 30 s, 60 s, 2 min … doubling, never more than 10 min apart', () => {
    assert.deepEqual(
      Array.from({ length: 8 }, (_, i) => probeDelayMs(i, DEFAULT_REST_POLICY)),
      [0, 30_000, 60_000, 120_000, 240_000, 480_000, 600_000, 600_000],
    );
  });

  it('a due probe is claimed once; the next is scheduled by the claim itself', () => {
    let rest: Rest = startRest('401', T0);
    const claimed: number[] = [];
    for (let t = T0; t <= T0 + 1_000_000; t += 500) {
      const next = claimProbe(rest, t, DEFAULT_REST_POLICY);
      if (next) {
        claimed.push(t - T0);
        rest = next;
      }
    }
    assert.deepEqual(claimed, [0, 30_000, 90_000, 210_000, 450_000, 930_000]);
  });

  it('a short policy (tests, impatient operators) follows the same shape', () => {
    const policy = { firstProbeMs: 200, maxProbeMs: 500 };
    assert.deepEqual([1, 2, 3, 4].map((n) => probeDelayMs(n, policy)), [200, 400, 500, 500]);
  });
});
