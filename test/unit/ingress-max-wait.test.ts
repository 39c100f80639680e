import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { maxWaitOf } from '../../src/pipeline/ingress.js';
import { GatewayError } from '../../src/pipeline/errors.js';

const CAP = 600_000;
const wait = (value: string) => maxWaitOf({ 'x-spillway-max-wait': value }, 120_000, CAP);

describe('x-spillway-max-wait', () => {
  it('reads every number form alike, as seconds, and durations with a unit', () => {
    assert.equal(wait('30'), 30_000);
    assert.equal(wait('1.5'), 1_500);
    assert.equal(wait('3e1'), 30_000);
    assert.equal(wait('2.5E2'), 250_000);
    assert.equal(wait('45s'), 45_000);
    assert.equal(wait('250ms'), 250);
    assert.equal(wait('0'), 0);
  });

  it('cuts anything above queue.max_wait_cap to the cap, 99999999999999999999 and 1e12 included', () => {
    for (const value of ['99999999999999999999', '1e12', '601', '2h', '1e300']) assert.equal(wait(value), CAP, value);
  });

  it('refuses what is no finite, non-negative number or duration', () => {
    for (const value of ['soon', '-5', 'Infinity', 'NaN', '1e999', '0x10', '', '5 minutes']) {
      assert.throws(() => wait(value), (error: unknown) => error instanceof GatewayError && error.kind === 'invalid_request', value);
    }
  });

  it("caps the SDK's own timeout too, and leaves the configured default alone", () => {
    assert.equal(maxWaitOf({ 'x-stainless-timeout': '86400' }, 120_000, CAP), CAP);
    assert.equal(maxWaitOf({}, 120_000, CAP), 120_000);
  });
});
