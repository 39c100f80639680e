/**
 * The cache in front of the request path: answer from an exact or semantic hit, from a remembered
 * upstream failure, or from an identical request already in flight; otherwise serve the request
 * and keep its answer. `x-spillway-cache` tells the client which of these happened.
 */
import type { ServerResponse } from 'node:http';
import type { AnswerCache } from '../cache/answer-cache.js';
import { assembleAnthropicSse, replayAnthropic } from '../cache/anthropic-answer.js';
import { makeEntry, type CacheEntry } from '../cache/entry.js';
import { exactKey, isCacheable, type KeyInput } from '../cache/key.js';
import { assembleOpenAISse, replayOpenAI } from '../cache/openai-answer.js';
import type { CacheStatus } from '../observe/observer.js';
import type { Priority } from '../quota/queue.js';
import { serveChat } from './chat.js';
import { markFirstByte, type Exchange } from './exchange.js';
import type { Gateway } from './gateway.js';
import type { ChatRequest } from './ingress.js';

type Directive = 'default' | 'no-cache' | 'no-store';

/** `x-spillway-cache` or `Cache-Control`: no-cache skips the lookup, no-store skips lookup and fill. */
function directiveOf(headers: Exchange['req']['headers']): Directive {
  const values = `${headers['x-spillway-cache'] ?? ''},${headers['cache-control'] ?? ''}`.toLowerCase();
  if (values.includes('no-store')) return 'no-store';
  if (values.includes('no-cache')) return 'no-cache';
  return 'default';
}

/** Captures what is written to a response while it is written, to keep the answer afterwards. */
function recordResponse(res: ServerResponse): () => Buffer {
  const chunks: Buffer[] = [];
  const keep = (chunk: unknown) => {
    if (typeof chunk === 'string') chunks.push(Buffer.from(chunk));
    else if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
  };
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    keep(chunk);
    return write(chunk, ...rest);
  }) as ServerResponse['write'];
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== 'function') keep(chunk);
    return end(chunk, ...rest);
  }) as ServerResponse['end'];
  return () => Buffer.concat(chunks);
}

function setCacheHeader(exchange: Exchange, status: CacheStatus): void {
  exchange.spillwayHeaders['x-spillway-cache'] = status;
}

/** Serve a stored answer in the caller's format: a stream when it asked for one, JSON otherwise. */
function replay(exchange: Exchange, chat: ChatRequest, entry: CacheEntry, status: CacheStatus): void {
  setCacheHeader(exchange, status);
  Object.assign(exchange.spillwayHeaders, {
    'x-spillway-provider': 'cache',
    'x-spillway-model': entry.message.model,
    'x-spillway-queue-ms': '0',
    'x-spillway-attempts': '0',
  });
  exchange.trace.cache = status;
  const includeUsage = (chat.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
  const body = !chat.stream
    ? JSON.stringify(entry.message)
    : entry.surface === 'anthropic'
      ? replayAnthropic(entry.message)
      : replayOpenAI(entry.message, { includeUsage });
  markFirstByte(exchange);
  exchange.res.writeHead(200, {
    ...exchange.spillwayHeaders,
    'content-type': chat.stream ? 'text/event-stream' : 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  exchange.res.end(body);
}

/** The answer the client just received, as a cache entry; undefined if it is not a whole answer. */
function entryOf(chat: ChatRequest, body: Buffer): CacheEntry | undefined {
  try {
    const text = body.toString('utf8');
    if (!chat.stream) return makeEntry(chat.surface, JSON.parse(text), Date.now());
    return chat.surface === 'anthropic'
      ? makeEntry('anthropic', assembleAnthropicSse(text), Date.now())
      : makeEntry('openai', assembleOpenAISse(text), Date.now());
  } catch {
    return undefined; // cut short or malformed: nothing worth keeping
  }
}

export async function serveChatCached(gw: Gateway, exchange: Exchange, chat: ChatRequest, priority: Priority, maxWaitMs: number): Promise<void> {
  const cache: AnswerCache = gw.cache;
  // Answers from cache are requests too: metrics and the usage log count them.
  Object.assign(exchange.trace, { requestedModel: chat.model, stream: chat.stream });
  const directive = directiveOf(exchange.req.headers);
  if (directive === 'no-store' || !cache.exact) {
    setCacheHeader(exchange, 'bypass');
    return serveChat(gw, exchange, chat, priority, maxWaitMs);
  }
  const beta = exchange.req.headers['anthropic-beta'];
  const input: KeyInput = {
    surface: chat.surface,
    route: chat.model,
    model: chat.model,
    body: chat.body,
    vary: { 'anthropic-beta': Array.isArray(beta) ? beta.join(',') : beta },
  };
  const key = exactKey(input);

  const failure = directive === 'default' ? cache.negative?.lookup(key) : undefined;
  if (failure) {
    setCacheHeader(exchange, 'hit');
    exchange.trace.cache = 'hit';
    markFirstByte(exchange);
    exchange.res.writeHead(failure.status, { ...failure.headers, ...exchange.spillwayHeaders });
    exchange.res.end(failure.body);
    return;
  }

  if (!isCacheable(chat.body, { cacheNonZeroTemperature: cache.cacheNonZeroTemperature })) {
    setCacheHeader(exchange, 'bypass');
    await serveAndRemember(gw, exchange, chat, priority, maxWaitMs, key, input, false);
    return;
  }

  if (directive === 'default') {
    const stored = await cache.exact.get(key);
    if (stored) return replay(exchange, chat, stored, 'hit');
    const similar = cache.semantic ? await cache.semantic.lookup(input, Date.now()) : undefined;
    const neighbour = similar ? await cache.exact.get(similar.value) : undefined;
    if (neighbour) return replay(exchange, chat, neighbour, 'semantic');
  }

  setCacheHeader(exchange, 'miss');
  const flight = cache.flights.enter(key, () => serveAndRemember(gw, exchange, chat, priority, maxWaitMs, key, input, true));
  if (flight.role === 'leader') {
    await flight.result;
    return;
  }
  // An identical request is in flight: wait for its answer. If it made none (it failed), serve this one.
  const entry = await flight.result.catch(() => undefined);
  if (exchange.signal.aborted) return;
  if (entry) return replay(exchange, chat, entry, 'hit');
  await serveAndRemember(gw, exchange, chat, priority, maxWaitMs, key, input, true);
}

/** Serve upstream while recording the answer; keep it (or a non-retryable failure) for next time. */
async function serveAndRemember(
  gw: Gateway,
  exchange: Exchange,
  chat: ChatRequest,
  priority: Priority,
  maxWaitMs: number,
  key: string,
  input: KeyInput,
  keepAnswer: boolean,
): Promise<CacheEntry | undefined> {
  const recorded = recordResponse(exchange.res);
  await serveChat(gw, exchange, chat, priority, maxWaitMs);
  const status = exchange.res.statusCode;
  // Only what a provider said is remembered: spillway's own refusals say nothing about the request.
  const fromProvider = exchange.spillwayHeaders['x-spillway-attempts'] !== undefined;
  if (status !== 200 || !exchange.res.writableFinished) {
    if (fromProvider && status >= 400 && status < 500) {
      gw.cache.negative?.remember(key, status, recorded().toString('utf8'), { 'content-type': 'application/json' });
    }
    return undefined;
  }
  if (!keepAnswer || !gw.cache.exact) return undefined;
  const entry = entryOf(chat, recorded());
  if (!entry) return undefined;
  await gw.cache.exact.set(key, entry);
  await gw.cache.semantic?.remember(input, key, Date.now());
  return entry;
}
