import type { ObservedLimits } from '../../quota/types.js';
import type { Headers } from '../types.js';

/**
 * Gemini sends no rate-limit headers (wire-facts §8.5): its wait lives in the 429 body's RetryInfo,
 * so only a retry-after, if some proxy in front adds one, is read here; configured limits do the rest.
 */
export function parseGeminiLimits(headers: Headers): ObservedLimits {
  const value = headers['retry-after'];
  const seconds = Number(Array.isArray(value) ? value[0] : value);
  return Number.isFinite(seconds) && seconds > 0 ? { retryAfterMs: seconds * 1000 } : {};
}

const DAY_MS = 86_400_000;
const PACIFIC_CLOCK = new Intl.DateTimeFormat('en-US', { timeZone: 'America/Los_Angeles', hourCycle: 'h23', hour: 'numeric', minute: 'numeric', second: 'numeric' });

/** Gemini's daily quotas reset at midnight Pacific time. (A day with a DST switch is off by an hour.) */
export function msUntilPacificMidnight(now: number): number {
  const parts = Object.fromEntries(PACIFIC_CLOCK.formatToParts(now).map((part) => [part.type, Number(part.value)]));
  const elapsed = (((parts['hour'] ?? 0) * 60 + (parts['minute'] ?? 0)) * 60 + (parts['second'] ?? 0)) * 1000 + (now % 1000);
  return DAY_MS - elapsed;
}

interface StatusDetail {
  '@type'?: unknown;
  retryDelay?: unknown;
  violations?: Array<{ quotaId?: unknown }>;
}

/**
 * Gemini's 429 carries its wait in the body: `details[]` holds a google.rpc.RetryInfo whose
 * `retryDelay` is a protobuf Duration ("47s", "45.837906927s"). The body may be wrapped in an array.
 * A QuotaFailure naming a per-day quota will not clear before midnight Pacific, whatever the
 * retryDelay says: the key rests until then, and the caller is told to come back then.
 */
export function parseGeminiErrorBody(status: number, body: string, now: number): ObservedLimits {
  if (status !== 429 && status !== 503) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return {};
  }
  const root: unknown = Array.isArray(parsed) ? parsed[0] : parsed;
  const details = (root as { error?: { details?: unknown } } | null)?.error?.details;
  if (!Array.isArray(details)) return {};
  let retryAfterMs: number | undefined;
  let daily = false;
  for (const detail of details as Array<StatusDetail | null>) {
    const type = typeof detail?.['@type'] === 'string' ? detail['@type'] : '';
    if (type.endsWith('google.rpc.RetryInfo') && typeof detail?.retryDelay === 'string') {
      const match = /^(\d+(?:\.\d+)?)s$/.exec(detail.retryDelay.trim());
      if (match) retryAfterMs = Number(match[1]) * 1000;
    } else if (type.endsWith('google.rpc.QuotaFailure') && Array.isArray(detail?.violations)) {
      daily ||= detail.violations.some((violation) => typeof violation?.quotaId === 'string' && violation.quotaId.includes('PerDay'));
    }
  }
  if (daily) retryAfterMs = Math.max(retryAfterMs ?? 0, msUntilPacificMidnight(now));
  return retryAfterMs === undefined ? {} : { retryAfterMs };
}
