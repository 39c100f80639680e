/**
 * An answer as a value: what the request path produces, whoever consumes it — the HTTP writer
 * (server/answer-writer.ts), the cache's recorder, the batch runner. A stream body yields the
 * client's bytes as the upstream sends them (never buffered); `usage` settles when it has ended.
 */
import type { TokenUsage } from '../protocol/usage.js';

export interface Answer {
  status: number;
  /** The answer's own headers; the writer adds the request's `x-spillway-*` ones. */
  headers: Record<string, string | string[]>;
  body: Buffer | AsyncIterable<Buffer | string>;
  /** The provider's count once the body has ended; undefined when it reported none (or for a refusal). */
  usage: Promise<TokenUsage | undefined>;
  /** The provider answered the client's own surface natively (ChatRequest.native): not the pivot, not to be translated or cached as it. */
  native?: boolean;
}

/** A whole JSON answer. */
export function jsonAnswer(status: number, body: string | Buffer, headers: Record<string, string | string[]> = {}, usage?: TokenUsage): Answer {
  return { status, headers: { ...headers, 'content-type': 'application/json' }, body: Buffer.isBuffer(body) ? body : Buffer.from(body), usage: Promise.resolve(usage) };
}

/**
 * Lets go of an answer nobody will read (the client left first): a stream's upstream is released
 * and its reservation settled, as if it had been read to its end.
 */
export async function discard(answer: Answer): Promise<void> {
  if (Buffer.isBuffer(answer.body)) return;
  await answer.body[Symbol.asyncIterator]().return?.();
}

/** The whole body, read to its end (a batch request, a recorded error). */
export async function bodyOf(answer: Answer): Promise<Buffer> {
  if (Buffer.isBuffer(answer.body)) return answer.body;
  const chunks: Buffer[] = [];
  for await (const chunk of answer.body) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/** What a consumer of a stream body between the pipeline and the writer wants to know. */
export interface StreamWatch {
  /** Each chunk, once its consumer has taken it and asked for the next (so it reaches the client first). */
  passed?(chunk: Buffer | string): void;
  /** Called exactly once, however the stream ends; `completed`: it was read to its end. */
  ended(completed: boolean): void;
}

/**
 * A stream body watched on its way: `ended` runs however the body ends — read to its end, failed,
 * or let go (`return`) while or even before being read — so a reservation is settled, an upstream
 * released and a recording closed whatever the consumer does. (An async generator cannot promise
 * this: one let go before its first read never runs its `finally`.)
 */
export function watched(chunks: AsyncIterable<Buffer | string>, watch: StreamWatch): AsyncIterable<Buffer | string> {
  let done = false;
  let taken: Buffer | string | undefined;
  const end = (completed: boolean): void => {
    if (done) return;
    done = true;
    watch.ended(completed);
  };
  const iterator = chunks[Symbol.asyncIterator]();
  return {
    [Symbol.asyncIterator]: () => ({
      async next() {
        if (taken !== undefined) watch.passed?.(taken);
        taken = undefined;
        try {
          const result = await iterator.next();
          if (result.done) end(true);
          else taken = result.value;
          return result;
        } catch (error) {
          end(false);
          throw error;
        }
      },
      async return() {
        try {
          await iterator.return?.();
        } finally {
          end(false);
        }
        return { done: true as const, value: undefined };
      },
    }),
  };
}
