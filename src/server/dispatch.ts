/**
 * Dispatch: send one admitted request to one key of one provider, stream or relay the answer
 * back, and settle the reservation with what the provider reported.
 */
import { once } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import { SseParser } from '../protocol/sse.js';
import { bridgeFor, type Bridge, type StreamBridge } from '../protocol/translate/bridge.js';
import { StreamUsage, usageOfBody, type TokenUsage } from '../protocol/usage.js';
import type { Provider } from '../providers/provider.js';
import { UpstreamFailure, type UpstreamClient } from '../providers/upstream.js';
import type { Reservation } from '../quota/types.js';
import { cooldownMs } from '../quota/headers.js';
import type { Outcome } from '../resilience/retry.js';
import type { Observer } from '../observe/observer.js';
import { GatewayError, streamErrorEvent } from './errors.js';
import { markFirstByte, type Exchange } from './exchange.js';
import type { ChatRequest } from './ingress.js';

/** An upstream answer that was not relayed: what happened, and the answer itself for passthrough. */
export interface FailedAttempt {
  outcome: Outcome;
  response?: { status: number; headers: Record<string, string>; body: string };
}

export type AttemptResult = { answered: true; usage: TokenUsage | undefined } | ({ answered: false } & FailedAttempt);

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
function withRetryAfter(headers: Record<string, string>, retryAfterMs: number | undefined): Record<string, string> {
  if (retryAfterMs === undefined || headers['retry-after'] !== undefined) return headers;
  return { ...headers, 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) };
}

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** The body to send: the client's bytes untouched unless the route asks another model name. */
function upstreamBody(chat: ChatRequest, model: string): Buffer | string {
  return model === chat.model ? chat.raw : JSON.stringify({ ...chat.body, model });
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
 * The translator reads only the client's request, so a request it cannot read (a field of a type
 * or shape ingress does not check) is the client's fault: a 400, never a gateway failure.
 */
function translateRequest(bridge: Bridge, chat: ChatRequest, model: string, protocol: string): ReturnType<Bridge['request']> {
  try {
    return bridge.request(chat.body, model, chat.stream);
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError('invalid_request', `The request could not be translated for the ${protocol} API, a field has an unexpected type or shape: ${(error as Error).message}`);
  }
}

/** What goes upstream: the client's request untouched, or translated when the provider speaks another protocol. */
function upstreamRequest(exchange: Exchange, chat: ChatRequest, ctx: AttemptContext, bridge: Bridge | undefined) {
  const { provider } = ctx;
  const { adapter } = provider;
  const credentials = adapter.authHeaders(provider.secretOf(ctx.reservation.keyId));
  if (!bridge) {
    return {
      url: provider.baseUrl + adapter.chatPath(ctx.model, chat.stream) + queryOf(exchange),
      headers: { ...forwardedHeaders(provider, exchange.req.headers), ...provider.config.headers, ...credentials, 'content-type': 'application/json' },
      body: upstreamBody(chat, ctx.model),
    };
  }
  // Across protocols the client's headers and query (anthropic-beta, ?beta=true) mean nothing upstream.
  const { body, dropped } = translateRequest(bridge, chat, ctx.model, adapter.protocol);
  if (dropped.length > 0) exchange.spillwayHeaders['x-spillway-dropped'] = dropped.join(', ').slice(0, 512);
  return {
    url: provider.baseUrl + adapter.chatPath(ctx.model, chat.stream),
    headers: { ...bridge.headers, ...provider.config.headers, ...credentials, 'content-type': 'application/json' },
    body,
  };
}

export async function attempt(exchange: Exchange, chat: ChatRequest, ctx: AttemptContext): Promise<AttemptResult> {
  const { provider, reservation } = ctx;
  const { pool, adapter } = provider;
  const streamOptions = chat.body.stream_options as { include_usage?: unknown } | undefined;
  const bridge = bridgeFor({
    surface: chat.surface,
    protocol: adapter.protocol,
    requestedModel: chat.model,
    includeUsage: streamOptions?.include_usage === true,
  });
  const upstreamAbort = new AbortController();
  const abortUpstream = () => upstreamAbort.abort();
  exchange.signal.addEventListener('abort', abortUpstream, { once: true });
  let settled = false;
  const settle = (usage: TokenUsage | undefined) => {
    if (settled) return;
    settled = true;
    pool.settle(reservation, usage, Date.now());
    ctx.onSettled(usage);
  };

  const sentAt = Date.now();
  const report = (status: number | 'timeout' | 'connection') =>
    ctx.observer.upstream({ requestId: exchange.requestId, provider: provider.name, keyId: reservation.keyId, model: ctx.model, status, latencyMs: Date.now() - sentAt });

  try {
    const outgoing = upstreamRequest(exchange, chat, ctx, bridge);
    const response = await ctx.upstream.send({
      ...outgoing,
      method: 'POST',
      signal: upstreamAbort.signal,
      timeoutMs: provider.config.timeout ?? 600_000,
    });
    const now = Date.now();
    report(response.statusCode);
    const observed = adapter.parseLimits(response.headers, now);
    pool.observe(reservation.keyId, observed, now, reservation);

    if (response.statusCode < 200 || response.statusCode >= 300) {
      const body = await response.body.text();
      settle(undefined);
      const fromBody = adapter.parseErrorBody?.(response.statusCode, body, now);
      if (fromBody?.retryAfterMs !== undefined && observed.retryAfterMs === undefined) observed.retryAfterMs = fromBody.retryAfterMs;
      if (response.statusCode === 429) {
        pool.coolDown(reservation.keyId, now + cooldownMs(observed));
      } else if (response.statusCode === 401 || response.statusCode === 403) {
        const reason = `the provider answered ${response.statusCode}`;
        pool.disable(reservation.keyId, reason);
        ctx.log(`spillway: key ${reservation.keyId} of provider ${provider.name} taken out of service: ${reason}`);
        ctx.observer.keyDisabled(provider.name, reservation.keyId, reason);
      }
      // The outcome keeps the upstream's status (retry decisions); the relayed answer is in the caller's shape.
      const relayed = bridge ? bridge.error(response.statusCode, body) : { status: response.statusCode, body };
      return {
        answered: false,
        outcome: { kind: 'status', status: response.statusCode, headers: response.headers },
        response: { status: relayed.status, headers: withRetryAfter(flatHeaders(response.headers), observed.retryAfterMs), body: relayed.body },
      };
    }

    if (bridge) return await answerTranslated(exchange, chat, ctx, bridge, response, settle);

    const headers = { ...relayedHeaders(response.headers), ...exchange.spillwayHeaders };
    if (!chat.stream) {
      const body = Buffer.from(await response.body.arrayBuffer());
      let usage: TokenUsage | undefined;
      try {
        usage = usageOfBody(adapter.protocol, JSON.parse(body.toString('utf8')));
      } catch {
        usage = undefined;
      }
      settle(usage ?? { inputTokens: ctx.estimatedInput, outputTokens: reservation.demand.outputTokens });
      markFirstByte(exchange);
      exchange.res.writeHead(response.statusCode, { ...headers, 'content-length': body.length });
      exchange.res.end(body);
      return { answered: true, usage };
    }

    const usage = await relayStream(exchange, response.statusCode, headers, response.body, adapter.protocol === 'anthropic' ? 'anthropic' : 'openai');
    const total = usage.usage(ctx.estimatedInput);
    settle(total);
    return { answered: true, usage: total };
  } catch (error) {
    settle(undefined);
    if (error instanceof UpstreamFailure) {
      report(error.kind);
      return { answered: false, outcome: { kind: error.kind } };
    }
    throw error;
  } finally {
    exchange.signal.removeEventListener('abort', abortUpstream);
  }
}

/** A 2xx answer from a provider of another protocol, translated whole or as a stream. */
async function answerTranslated(
  exchange: Exchange,
  chat: ChatRequest,
  ctx: AttemptContext,
  bridge: Bridge,
  response: { statusCode: number; headers: Record<string, string | string[] | undefined>; body: AsyncIterable<Buffer> & { text(): Promise<string> } },
  settle: (usage: TokenUsage | undefined) => void,
): Promise<AttemptResult> {
  if (!chat.stream) {
    const text = await response.body.text();
    let translated: { body: string; usage: TokenUsage | undefined };
    try {
      translated = bridge.response(text, Date.now());
    } catch {
      // Not a readable answer: nothing was sent yet, so this is an upstream failure retry may fix.
      settle(undefined);
      return { answered: false, outcome: { kind: 'connection' } };
    }
    const usage = translated.usage;
    settle(usage ?? { inputTokens: ctx.estimatedInput, outputTokens: ctx.reservation.demand.outputTokens });
    markFirstByte(exchange);
    exchange.res.writeHead(200, {
      ...translatedHeaders(response.headers, 'application/json'),
      ...exchange.spillwayHeaders,
      'content-length': Buffer.byteLength(translated.body),
    });
    exchange.res.end(translated.body);
    return { answered: true, usage };
  }
  const stream = bridge.stream(Date.now());
  const headers = { ...translatedHeaders(response.headers, 'text/event-stream; charset=utf-8'), 'cache-control': 'no-cache', ...exchange.spillwayHeaders };
  await relayTranslatedStream(exchange, headers, response.body, stream, chat.surface);
  const usage = stream.usage() ?? { inputTokens: ctx.estimatedInput, outputTokens: ctx.reservation.demand.outputTokens };
  settle(usage);
  return { answered: true, usage };
}

/** Like relayStream, through a translator: each upstream read is translated and written at once. */
async function relayTranslatedStream(
  exchange: Exchange,
  headers: Record<string, string | string[]>,
  body: AsyncIterable<Buffer>,
  stream: StreamBridge,
  surface: 'anthropic' | 'openai',
): Promise<void> {
  const { res } = exchange;
  markFirstByte(exchange);
  res.writeHead(200, headers);
  res.flushHeaders();
  try {
    for await (const chunk of body) {
      const out = stream.push(chunk);
      if (out.length > 0 && !res.write(out)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
      if (res.destroyed) break;
    }
    if (!res.destroyed) res.end(stream.end());
  } catch (error) {
    if (!res.destroyed) {
      const message = `upstream stream failed: ${error instanceof Error ? error.message : String(error)}`;
      res.end(streamErrorEvent(surface, 'upstream', message));
    }
  }
}

function queryOf(exchange: Exchange): string {
  const url = exchange.req.url ?? '';
  const at = url.indexOf('?');
  return at < 0 ? '' : url.slice(at);
}

/**
 * Relay an SSE stream chunk by chunk as it arrives (never buffered), reading usage on the side.
 * After the first byte there is no retry: a broken upstream ends the stream with the surface's
 * own error event.
 */
async function relayStream(
  exchange: Exchange,
  status: number,
  headers: Record<string, string | string[]>,
  body: AsyncIterable<Buffer>,
  protocol: 'anthropic' | 'openai',
): Promise<StreamUsage> {
  const { res } = exchange;
  const parser = new SseParser();
  const usage = new StreamUsage(protocol);
  markFirstByte(exchange);
  res.writeHead(status, headers);
  res.flushHeaders();
  try {
    for await (const chunk of body) {
      for (const event of parser.push(chunk)) usage.push(event);
      if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
      if (res.destroyed) break;
    }
    for (const event of parser.end()) usage.push(event);
    res.end();
  } catch (error) {
    if (!res.destroyed) {
      const message = `upstream stream failed: ${error instanceof Error ? error.message : String(error)}`;
      res.end(streamErrorEvent(protocol, 'upstream', message));
    }
  }
  return usage;
}
