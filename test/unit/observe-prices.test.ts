import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { costOf, priceOf, priceTable } from '../../src/observe/prices.js';

describe('price table and cost', () => {
  const table = priceTable({ 'my-local-model': { input: 0, output: 0 }, 'gpt-4o': { input: 2, output: 8 } });

  it('prices a model by its exact name, and a dated or tagged name by its longest known prefix', () => {
    assert.deepEqual(priceOf(table, 'claude-haiku-4-5'), { input: 1, output: 5 });
    assert.deepEqual(priceOf(table, 'claude-sonnet-4-5-20250929'), { input: 3, output: 15 });
    assert.deepEqual(priceOf(table, 'gpt-4o-mini-2024-07-18'), { input: 0.15, output: 0.6 });
    assert.equal(priceOf(table, 'gpt-4omega'), undefined, 'a prefix must end at a - or : boundary');
    assert.equal(priceOf(table, 'mystery-model'), undefined);
  });

  it('lets config override and extend the built-in prices', () => {
    assert.deepEqual(priceOf(table, 'gpt-4o'), { input: 2, output: 8 });
    assert.equal(costOf(table, 'my-local-model', 1000, 1000), 0);
  });

  it('costs tokens at USD per million', () => {
    // claude-sonnet-4-x: $3 in, $15 out per million.
    assert.equal(costOf(table, 'claude-sonnet-4-6', 1_000_000, 0), 3);
    assert.ok(Math.abs(costOf(table, 'claude-sonnet-4-6', 2000, 500)! - (2000 * 3 + 500 * 15) / 1e6) < 1e-12);
    assert.equal(costOf(table, 'mystery-model', 10, 10), undefined);
  });
});
