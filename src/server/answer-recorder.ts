/**
 * Keeps the answer a client is sent, for the cache, without holding the client back and without
 * holding more than the cache would keep. Each chunk goes to the client first and is looked at
 * after; a stream is folded into its message as it passes (never kept as SSE text); and past
 * `maxBytes` on the wire recording stops and lets go of what it had, so an answer too large to
 * cache streams through without being recorded.
 *
 * The answer path writes to the response in several places (passthrough, translated, relayed
 * failures), so this listens where they all meet: the response's write and end.
 */
import type { ServerResponse } from 'node:http';
import { AnthropicStreamAccumulator } from '../cache/anthropic-answer.js';
import { makeEntry, type CacheEntry } from '../cache/entry.js';
import type { Surface } from '../protocol/surface.js';
import { OpenAIStreamAccumulator } from '../cache/openai-answer.js';
import { SseParser } from '../protocol/sse.js';

export interface AnswerRecording {
  /** The complete answer as a cache entry: undefined unless a 200 arrived whole within the cap. */
  entry(): CacheEntry | undefined;
  /** The body of an answer sent in one piece (a JSON answer or error), within the cap. */
  text(): string | undefined;
}

interface Fold {
  parser: SseParser;
  accumulator: AnthropicStreamAccumulator | OpenAIStreamAccumulator;
}

export interface RecordOptions {
  surface: Surface;
  /** The client asked for a stream: a 200 is SSE. */
  stream: boolean;
  /** Record a 200 at all (false: only a failure is wanted, for the negative cache). */
  answers: boolean;
  maxBytes: number;
}

export function recordAnswer(res: ServerResponse, { surface, stream, answers, maxBytes }: RecordOptions): AnswerRecording {
  let bytes = 0;
  let stopped = false;
  let chunks: Buffer[] = [];
  let fold: Fold | undefined;

  const look = (chunk: unknown): void => {
    if (stopped || (typeof chunk !== 'string' && !(chunk instanceof Uint8Array))) return;
    if (res.statusCode === 200 && !answers) {
      stopped = true; // nothing to keep
      return;
    }
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    bytes += data.byteLength;
    if (bytes > maxBytes) {
      stopped = true;
      chunks = [];
      fold = undefined;
      return;
    }
    // A 200 to a streaming request is SSE: folded into its message event by event.
    if (stream && res.statusCode === 200) {
      fold ??= { parser: new SseParser(), accumulator: surface === 'anthropic' ? new AnthropicStreamAccumulator() : new OpenAIStreamAccumulator() };
      for (const event of fold.parser.push(data)) fold.accumulator.push(event);
    } else {
      chunks.push(Buffer.isBuffer(data) ? data : Buffer.from(data));
    }
  };

  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    const flowing = write(chunk, ...rest);
    look(chunk);
    return flowing;
  }) as ServerResponse['write'];
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    const ended = end(chunk, ...rest);
    if (typeof chunk !== 'function') look(chunk);
    return ended;
  }) as ServerResponse['end'];

  const text = (): string | undefined => (stopped || fold ? undefined : Buffer.concat(chunks).toString('utf8'));
  return {
    text,
    entry() {
      if (stopped || res.statusCode !== 200) return undefined;
      if (fold) {
        for (const event of fold.parser.end()) fold.accumulator.push(event);
        const message = fold.accumulator.result();
        return message ? makeEntry(surface, message, Date.now()) : undefined;
      }
      const body = text();
      if (body === undefined || stream) return undefined;
      try {
        return makeEntry(surface, JSON.parse(body), Date.now());
      } catch {
        return undefined; // cut short or malformed: nothing worth keeping
      }
    },
  };
}
