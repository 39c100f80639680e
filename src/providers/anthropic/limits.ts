/** Anthropic's rate-limit headers: `anthropic-ratelimit-<dim>-{limit,remaining,reset}`, resets in RFC 3339 ("until the bucket is full again"). */
import { count, header, lowerCased, observed, observedLimits, untilTimestamp, type HeaderBag } from '../../quota/headers.js';
import type { Observed, ObservedLimits } from '../../quota/types.js';

function dimension(headers: HeaderBag, dim: string, now: number): Observed | undefined {
  const prefix = `anthropic-ratelimit-${dim}-`;
  return observed(count(header(headers, prefix + 'limit')), count(header(headers, prefix + 'remaining')), untilTimestamp(header(headers, prefix + 'reset'), now));
}

export function parseAnthropicLimits(headers: HeaderBag, now: number): ObservedLimits {
  const h = lowerCased(headers);
  return observedLimits(
    {
      requests: dimension(h, 'requests', now),
      inputTokens: dimension(h, 'input-tokens', now),
      outputTokens: dimension(h, 'output-tokens', now),
      tokens: dimension(h, 'tokens', now),
    },
    h,
    now,
  );
}
