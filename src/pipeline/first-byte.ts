/**
 * Until the first byte of an answer reaches the client, a failed attempt can still be retried on
 * another key or provider. What that needs: a limit on the wait for the first byte, body reads
 * whose failures are upstream failures, and a stream's first chunk read before anything is sent.
 */
import { classifyFailure, UpstreamFailure } from '../providers/upstream.js';
import type { Protocol } from '../protocol/surface.js';
import { SseParser } from '../protocol/sse.js';

/** Defaults of a provider's `timeout` and `first_byte_timeout` (see config/schema.ts). */
export const DEFAULT_TIMEOUT_MS = 600_000;
const DEFAULT_FIRST_BYTE_TIMEOUT_MS = 60_000;
/**
 * A non-streamed answer arrives whole, after its generation: its first-byte limit grows with its
 * output cap at this pace, slower than any model serves, so only a stall runs out of it.
 */
const SLOWEST_TOKENS_PER_SECOND = 10;
/** The output cap assumed when the request sets none (OpenAI's max_tokens is optional). */
const ASSUMED_MAX_TOKENS = 4096;

/** How long this attempt may wait for the answer's first byte (a stream's first event, or its headers: see streamStartsAtOnce). */
export function firstByteLimitMs(first: number | undefined, whole: number | undefined, stream: boolean, maxTokens: number | undefined): number {
  const base = first ?? DEFAULT_FIRST_BYTE_TIMEOUT_MS;
  const generation = stream ? 0 : ((maxTokens ?? ASSUMED_MAX_TOKENS) / SLOWEST_TOKENS_PER_SECOND) * 1000;
  return Math.min(whole ?? DEFAULT_TIMEOUT_MS, base + generation);
}

/** Aborts the attempt when its first byte is late; cleared once it arrived. */
export class FirstByteTimer {
  expired = false;
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(abort: AbortController, ms: number) {
    this.timer = setTimeout(() => {
      this.expired = true;
      abort.abort(new UpstreamFailure('timeout', `no answer within ${Math.round(ms / 1000)}s`));
    }, ms);
    this.timer.unref();
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

/** A body read that fails (a connection cut mid-answer) is an upstream failure like any other. */
export async function readWhole(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of body) chunks.push(chunk);
  } catch (error) {
    throw classifyFailure(error);
  }
  return Buffer.concat(chunks);
}

/** Waits for a stream's first chunk (still retryable), then yields it and the rest as they come. */
export async function firstChunkOf(body: AsyncIterable<Buffer>): Promise<{ first: Buffer | undefined; events: AsyncIterable<Buffer> }> {
  const iterator = body[Symbol.asyncIterator]();
  let first: IteratorResult<Buffer>;
  try {
    first = await iterator.next();
  } catch (error) {
    throw classifyFailure(error);
  }
  const events = {
    async *[Symbol.asyncIterator]() {
      try {
        if (first.done) return;
        yield first.value;
        for (;;) {
          const next = await iterator.next();
          if (next.done) return;
          yield next.value;
        }
      } finally {
        // A relay that stops early (the client left) lets go of the upstream body too.
        await iterator.return?.();
      }
    },
  };
  return { first: first.done ? undefined : first.value, events };
}

/** Error types a stream may open with that another attempt may not meet, as the status the provider would have answered. */
const RETRYABLE_OPENING: Record<string, number> = { overloaded_error: 529, api_error: 500, server_error: 500, rate_limit_error: 429 };

/**
 * A stream whose first event is an error (a 200, then `event: error` overloaded_error) failed
 * before the client saw anything: as the status the error stands for, with its JSON body.
 */
export function openingError(protocol: Protocol, first: Buffer): { status: number; body: string } | undefined {
  if (protocol !== 'anthropic' && protocol !== 'openai') return undefined;
  const [event] = new SseParser().push(first);
  if (!event || (protocol === 'anthropic' && event.event !== 'error')) return undefined;
  let type: unknown;
  try {
    type = (JSON.parse(event.data) as { error?: { type?: unknown } } | null)?.error?.type;
  } catch {
    return undefined;
  }
  const status = typeof type === 'string' ? RETRYABLE_OPENING[type] : undefined;
  return status === undefined ? undefined : { status, body: event.data };
}
