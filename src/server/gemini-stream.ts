/**
 * Streams as a Gemini client gets them. An upstream stream is re-read chunk by chunk into the
 * client's text: translated from the pivot, or — a Gemini provider's own SSE (`alt=sse`, what
 * spillway asks of it) for a client that asked for the JSON array without `alt=sse` — re-framed,
 * each event's JSON going out as it came between the array's `[`, `,` and `]`, and Gemini's
 * mid-stream error (a raw JSON object after the events) as the array's last element.
 */
import { GeminiSseReader } from '../providers/gemini/translate.js';

/**
 * `body` read through `push` (a chunk → the client's text, maybe none yet) and `end` (what closes
 * it). An iterator, not an async generator: letting go of it, even before its first read, lets go
 * of the upstream stream, whose end settles the request's reservation.
 */
export function restreamed(body: Buffer | AsyncIterable<Buffer | string>, push: (chunk: Buffer | string) => string, end: () => string): AsyncIterable<string> {
  const source: Iterator<Buffer | string> | AsyncIterator<Buffer | string> = Buffer.isBuffer(body) ? [body][Symbol.iterator]() : body[Symbol.asyncIterator]();
  let done = false;
  return {
    [Symbol.asyncIterator]: () => ({
      async next(): Promise<IteratorResult<string>> {
        while (!done) {
          const read = await source.next();
          if (read.done) {
            done = true;
            const tail = end();
            if (tail.length > 0) return { done: false, value: tail };
            break;
          }
          const out = push(read.value);
          if (out.length > 0) return { done: false, value: out };
        }
        return { done: true, value: undefined };
      },
      async return(): Promise<IteratorResult<string>> {
        done = true;
        await source.return?.();
        return { done: true, value: undefined };
      },
    }),
  };
}

export function sseAsJsonArray(body: Buffer | AsyncIterable<Buffer | string>): AsyncIterable<string> {
  const reader = new GeminiSseReader();
  let started = false;
  const frame = (data: string): string => {
    const prefix = started ? ',\r\n' : '[';
    started = true;
    return prefix + data;
  };
  return restreamed(
    body,
    (chunk) => reader.push(chunk).map((event) => frame(event.data)).join(''),
    () => {
      const tail = reader.end().map((event) => frame(event.data)).join('');
      return `${started ? tail : '['}]`;
    },
  );
}
