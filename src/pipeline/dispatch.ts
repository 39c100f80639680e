/**
 * Dispatch: send one admitted request to one key of one provider and return its answer — whole,
 * or a stream relayed chunk by chunk as it arrives — settling the reservation with what the
 * provider reported (a stream's when it ends). What a refusal means is resilience/outcome.ts's to say.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { SseParser } from '../protocol/sse.js';
import { bridgeFor, type Bridge, type StreamBridge } from './bridge.js';
import { StreamUsage, usageOfBody, type TokenUsage } from '../protocol/usage.js';
import type { Provider } from '../providers/provider.js';
import { UpstreamFailure, type UpstreamClient } from '../providers/upstream.js';
import { writtenAt } from '../quota/pool.js';
import type { Reservation } from '../quota/types.js';
import { restAfterRefusal } from '../quota/refusal.js';
import { judgeNoAnswer, judgeOpeningError, judgeRefusal, type KeyEffect } from '../resilience/outcome.js';
import type { Outcome } from '../resilience/retry.js';
import { DEFAULT_TIMEOUT_MS, firstByteLimitMs, FirstByteTimer, firstChunkOf, openingError, readWhole } from './first-byte.js';
import type { Observer } from '../observe/observer.js';
import { InvalidRequest } from '../protocol/invalid.js';
import { GatewayError, invalidRequest } from './errors.js';
import { watched, type Answer } from './answer.js';
import type { RequestContext } from './request-context.js';
import type { ChatRequest } from './ingress.js';

/** An upstream answer that was not relayed: what happened, and the answer itself for passthrough. */
export interface FailedAttempt {
  outcome: Outcome;
  /** `native`: the body is the provider's own, in the client's surface (ChatRequest.native), not the pivot's. */
  response?: { status: number; headers: Record<string, string>; body: string; native?: boolean };
}

export type AttemptResult = { answered: true; answer: Answer } | ({ answered: false } & FailedAttempt);

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'content-encoding',
  'host',
  'upgrade',
  'proxy-connection',
  'te',
  'trailer',
]);

/** The client's own headers that the provider understands; credentials are never among them. */
function forwardedHeaders(provider: Provider, clientHeaders: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(clientHeaders)) {
    if (value === undefined || !provider.adapter.forwardsHeader(name)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** Upstream response headers that make sense to the client (no hop-by-hop, no cookies). */
function relayedHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || name === 'set-cookie') continue;
    out[name] = value;
  }
  return out;
}

/** A wait known only from the body (Gemini's RetryInfo) still reaches the client as `retry-after`. */
export function withRetryAfter(headers: Record<string, string>, retryAfterMs: number | undefined): Record<string, string> {
  if (retryAfterMs === undefined || headers['retry-after'] !== undefined) return headers;
  return { ...headers, 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) };
}

export function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * The body to send: the client's bytes untouched unless the route asks another model name. A
 * Gemini request names its model in the URL only (nativePath puts the upstream one there).
 */
function upstreamBody(chat: ChatRequest, model: string): Buffer | string {
  return model === chat.model || chat.native?.surface === 'gemini' ? chat.raw : JSON.stringify({ ...chat.body, model });
}

/**
 * The client's query, relayed on passthrough. Not a Gemini client's: it holds the client's own
 * key (`?key=`) and its stream framing (`alt`), which are spillway's to set upstream.
 */
function relayedQuery(exchange: RequestContext, chat: ChatRequest): string {
  return chat.native?.surface === 'gemini' ? '' : queryOf(exchange);
}

export interface AttemptContext {
  upstream: UpstreamClient;
  provider: Provider;
  model: string;
  reservation: Reservation;
  /** Input tokens estimated before dispatch, used when the provider reports none. */
  estimatedInput: number;
  /** Called once the reservation is settled, so capacity changes wake waiting requests. */
  onSettled(usage: TokenUsage | undefined): void;
  observer: Observer;
  log(message: string): void;
  /** The provider refused the key and this attempt took it out of service: its probe may start. */
  onKeyRested?(provider: Provider, keyId: string): void;
}

/** Upstream headers worth keeping on a translated answer: only request ids; the rest is the other protocol's. */
function translatedHeaders(headers: Record<string, string | string[] | undefined>, contentType: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = { 'content-type': contentType };
  for (const name of ['request-id', 'x-request-id']) {
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * The request in the provider's protocol. A field translation must read but cannot is the
 * client's fault: a 400 in its own shape and its provider's words, never a crash or a 502.
 */
function translateRequest(exchange: RequestContext, bridge: Bridge, chat: ChatRequest, ctx: AttemptContext): { body: string; dropped: string[] } {
  const startedAt = Date.now();
  try {
    const translated = bridge.request(ctx.model, chat.stream);
    exchange.spans?.step('spillway.translate', startedAt, Date.now(), { 'spillway.surface': chat.surface, 'spillway.protocol': ctx.provider.adapter.protocol });
    return translated;
  } catch (error) {
    if (error instanceof InvalidRequest) throw invalidRequest(error.fault);
    ctx.log(`spillway: a request could not be translated for ${ctx.provider.name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    throw new GatewayError('invalid_request', `the request could not be translated for provider ${ctx.provider.name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** What goes upstream: the client's request untouched, or translated when the provider speaks another protocol. */
function upstreamRequest(exchange: RequestContext, chat: ChatRequest, ctx: AttemptContext, bridge: Bridge | undefined, nativePath: string | undefined) {
  const { provider } = ctx;
  const { adapter } = provider;
  const credentials = adapter.authHeaders(provider.secretOf(ctx.reservation.keyId));
  if (!bridge) {
    return {
      url: provider.baseUrl + (nativePath ?? adapter.chatPath(ctx.model, chat.stream)) + relayedQuery(exchange, chat),
      headers: { ...forwardedHeaders(provider, exchange.req.headers), ...provider.config.headers, ...credentials, 'content-type': 'application/json' },
      body: upstreamBody(chat, ctx.model),
    };
  }
  // Across protocols the client's headers and query (anthropic-beta, ?beta=true) mean nothing upstream.
  const translated = translateRequest(exchange, bridge, chat, ctx);
  const { body } = translated;
  const dropped = [...new Set([...(chat.dropped ?? []), ...translated.dropped])];
  if (dropped.length > 0) exchange.spillwayHeaders['x-spillway-dropped'] = dropped.join(', ').slice(0, 512);
  return {
    url: provider.baseUrl + adapter.chatPath(ctx.model, chat.stream),
    headers: { ...bridge.headers, ...provider.config.headers, ...credentials, 'content-type': 'application/json' },
    body,
  };
}

/**
 * Marks the reservation as waiting for a connection until undici starts writing its request: the
 * pool orders arrivals by when requests left, not when they were admitted (quota/pool.ts sentOf).
 */
export function leaving(reservation: Reservation): { onWritten: () => void } {
  reservation.sentAt = Infinity;
  return { onWritten: () => (reservation.sentAt = Date.now()) };
}

/** Settles an attempt's reservation with what the provider reported, once, whichever path gets there first. */
export function settleOnce(ctx: AttemptContext): (usage: TokenUsage | undefined) => void {
  let settled = false;
  return (usage) => {
    if (settled) return;
    settled = true;
    ctx.provider.pool.settle(ctx.reservation, usage, Date.now());
    ctx.onSettled(usage);
  };
}

export async function attempt(exchange: RequestContext, chat: ChatRequest, ctx: AttemptContext): Promise<AttemptResult> {
  const { provider, reservation } = ctx;
  const { pool, adapter } = provider;
  // A provider that serves the client's own surface (OpenAI's /responses) gets the client's own request, relayed.
  const nativePath = chat.native && adapter.nativePath?.(chat.native.surface, provider.config, { model: ctx.model, stream: chat.stream });
  if (nativePath) chat = { ...chat, body: chat.native!.body, raw: chat.native!.raw, translated: false };
  const bridge = nativePath ? undefined : bridgeFor({ surface: chat.surface, provider: adapter.codec, requestedModel: chat.model, body: chat.body, translated: chat.translated });
  const upstreamAbort = new AbortController();
  const abortUpstream = () => upstreamAbort.abort();
  exchange.signal.addEventListener('abort', abortUpstream, { once: true });
  const settle = settleOnce(ctx);

  const sentAt = Date.now();
  // The key's id names it in the span, never the key.
  exchange.spans?.set({ 'gen_ai.system': adapter.protocol });
  const span = exchange.spans?.start(`chat ${ctx.model}`, { 'gen_ai.operation.name': 'chat', 'gen_ai.system': adapter.protocol, 'gen_ai.request.model': ctx.model, 'spillway.provider': provider.name, 'spillway.key_id': reservation.keyId }, sentAt);
  // Reported once the answer is known good (its first byte) or failed: a 200 whose body is cut
  // counts as the failure it was. The latency is to the status line.
  let reported = false;
  let answeredAt: number | undefined;
  const report = (status: number | 'timeout' | 'connection') => {
    if (reported) return;
    reported = true;
    const latencyMs = (answeredAt ?? Date.now()) - sentAt;
    ctx.observer.upstream({ requestId: exchange.requestId, provider: provider.name, keyId: reservation.keyId, model: ctx.model, status, latencyMs });
    span?.end(typeof status === 'number' ? { 'http.response.status_code': status } : { 'error.type': status }, typeof status === 'number' && status < 400 ? undefined : String(status));
  };
  const timeoutMs = provider.config.timeout ?? DEFAULT_TIMEOUT_MS;
  // A stream answer outlives this function: its end settles, lets go of the upstream and stops listening for the client.
  let streaming = false;
  const firstByte = new FirstByteTimer(upstreamAbort, firstByteLimitMs(provider.config.first_byte_timeout, timeoutMs, chat.stream, chat.maxTokens));

  try {
    const outgoing = upstreamRequest(exchange, chat, ctx, bridge, nativePath);
    const response = await ctx.upstream.send({
      ...outgoing,
      ...leaving(reservation),
      // The client's trace continues upstream, from this attempt.
      headers: span ? { ...outgoing.headers, ...span.headers() } : outgoing.headers,
      method: 'POST',
      signal: upstreamAbort.signal,
      timeoutMs,
      pool: { name: provider.name, connections: provider.connections.capacity },
    });
    const now = Date.now();
    answeredAt = now;
    // A stream that may think before its first chunk has shown it is alive (see streamStartsAtOnce).
    if (chat.stream && !adapter.streamStartsAtOnce) firstByte.clear();
    /** The answer's first byte is in hand: nothing can stall it any more. */
    const arrived = () => {
      firstByte.clear();
      report(response.statusCode);
    };
    const observed = adapter.parseLimits(response.headers, now);
    if (response.statusCode === 429) observed.refused = true;
    pool.observe(reservation.keyId, observed, now, reservation, writtenAt(reservation) ?? sentAt);

    if (response.statusCode < 200 || response.statusCode >= 300) {
      const body = (await readWhole(response.body)).toString('utf8');
      arrived();
      settle(undefined);
      const fromBody = adapter.parseErrorBody?.(response.statusCode, body, now);
      if (fromBody?.retryAfterMs !== undefined && observed.retryAfterMs === undefined) observed.retryAfterMs = fromBody.retryAfterMs;
      const { outcome, key } = judgeRefusal({ status: response.statusCode, headers: response.headers, body, now, cooldownMs: restAfterRefusal(observed, reservation.demand) });
      applyKeyEffect(ctx, key, now);
      // The outcome keeps the upstream's status (retry decisions); the relayed answer is in the caller's shape.
      const relayed = bridge ? bridge.error(response.statusCode, body) : { status: response.statusCode, body };
      return {
        answered: false,
        outcome,
        response: { status: relayed.status, headers: withRetryAfter(flatHeaders(response.headers), observed.retryAfterMs), body: relayed.body, ...(nativePath ? { native: true } : {}) },
      };
    }

    // A stream's first chunk is read before anything is sent: until then the attempt can be retried.
    let events: AsyncIterable<Buffer> | undefined;
    if (chat.stream) {
      const opened = await firstChunkOf(response.body);
      const refusal = opened.first && openingError(adapter.protocol, opened.first);
      if (refusal) {
        upstreamAbort.abort(); // whatever follows the error is not wanted
        firstByte.clear();
        report(refusal.status);
        settle(undefined);
        const relayed = bridge ? bridge.error(refusal.status, refusal.body) : refusal;
        return { answered: false, outcome: judgeOpeningError(refusal.status).outcome, response: { status: relayed.status, headers: {}, body: relayed.body, ...(nativePath ? { native: true } : {}) } };
      }
      arrived();
      events = opened.events;
    }

    if (bridge) {
      const translated = await answerTranslated(chat, ctx, bridge, response, settle, arrived, events, ended);
      streaming = chat.stream;
      return translated;
    }

    const headers = relayedHeaders(response.headers);
    if (!chat.stream) {
      const body = await readWhole(response.body);
      let usage: TokenUsage | undefined;
      try {
        usage = usageOfBody(adapter.protocol, JSON.parse(body.toString('utf8')));
      } catch {
        // Not a readable answer (cut short without the connection saying so): retry may fix it.
        throw new UpstreamFailure('connection', 'the answer is not readable JSON');
      }
      arrived();
      settle(usage ?? { inputTokens: ctx.estimatedInput, outputTokens: reservation.demand.outputTokens });
      return { answered: true, answer: { status: response.statusCode, headers, body, usage: Promise.resolve(usage), ...(nativePath ? { native: true } : {}) } };
    }

    // Same protocol: the provider speaks the client's surface (its own, when native).
    const usage = new StreamUsage(adapter.protocol);
    streaming = true;
    const answer = streamAnswer(response.statusCode, headers, passed(events!, passthrough(usage)), () => usage.usage(ctx.estimatedInput), ended);
    return { answered: true, answer: nativePath ? { ...answer, native: true } : answer };
  } catch (error) {
    settle(undefined);
    const failure = firstByte.expired ? new UpstreamFailure('timeout', 'no first byte in time') : error;
    if (failure instanceof UpstreamFailure) {
      report(failure.kind);
      return { answered: false, outcome: judgeNoAnswer(failure.kind).outcome };
    }
    throw error;
  } finally {
    firstByte.clear();
    if (!streaming) exchange.signal.removeEventListener('abort', abortUpstream);
  }

  /** A stream answer's end, however it came (read whole, broken, let go): settle and let go of the upstream. */
  function ended(usage: TokenUsage | undefined, completed: boolean): void {
    settle(usage);
    exchange.signal.removeEventListener('abort', abortUpstream);
    if (!completed) upstreamAbort.abort();
  }
}

/** A stream answer whose usage is known, and the reservation settled, when it ends. */
function streamAnswer(
  status: number,
  headers: Record<string, string | string[]>,
  chunks: AsyncIterable<Buffer | string>,
  usageAtEnd: () => TokenUsage | undefined,
  ended: (usage: TokenUsage | undefined, completed: boolean) => void,
): Answer {
  let resolve!: (usage: TokenUsage | undefined) => void;
  const usage = new Promise<TokenUsage | undefined>((r) => (resolve = r));
  const body = watched(chunks, {
    ended(completed) {
      const total = usageAtEnd();
      ended(total, completed);
      resolve(total);
    },
  });
  return { status, headers, body, usage };
}

/** Does to the key what the answer means for it (resilience/outcome.ts). */
export function applyKeyEffect(ctx: AttemptContext, effect: KeyEffect, now: number): void {
  if (effect.kind === 'cool-down') ctx.provider.pool.coolDown(ctx.reservation.keyId, effect.until);
  else if (effect.kind === 'rest') restKey(ctx, effect.reason, now);
}

/** The provider refused the key itself: it rests until a probe succeeds. Counted and announced once per rest. */
function restKey(ctx: AttemptContext, reason: string, now: number): void {
  const { provider, reservation } = ctx;
  void Promise.resolve(provider.pool.rest(reservation.keyId, reason, now)).then((rested) => {
    if (!rested) return;
    ctx.log(`spillway: key ${reservation.keyId} of provider ${provider.name} rests until a probe succeeds: ${reason}`);
    ctx.observer.keyDisabled(provider.name, reservation.keyId, reason);
    ctx.onKeyRested?.(provider, reservation.keyId);
  });
}

/** A 2xx answer from a provider of another protocol, translated whole or as a stream (`events`). */
async function answerTranslated(
  chat: ChatRequest,
  ctx: AttemptContext,
  bridge: Bridge,
  response: { statusCode: number; headers: Record<string, string | string[] | undefined>; body: AsyncIterable<Buffer> },
  settle: (usage: TokenUsage | undefined) => void,
  arrived: () => void,
  /** A stream's chunks, its first already read. */
  events: AsyncIterable<Buffer> | undefined,
  ended: (usage: TokenUsage | undefined, completed: boolean) => void,
): Promise<AttemptResult> {
  if (!chat.stream) {
    const text = (await readWhole(response.body)).toString('utf8');
    let translated: { body: string; usage: TokenUsage | undefined };
    try {
      translated = bridge.response(text, Date.now());
    } catch {
      // Not a readable answer: nothing was sent yet, so this is an upstream failure retry may fix.
      throw new UpstreamFailure('connection', 'the answer could not be translated');
    }
    arrived();
    const usage = translated.usage;
    settle(usage ?? { inputTokens: ctx.estimatedInput, outputTokens: ctx.reservation.demand.outputTokens });
    return { answered: true, answer: { status: 200, headers: translatedHeaders(response.headers, 'application/json'), body: Buffer.from(translated.body), usage: Promise.resolve(usage) } };
  }
  const stream = bridge.stream(Date.now());
  const headers = { ...translatedHeaders(response.headers, 'text/event-stream; charset=utf-8'), 'cache-control': 'no-cache' };
  const usageAtEnd = () => stream.usage() ?? { inputTokens: ctx.estimatedInput, outputTokens: ctx.reservation.demand.outputTokens };
  return { answered: true, answer: streamAnswer(200, headers, passed(events!, translating(stream)), usageAtEnd, ended) };
}

/**
 * How a relayed stream's upstream chunks become the client's: passed through as they are (usage
 * read on the side) or translated. `end` gives what closes the client's stream, if anything.
 */
interface StreamPass {
  push(chunk: Buffer): Buffer | string;
  end(): string | undefined;
}

/** The stream's chunks as the client gets them, one upstream read at a time (never buffered). */
async function* passed(body: AsyncIterable<Buffer>, pass: StreamPass): AsyncIterable<Buffer | string> {
  let ended = false;
  try {
    for await (const chunk of body) {
      const out = pass.push(chunk);
      if (out.length > 0) yield out;
    }
    ended = true;
    const tail = pass.end();
    if (tail) yield tail;
  } finally {
    // A client that left still lets the pass read what it holds (usage of a last unterminated event).
    if (!ended) pass.end();
  }
}

/** Passthrough: the bytes untouched, usage read from the events on the way. */
function passthrough(usage: StreamUsage): StreamPass {
  const parser = new SseParser();
  return {
    push(chunk) {
      for (const event of parser.push(chunk)) usage.push(event);
      return chunk;
    },
    end() {
      for (const event of parser.end()) usage.push(event);
      return undefined;
    },
  };
}

/** Across protocols: each upstream read translated at once. */
function translating(stream: StreamBridge): StreamPass {
  return { push: (chunk) => stream.push(chunk), end: () => stream.end() };
}

function queryOf(exchange: RequestContext): string {
  const url = exchange.req.url ?? '';
  const at = url.indexOf('?');
  return at < 0 ? '' : url.slice(at);
}
