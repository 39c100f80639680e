import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RetryBudget } from '../../src/resilience/budget.js';

const T0 = 1_700_000_000_000;

function retriesAllowed(budget: RetryBudget, now: number, tries = 1000): number {
  let n = 0;
  while (n < tries && budget.tryRetry(now)) n++;
  return n;
}

describe('retry budget', () => {
  it('a lone request may still retry (the floor)', () => {
    const budget = new RetryBudget(0.2, 60_000, 3);
    budget.recordRequest(T0);
    assert.equal(retriesAllowed(budget, T0), 3);
  });

  it('during an outage retries stay within 20 % of requests plus the floor', () => {
    const budget = new RetryBudget(0.2, 60_000, 3);
    let retries = 0;
    for (let i = 0; i < 1000; i++) {
      const now = T0 + i * 50; // 1000 requests over 50 s, every one failing and asking to retry
      budget.recordRequest(now);
      if (budget.tryRetry(now)) retries++;
    }
    assert.ok(retries <= 0.2 * 1000 + 3, `retries ${retries}`);
    assert.ok(retries >= 0.2 * 1000 - 5, `retries ${retries}`);
  });

  it('the window slides: old requests and retries stop counting after a minute', () => {
    const budget = new RetryBudget(0.2, 60_000, 0);
    for (let i = 0; i < 100; i++) budget.recordRequest(T0);
    assert.equal(retriesAllowed(budget, T0), 20);
    assert.equal(retriesAllowed(budget, T0 + 30_000), 0, 'still the same minute');
    assert.equal(retriesAllowed(budget, T0 + 61_000), 0, 'the requests are gone too');
    for (let i = 0; i < 10; i++) budget.recordRequest(T0 + 61_000);
    assert.equal(retriesAllowed(budget, T0 + 61_000), 2);
  });
});
