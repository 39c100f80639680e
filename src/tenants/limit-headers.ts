/**
 * A tenant's own headroom in the rate-limit headers of the caller's surface, so SDKs and Claude
 * Code see the tenant's limits, not the pool's: Anthropic's `anthropic-ratelimit-*` (reset as an
 * RFC 3339 time) and OpenAI's `x-ratelimit-*` (reset as a duration like "1s" or "6m0s").
 */
import type { Surface } from '../protocol/surface.js';
import type { Dimension } from '../quota/types.js';
import type { Headroom } from './ceiling.js';

const ANTHROPIC: Partial<Record<Dimension, string>> = { rpm: 'requests', itpm: 'input-tokens', otpm: 'output-tokens', tpm: 'tokens' };
const OPENAI: Partial<Record<Dimension, string>> = { rpm: 'requests', tpm: 'tokens' };

/** Go-style duration, as OpenAI writes it: "12ms", "1s", "6m0s". */
function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}

export function headroomHeaders(surface: Surface, headroom: readonly Headroom[], now: number): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const { dimension, limit, remaining, resetMs } of headroom) {
    if (surface === 'anthropic') {
      const name = ANTHROPIC[dimension];
      if (!name) continue;
      headers[`anthropic-ratelimit-${name}-limit`] = String(limit);
      headers[`anthropic-ratelimit-${name}-remaining`] = String(remaining);
      headers[`anthropic-ratelimit-${name}-reset`] = new Date(now + resetMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
    } else {
      const name = OPENAI[dimension];
      if (!name) continue;
      headers[`x-ratelimit-limit-${name}`] = String(limit);
      headers[`x-ratelimit-remaining-${name}`] = String(remaining);
      headers[`x-ratelimit-reset-${name}`] = duration(resetMs);
    }
  }
  return headers;
}
