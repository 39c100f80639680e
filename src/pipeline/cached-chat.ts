/**
 * The cache in front of the request path: answer from an exact or semantic hit, from a remembered
 * upstream failure, or from an identical request already in flight; otherwise serve the request
 * and keep its answer. `x-spillway-cache` tells the client which of these happened.
 *
 * What a request may be answered from is decided by two things. Its scope: the client key it
 * comes with (cache.scope: client), so no client is served, or can probe, another's prompts; or
 * everyone (cache.scope: shared). And its routing decision: the lookup happens before admission,
 * so the request is planned first (rules, tiers, weights) and keyed on the targets the plan lets
 * answer it: the first target of a spill route, any of a weighted route's targets. An answer is
 * kept only if one of those targets produced it; one that came from a spill-over or a fallback
 * is served to its client and not kept, so it never answers a request that would go elsewhere.
 */
import type { AnswerCache } from '../cache/answer-cache.js';
import { replayAnthropic } from '../cache/anthropic-answer.js';
import type { CacheEntry, ChatCacheEntry } from '../cache/entry.js';
import { codeNormalizer } from '../cache/code-normalizer.js';
import { exactKey, isCacheable, type KeyInput } from '../cache/key.js';
import { replayOpenAI } from '../cache/openai-answer.js';
import type { Config } from '../config/schema.js';
import type { CacheStatus } from '../observe/observer.js';
import type { Priority } from '../quota/queue.js';
import { recordAnswer } from './answer-recorder.js';
import { holdingPlan, planChat, servePlanned, type Target, type TargetPlan } from './chat.js';
import { type Answer } from './answer.js';
import type { RequestContext } from './request-context.js';
import type { Engine } from './engine.js';
import type { ChatRequest } from './ingress.js';

type Directive = 'default' | 'no-cache' | 'no-store';

/** `x-spillway-cache` or `Cache-Control`: no-cache skips the lookup, no-store skips lookup and fill. */
export function directiveOf(headers: RequestContext['req']['headers']): Directive {
  const values = `${headers['x-spillway-cache'] ?? ''},${headers['cache-control'] ?? ''}`.toLowerCase();
  if (values.includes('no-store')) return 'no-store';
  if (values.includes('no-cache')) return 'no-cache';
  return 'default';
}

/**
 * Who shares entries with this request: its tenant (a key of server.auth.keys is a tenant of its
 * own), or everyone. No tenant or client can be served, or probe, another's prompts.
 */
export function cacheScope(scope: Config['cache']['scope'], exchange: RequestContext): string {
  if (scope === 'shared') return '';
  return exchange.tenant ? `tenant:${exchange.tenant.name}` : exchange.owner;
}

/** The targets whose answers may serve this plan's requests (see the module comment). */
export function answeringTargets(plan: TargetPlan): Target[] {
  return plan.strategy === 'weighted' ? plan.primary : plan.primary.slice(0, 1);
}

const targetName = (target: Target): string => `${target.provider.name}/${target.model}`;

/** The routing decision as it enters the key: the answering targets, in a stable order. */
export function planIdentity(answering: Target[]): string {
  return [...new Set(answering.map(targetName))].sort().join(',');
}

export function setCacheHeader(exchange: RequestContext, status: CacheStatus): void {
  exchange.spillwayHeaders['x-spillway-cache'] = status;
}

type ReplayableEntry = ChatCacheEntry | Extract<CacheEntry, { surface: 'native' }>;

/** A chat request's key only ever holds a chat answer (embedding keys are made of other material). */
const chatEntry = (entry: CacheEntry | undefined): ReplayableEntry | undefined => (entry && entry.surface !== 'embedding' ? entry : undefined);

/**
 * The client's own request, as the cache keys it, when every target that may answer it serves the
 * client's surface natively (a Gemini client's request to Gemini): their answers are the
 * provider's own bytes, kept and replayed as they came.
 */
function nativeKeying(chat: ChatRequest, answering: Target[]): NonNullable<ChatRequest['native']> | undefined {
  const native = chat.native;
  if (native?.surface !== 'gemini' || answering.length === 0) return undefined;
  const all = answering.every((target) => target.provider.adapter.nativePath?.(native.surface, target.provider.config, { model: target.model, stream: chat.stream }) !== undefined);
  return all ? native : undefined;
}

/** Serve a stored answer in the caller's format: a stream when it asked for one, JSON otherwise. */
function replay(exchange: RequestContext, chat: ChatRequest, entry: ReplayableEntry, status: CacheStatus): Answer {
  setCacheHeader(exchange, status);
  Object.assign(exchange.spillwayHeaders, {
    'x-spillway-provider': 'cache',
    'x-spillway-model': entry.message.model,
    'x-spillway-queue-ms': '0',
    'x-spillway-attempts': '0',
  });
  exchange.trace.cache = status;
  if (entry.surface === 'native') {
    const contentType = entry.message.stream ? 'text/event-stream' : 'application/json; charset=UTF-8';
    return { status: 200, headers: { 'content-type': contentType }, body: Buffer.from(entry.message.body), usage: Promise.resolve(undefined), native: true };
  }
  const includeUsage = (chat.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
  const body = !chat.stream
    ? JSON.stringify(entry.message)
    : entry.surface === 'anthropic'
      ? replayAnthropic(entry.message)
      : replayOpenAI(entry.message, { includeUsage });
  return { status: 200, headers: { 'content-type': chat.stream ? 'text/event-stream' : 'application/json' }, body: Buffer.from(body), usage: Promise.resolve(undefined) };
}

/** What serving one request needs to know to keep its answer. */
interface Keeping {
  key: string;
  input: KeyInput;
  /** The targets whose answer may be kept. */
  answering: Target[];
  /** Whether to keep a 200 (false for requests that are not cacheable: only failures are remembered). */
  keepAnswer: boolean;
  /** The key is the client's own request (nativeKeying): only a native answer is kept, as its bytes. */
  native: boolean;
}

/** The answer to one chat request, from the cache or upstream; undefined when the client left first. */
export async function serveChatCached(gw: Engine, exchange: RequestContext, chat: ChatRequest, priority: Priority, maxWaitMs: number): Promise<Answer | undefined> {
  // Answers from cache are requests too: metrics and the usage log count them.
  Object.assign(exchange.trace, { requestedModel: chat.model, stream: chat.stream });
  if (exchange.spans?.captureContent) exchange.spans.set({ 'gen_ai.input.messages': JSON.stringify(chat.body.messages ?? chat.body.input ?? chat.body.contents ?? null) });
  const plan = await planChat(gw, exchange, chat);
  // Held from the plan on, across the lookups too.
  const answer = await holdingPlan(gw, plan, () => serveFromCache(gw, exchange, chat, priority, maxWaitMs, plan));
  return answer && gw.shadow.follow(gw, exchange, chat, plan, answer);
}

async function serveFromCache(gw: Engine, exchange: RequestContext, chat: ChatRequest, priority: Priority, maxWaitMs: number, plan: TargetPlan): Promise<Answer | undefined> {
  const cache: AnswerCache = gw.cache;
  const directive = directiveOf(exchange.req.headers);
  if (directive === 'no-store' || !cache.exact) {
    setCacheHeader(exchange, 'bypass');
    return servePlanned(gw, exchange, chat, priority, maxWaitMs, plan);
  }
  const beta = exchange.req.headers['anthropic-beta'];
  const answering = answeringTargets(plan);
  const native = nativeKeying(chat, answering);
  const input: KeyInput = {
    surface: native?.surface ?? chat.surface,
    scope: cacheScope(gw.config.cache.scope, exchange),
    plan: planIdentity(answering),
    // A native answer is a stream or not as it was asked: the key says which.
    body: native ? { ...native.body, 'spillway-native-stream': chat.stream } : chat.body,
    vary: { 'anthropic-beta': Array.isArray(beta) ? beta.join(',') : beta },
    ...(gw.config.cache.exact.normalize_code ? { normalizeText: await codeNormalizer() } : {}),
  };
  const key = exactKey(input);
  const keeping = (keepAnswer: boolean): Keeping => ({ key, input, answering, keepAnswer, native: native !== undefined });
  const serve = (keepAnswer: boolean) => serveAndRemember(gw, exchange, chat, priority, maxWaitMs, plan, keeping(keepAnswer));

  const failure = directive === 'default' ? cache.negative?.lookup(key) : undefined;
  if (failure) {
    setCacheHeader(exchange, 'hit');
    exchange.trace.cache = 'hit';
    return { status: failure.status, headers: failure.headers, body: Buffer.from(failure.body), usage: Promise.resolve(undefined) };
  }

  if (!isCacheable(chat.body, { cacheNonZeroTemperature: cache.cacheNonZeroTemperature })) {
    setCacheHeader(exchange, 'bypass');
    return (await serve(false)).answer;
  }

  if (directive === 'default') {
    const lookedAt = Date.now();
    const stored = chatEntry(await cache.exact.get(key));
    exchange.spans?.step('spillway.cache.lookup', lookedAt, Date.now(), { 'spillway.cache.kind': 'exact', 'spillway.cache.found': stored !== undefined });
    if (stored) return replay(exchange, chat, stored, 'hit');
    // The semantic cache compares pivot prompts: a native entry is only ever found exactly.
    if (cache.semantic && !native) {
      const semanticAt = Date.now();
      const similar = await cache.semantic.lookup(input, semanticAt);
      const neighbour = similar ? chatEntry(await cache.exact.get(similar.value)) : undefined;
      exchange.spans?.step('spillway.cache.lookup', semanticAt, Date.now(), { 'spillway.cache.kind': 'semantic', 'spillway.cache.found': neighbour !== undefined });
      if (neighbour) return replay(exchange, chat, neighbour, 'semantic');
    }
  }

  setCacheHeader(exchange, 'miss');
  // The flight's result is the kept entry, known once this request's answer has been read whole;
  // the request that leads it (or takes the lead when its leader failed) answers with its own answer at once.
  let own!: (answer: Answer | undefined) => void;
  const ownAnswer = new Promise<{ answer: Answer | undefined }>((resolve) => (own = (answer) => resolve({ answer })));
  const flight = cache.flights.enter(key, async () => {
    const served = await serve(true);
    own(served.answer);
    return served.kept;
  });
  if (flight.role === 'leader') {
    const led = await Promise.race([ownAnswer, flight.result.then(() => ({ answer: undefined }))]);
    return led.answer;
  }
  // An identical request is in flight: wait for its answer. If it made none (it failed), serve this one.
  const followed = await Promise.race([ownAnswer, flight.result.then((entry) => ({ entry }), () => ({ entry: undefined }))]);
  if ('answer' in followed) return followed.answer;
  if (exchange.signal.aborted) return undefined;
  const led = chatEntry(followed.entry);
  if (led) return replay(exchange, chat, led, 'hit');
  return (await serve(true)).answer;
}

/** An answer being served, and the entry kept from it once it has been read whole. */
interface Served {
  answer: Answer | undefined;
  kept: Promise<CacheEntry | undefined>;
}

/** Serve upstream while recording the answer; keep it (or a failure the request caused) for next time. */
async function serveAndRemember(
  gw: Engine,
  exchange: RequestContext,
  chat: ChatRequest,
  priority: Priority,
  maxWaitMs: number,
  plan: TargetPlan,
  keeping: Keeping,
): Promise<Served> {
  const answer = await servePlanned(gw, exchange, chat, priority, maxWaitMs, plan);
  const nothing = (): Served => ({ answer, kept: Promise.resolve(undefined) });
  // A native answer is in the client's surface, not the pivot a request is keyed as, unless keyed natively.
  if (!answer || (answer.native === true) !== keeping.native) return nothing();
  // Only what an answering target said is kept: a spill-over's or fallback's answer, or
  // spillway's own refusal (no attempt made), says nothing about what this plan would answer.
  const { provider, model } = exchange.trace;
  const served = keeping.answering.find((target) => target.provider.name === provider && target.model === model);
  if (!served) return nothing();
  const { status } = answer;
  if (status !== 200) {
    // A translated error may be spillway's translation at fault, not the request: only a provider of the client's own protocol is believed.
    if (served.provider.adapter.protocol !== chat.surface || !gw.cache.negative) return nothing();
    const { answer: teed, recording } = recordAnswer(answer, { surface: chat.surface, stream: chat.stream, maxBytes: gw.config.cache.exact.max_entry_bytes });
    const kept = recording.then((recorded) => {
      const body = recorded.text();
      if (body !== undefined) gw.cache.negative?.remember(keeping.key, status, body, { 'content-type': 'application/json' });
      return undefined;
    });
    return { answer: teed, kept };
  }
  const exact = gw.cache.exact;
  if (!keeping.keepAnswer || !exact) return nothing();
  const nativeAs = keeping.native && chat.native?.surface === 'gemini' ? { surface: chat.native.surface, model: served.model } : undefined;
  const { answer: teed, recording } = recordAnswer(answer, { surface: chat.surface, stream: chat.stream, maxBytes: gw.config.cache.exact.max_entry_bytes, ...(nativeAs ? { native: nativeAs } : {}) });
  const kept = recording.then(async (recorded) => {
    const entry = recorded.entry();
    if (!entry) return undefined;
    await exact.set(keeping.key, entry);
    if (!keeping.native) await gw.cache.semantic?.remember(keeping.input, keeping.key, Date.now());
    return entry;
  });
  // The client has its answer by then: a store that fails costs only the entry.
  const logged = kept.catch((error: unknown) => {
    gw.log(`spillway: could not keep an answer in the cache: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  });
  return { answer: teed, kept: logged };
}
