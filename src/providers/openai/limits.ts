/** OpenAI's rate-limit headers: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, resets as Go durations (`6m0s`, `1s`, `12ms`). */
import { count, header, lowerCased, observed, observedLimits, type HeaderBag } from '../../quota/headers.js';
import type { Observed, ObservedLimits } from '../../quota/types.js';

const GO_UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, 'µs': 0.001, 'μs': 0.001, ns: 0.000001 };
const GO_PART = /(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|μs|ns)/y;

/** Go's time.Duration text (`1h2m3.5s`, `6m0s`, `12ms`) → ms; undefined if it is not one. */
export function parseGoDuration(s: string): number | undefined {
  const text = s.trim();
  if (text === '0') return 0;
  if (text === '') return undefined;
  GO_PART.lastIndex = 0;
  let total = 0;
  while (GO_PART.lastIndex < text.length) {
    const match = GO_PART.exec(text);
    if (!match) return undefined;
    total += Number(match[1]) * GO_UNIT_MS[match[2]!]!;
  }
  return total;
}

function dimension(headers: HeaderBag, dim: string): Observed | undefined {
  const reset = header(headers, `x-ratelimit-reset-${dim}`);
  return observed(count(header(headers, `x-ratelimit-limit-${dim}`)), count(header(headers, `x-ratelimit-remaining-${dim}`)), reset === undefined ? undefined : parseGoDuration(reset));
}

export function parseOpenAILimits(headers: HeaderBag, now: number): ObservedLimits {
  const h = lowerCased(headers);
  return observedLimits({ requests: dimension(h, 'requests'), tokens: dimension(h, 'tokens') }, h, now);
}
