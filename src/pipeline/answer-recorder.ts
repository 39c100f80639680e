/**
 * Keeps an answer for the cache as it passes to its client, without holding the client back and
 * without holding more than the cache would keep. Each chunk reaches the client first and is
 * looked at after; a stream is folded into its message as it passes (never kept as SSE text); and
 * past `maxBytes` recording stops and lets go of what it had, so an answer too large to cache
 * streams through without being recorded.
 */
import { AnthropicStreamAccumulator } from '../cache/anthropic-answer.js';
import { makeEntry, nativeEntry, type CacheEntry, type NativeAnswer } from '../cache/entry.js';
import { OpenAIStreamAccumulator } from '../cache/openai-answer.js';
import { watched, type Answer } from './answer.js';
import { SseParser } from '../protocol/sse.js';
import type { Surface } from '../protocol/surface.js';

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
  maxBytes: number;
  /** The answer is a provider's own to a client of its surface: kept as its bytes, stream or not. */
  native?: Pick<NativeAnswer, 'surface' | 'model'>;
}

/** The same answer, teed: `recording` settles once its body has ended (read whole, or not). */
export function recordAnswer(answer: Answer, { surface, stream, maxBytes, native }: RecordOptions): { answer: Answer; recording: Promise<AnswerRecording> } {
  let bytes = 0;
  let stopped = false;
  let chunks: Buffer[] = [];
  let fold: Fold | undefined;
  const ok = answer.status === 200;

  const look = (chunk: Buffer | string): void => {
    if (stopped) return;
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    bytes += data.byteLength;
    if (bytes > maxBytes) {
      stopped = true;
      chunks = [];
      fold = undefined;
      return;
    }
    // A 200 to a streaming request is SSE: folded into its message event by event.
    if (stream && ok && !native) {
      fold ??= { parser: new SseParser(), accumulator: surface === 'anthropic' ? new AnthropicStreamAccumulator() : new OpenAIStreamAccumulator() };
      for (const event of fold.parser.push(data)) fold.accumulator.push(event);
    } else {
      chunks.push(data);
    }
  };

  const text = (): string | undefined => (stopped || fold ? undefined : Buffer.concat(chunks).toString('utf8'));
  const recording: AnswerRecording = {
    text,
    entry() {
      if (stopped || !ok) return undefined;
      if (fold) {
        for (const event of fold.parser.end()) fold.accumulator.push(event);
        const message = fold.accumulator.result();
        return message ? makeEntry(surface, message, Date.now()) : undefined;
      }
      const body = text();
      if (body !== undefined && native) return nativeEntry({ ...native, stream, body }, Date.now());
      if (body === undefined || stream) return undefined;
      try {
        return makeEntry(surface, JSON.parse(body), Date.now());
      } catch {
        return undefined; // cut short or malformed: nothing worth keeping
      }
    },
  };
  // An answer that did not reach its end (the client left, the upstream broke) is not kept.
  const unfinished: AnswerRecording = { entry: () => undefined, text: () => undefined };

  if (Buffer.isBuffer(answer.body)) {
    look(answer.body);
    return { answer, recording: Promise.resolve(recording) };
  }
  let finish!: (recorded: AnswerRecording) => void;
  const settled = new Promise<AnswerRecording>((resolve) => (finish = resolve));
  const body = watched(answer.body, { passed: look, ended: (completed) => finish(completed ? recording : unfinished) });
  return { answer: { ...answer, body }, recording: settled };
}
