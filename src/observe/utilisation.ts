/**
 * How much of each limit a key is using, as a share (0..1+) of the limit. Per-minute limits are
 * measured by what went through the key over the trailing minute (the bucket itself only holds a
 * burst, so its level says little about the rate); the daily limit by what its bucket has spent; the
 * concurrency limit by requests in flight.
 */
import type { Dimension, KeySnapshot } from '../quota/types.js';

export interface MinuteUse {
  requests: number;
  inputTokens: number;
  outputTokens: number;
}

export function keyUtilisation(key: KeySnapshot, lastMinute: MinuteUse): Partial<Record<Dimension, number>> {
  const out: Partial<Record<Dimension, number>> = {};
  for (const [dimension, snap] of Object.entries(key.dimensions) as Array<[Dimension, NonNullable<KeySnapshot['dimensions'][Dimension]>]>) {
    if (!(snap.limit > 0)) continue;
    let used: number;
    switch (dimension) {
      case 'rpm':
        used = lastMinute.requests;
        break;
      case 'itpm':
        used = lastMinute.inputTokens;
        break;
      case 'otpm':
        used = lastMinute.outputTokens;
        break;
      case 'tpm':
        used = lastMinute.inputTokens + lastMinute.outputTokens;
        break;
      case 'rpd':
        used = snap.limit - Math.max(0, snap.remaining);
        break;
      case 'concurrency':
        used = key.inFlight;
        break;
    }
    out[dimension] = used / snap.limit;
  }
  return out;
}
