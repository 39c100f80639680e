/** What spillway reads from Gemini's 429 bodies: the wait in RetryInfo, and daily quotas that reset at midnight Pacific. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gemini } from '../../src/providers/gemini/adapter.js';
import { msUntilPacificMidnight } from '../../src/providers/gemini/limits.js';

// 2026-11-22 10:00 UTC is 02:00 in Los Angeles (PST, UTC-8): 22 hours to midnight there.
const NOW = Date.UTC(2026, 10, 22, 10, 0, 0);
const HOUR = 3_600_000;

function quota429(quotaId: string, retryDelay?: string): string {
  const details: unknown[] = [
    { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests', quotaId }] },
  ];
  if (retryDelay) details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay });
  return JSON.stringify({ error: { code: 429, message: 'You exceeded your current quota', status: 'RESOURCE_EXHAUSTED', details } });
}

describe('Gemini 429 bodies', () => {
  it('midnight Pacific, in standard and daylight time', () => {
    assert.equal(msUntilPacificMidnight(NOW), 22 * HOUR);
    // 2026-07-01 07:30 UTC is 00:30 in Los Angeles (PDT, UTC-7).
    assert.equal(msUntilPacificMidnight(Date.UTC(2026, 6, 1, 7, 30, 0)), 23.5 * HOUR);
  });

  it('a per-minute quota waits what RetryInfo says, fractions included', () => {
    assert.deepEqual(gemini.parseErrorBody!(429, quota429('GenerateRequestsPerMinutePerProjectPerModel-FreeTier', '45.5s'), NOW), { retryAfterMs: 45_500 });
  });

  it('a per-day quota rests until midnight Pacific, whatever RetryInfo says', () => {
    assert.deepEqual(gemini.parseErrorBody!(429, quota429('GenerateRequestsPerDayPerProjectPerModel-FreeTier', '30s'), NOW), { retryAfterMs: 22 * HOUR });
    assert.deepEqual(gemini.parseErrorBody!(429, quota429('GenerateRequestsPerDayPerProjectPerModel'), NOW), { retryAfterMs: 22 * HOUR });
  });

  it('a body without details, or not JSON, says nothing', () => {
    assert.deepEqual(gemini.parseErrorBody!(429, JSON.stringify({ error: { code: 429, message: 'Resource has been exhausted', status: 'RESOURCE_EXHAUSTED' } }), NOW), {});
    assert.deepEqual(gemini.parseErrorBody!(429, '<html>', NOW), {});
  });
});
