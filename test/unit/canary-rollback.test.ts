/**
 * Issue 18: when a canary's figures call for a rollback. Pure, over window samples.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rollbackVerdict, type Sample } from '../../src/routing/rollback.js';

const rule = { error_rate: 0.05, p95_latency_ratio: 1.5, shadow_agreement_below: 0.85, min_requests: 50, window: 300_000 };
const samples = (side: Sample['side'], count: number, errors: number, latencyMs = 100): Sample[] =>
  Array.from({ length: count }, (_, i) => ({ at: i, side, error: i < errors, latencyMs }));

describe('rollback_when', () => {
  it('a candidate failing 50% against a primary failing 1% is rolled back, naming both error rates', () => {
    const verdict = rollbackVerdict([...samples('primary', 100, 1), ...samples('candidate', 50, 25)], rule);
    assert.ok(verdict);
    assert.equal(verdict.value, 0.5);
    assert.match(verdict.summary, /candidate error rate 50\.0% over 50 attempts vs primary 1\.0% over 100/);
  });

  it('nothing is decided before min_requests candidate attempts', () => {
    assert.equal(rollbackVerdict([...samples('primary', 100, 0), ...samples('candidate', 49, 49)], rule), undefined);
  });

  it('an error rate within the allowance above the primary’s is fine', () => {
    assert.equal(rollbackVerdict([...samples('primary', 100, 10), ...samples('candidate', 100, 14)], rule), undefined);
  });

  it('a p95 latency above 1.5× the primary’s is rolled back', () => {
    const verdict = rollbackVerdict([...samples('primary', 100, 0, 100), ...samples('candidate', 60, 0, 200)], rule);
    assert.match(verdict!.summary, /candidate p95 latency 200 ms is 2\.00× the primary's 100 ms/);
  });

  it('a shadow agreement below 85% over enough pairs is rolled back; too few pairs say nothing', () => {
    const healthy = [...samples('primary', 100, 0), ...samples('candidate', 60, 0)];
    assert.match(rollbackVerdict(healthy, rule, { pairs: 80, rate: 0.7 })!.summary, /shadow agreement 70\.0% over 80 pairs/);
    assert.equal(rollbackVerdict(healthy, rule, { pairs: 10, rate: 0.1 }), undefined);
    assert.equal(rollbackVerdict(healthy, rule, { pairs: 80, rate: 0.9 }), undefined);
  });
});
