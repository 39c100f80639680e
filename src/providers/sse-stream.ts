/**
 * An upstream SSE stream read into pivot events, with the provider's own usage tallied from the same
 * events on the side (settling needs the provider's count, whatever the client speaks).
 */
import type { PivotEvent } from '../pivot/index.js';
import { SseParser, type SseEvent } from '../protocol/sse.js';
import type { Protocol } from '../protocol/surface.js';
import { StreamUsage, type TokenUsage } from '../protocol/usage.js';
import type { ProviderStream } from './codec.js';

export function sseProviderStream(protocol: Protocol, toPivot: { push(event: SseEvent): PivotEvent[]; end(): PivotEvent[] }): ProviderStream {
  const parser = new SseParser();
  const usage = new StreamUsage(protocol);
  let reported = false;
  const read = (events: SseEvent[]) =>
    events.flatMap((event) => {
      usage.push(event);
      if (event.data.includes('"usage"')) reported = true;
      return toPivot.push(event);
    });
  return {
    push: (chunk) => read(parser.push(chunk)),
    end: () => [...read(parser.end()), ...toPivot.end()],
    usage: (): TokenUsage | undefined => (reported ? usage.usage(0) : undefined),
  };
}
