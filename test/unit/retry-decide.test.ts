import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RetryBudget } from '../../src/resilience/budget.js';
import { decideRetry, type Outcome, type RetryContext } from '../../src/resilience/retry.js';

const NOW = 1_700_000_000_000;
const status = (code: number, headers: Record<string, string> = {}): Outcome => ({ kind: 'status', status: code, headers });
const keyFault = (code: number, scope: 'key' | 'request'): Outcome => ({ kind: 'status', status: code, headers: {}, keyFault: scope });

function ctx(over: Partial<RetryContext> = {}): RetryContext {
  return { now: NOW, deadline: NOW + 60_000, bytesSent: false, budget: new RetryBudget(0.2, 60_000, 10), random: () => 0.5, ...over };
}

describe('decideRetry', () => {
  const cases: Array<[string, Outcome, number, Partial<RetryContext>, string, number]> = [
    // name, outcome, attempt, context, action, delayMs
    ['429 honours retry-after', status(429, { 'retry-after': '3' }), 1, {}, 'retry-after', 3000],
    ['429 honours retry-after-ms first', status(429, { 'retry-after-ms': '150', 'retry-after': '3' }), 1, {}, 'retry-after', 150],
    ['429 without hints backs off', status(429), 1, {}, 'retry-after', 250],
    ['529 overloaded backs off', status(529), 1, {}, 'retry-after', 250],
    ['500 backs off exponentially', status(500), 3, {}, 'retry-after', 1000],
    ['503 with retry-after', status(503, { 'retry-after': '2' }), 1, {}, 'retry-after', 2000],
    ['backoff is capped', status(502), 10, { maxAttempts: 20 }, 'retry-after', 4000],
    ['timeout', { kind: 'timeout' }, 1, {}, 'retry-after', 250],
    ['connection error', { kind: 'connection' }, 2, {}, 'retry-after', 500],
    ['408 is retried', status(408), 1, {}, 'retry-after', 250],
    ['409 is retried', status(409), 1, {}, 'retry-after', 250],
    ['400 is not', status(400), 1, {}, 'give-up', 0],
    ['404 is not', status(404), 1, {}, 'give-up', 0],
    ['413 is not', status(413), 1, {}, 'give-up', 0],
    ['a 401 without a key-fault verdict is not', status(401), 1, {}, 'give-up', 0],
    ['a refused key moves to another key at once', keyFault(401, 'key'), 1, {}, 'retry-now', 0],
    ['a request refused on one key tries another at once', keyFault(403, 'request'), 1, {}, 'retry-now', 0],
    ['a refused key is not retried past the attempt limit', keyFault(401, 'key'), 4, {}, 'give-up', 0],
    ['a refused key is not retried past the deadline', keyFault(401, 'key'), 1, { deadline: NOW }, 'give-up', 0],
    ['max_attempts above 4 allows a fifth attempt', status(500), 4, { maxAttempts: 6 }, 'retry-after', 2000],
    ['x-should-retry: false wins over 503', status(503, { 'x-should-retry': 'false' }), 1, {}, 'give-up', 0],
    ['x-should-retry: true makes a 400 retryable', status(400, { 'x-should-retry': 'true' }), 1, {}, 'retry-after', 250],
    ['nothing after the first byte reached the client', status(529), 1, { bytesSent: true }, 'give-up', 0],
    ['not past the deadline', status(429, { 'retry-after': '30' }), 1, { deadline: NOW + 10_000 }, 'give-up', 0],
    ['not past the attempt limit', status(500), 4, {}, 'give-up', 0],
    ['zero retry-after retries now', status(429, { 'retry-after': '0' }), 1, {}, 'retry-now', 0],
  ];
  for (const [name, outcome, attempt, over, action, delayMs] of cases) {
    it(name, () => {
      const decision = decideRetry(outcome, attempt, ctx(over));
      assert.equal(decision.action, action, decision.reason);
      assert.equal(decision.delayMs, delayMs, decision.reason);
      assert.ok(decision.reason.length > 0);
    });
  }

  it('backoff uses full jitter: anywhere from 0 to the ceiling', () => {
    const delays = [0, 0.25, 0.999].map((r) => decideRetry(status(500), 2, ctx({ random: () => r })).delayMs);
    assert.deepEqual(delays, [0, 250, 999]);
  });

  it('gives up once the retry budget is spent', () => {
    const budget = new RetryBudget(0.2, 60_000, 1);
    for (let i = 0; i < 10; i++) budget.recordRequest(NOW);
    const actions = Array.from({ length: 5 }, () => decideRetry(status(503), 1, ctx({ budget })).action);
    assert.deepEqual(actions, ['retry-after', 'retry-after', 'retry-after', 'give-up', 'give-up']);
  });

  it('moving off a refusing key takes nothing from the retry budget', () => {
    const budget = new RetryBudget(0, 60_000, 0);
    assert.equal(decideRetry(keyFault(403, 'request'), 1, ctx({ budget })).action, 'retry-now');
    assert.equal(decideRetry(keyFault(401, 'key'), 1, ctx({ budget })).action, 'retry-now');
    assert.equal(decideRetry(status(503), 1, ctx({ budget })).action, 'give-up');
  });

  it('a decision to give up for another reason does not spend the budget', () => {
    const budget = new RetryBudget(0, 60_000, 1);
    decideRetry(status(400), 1, ctx({ budget }));
    decideRetry(status(503), 1, ctx({ budget, bytesSent: true }));
    assert.equal(decideRetry(status(503), 1, ctx({ budget })).action, 'retry-after');
  });
});
