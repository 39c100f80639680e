/**
 * The path of one embedding request: planned, admitted and retried like a chat request (chat.ts's
 * loop, the same quota engine: requests and input tokens against the key's limits, no output), sent
 * to the provider's embedding endpoint in its own shape (providers/embeddings.ts), and answered in
 * the client's surface's shape.
 */
import type { EmbeddingCall, EmbeddingRequest, EmbeddingResult, NativeEmbedding } from '../pivot/embeddings.js';
import { usageOfBody } from '../protocol/usage.js';
import { embeddingCodecFor, UnsupportedInput, type EmbeddingCodec } from '../providers/embeddings.js';
import { UpstreamFailure } from '../providers/upstream.js';
import { restAfterRefusal } from '../quota/refusal.js';
import type { Priority } from '../quota/queue.js';
import type { Demand } from '../quota/types.js';
import { judgeNoAnswer, judgeRefusal } from '../resilience/outcome.js';
import type { Answer } from './answer.js';
import { embeddingEntry, type EmbeddingAnswer } from '../cache/entry.js';
import { exactKey } from '../cache/key.js';
import { answeringTargets, cacheScope, directiveOf, planIdentity, setCacheHeader } from './cached-chat.js';
import { holdingPlan, resolvePlan, servePlan, type Target, type TargetPlan } from './chat.js';
import { applyKeyEffect, flatHeaders, leaving, settleOnce, withRetryAfter, type AttemptContext, type AttemptResult } from './dispatch.js';
import { writtenAt } from '../quota/pool.js';
import type { Engine } from './engine.js';
import { GatewayError } from './errors.js';
import { DEFAULT_TIMEOUT_MS, readWhole } from './first-byte.js';
import type { RequestContext } from './request-context.js';

/** Characters per token, as for chat prompts; a token array counts what it holds. */
function rawTokens(request: EmbeddingRequest): number {
  let tokens = 0;
  for (const input of request.inputs) tokens += typeof input === 'string' ? Math.ceil(input.length / 4) : input.length;
  return Math.max(1, tokens);
}

export function embeddingDemands(gw: Engine, request: EmbeddingRequest): (model: string) => Demand {
  const raw = rawTokens(request);
  return (model) => ({ inputTokens: gw.estimator.inputFromRaw(model, raw), outputTokens: 0 });
}

/** The route's targets whose provider has an embedding endpoint; none is the caller's 400, before any wait. */
export async function planEmbedding(gw: Engine, exchange: RequestContext, call: EmbeddingCall): Promise<TargetPlan> {
  const routable = { surface: call.surface, model: call.request.model, body: call.request.body, maxTokens: 0 };
  const plan = await resolvePlan(gw, exchange, routable, embeddingDemands(gw, call.request));
  const embeds = (target: Target) => embeddingCodecFor(target.provider.adapter.protocol) !== undefined;
  const usable = { ...plan, primary: plan.primary.filter(embeds), fallback: plan.fallback.filter(embeds) };
  if (usable.primary.length === 0 && usable.fallback.length === 0) {
    const names = [...new Set(plan.primary.map((target) => `${target.provider.name} (${target.provider.adapter.protocol})`))].join(', ');
    throw new GatewayError('invalid_request', `model "${call.request.model}" routes to ${names}, which has no embeddings endpoint`, { param: 'model' });
  }
  return usable.primary.length > 0 ? usable : { ...usable, primary: usable.fallback, fallback: [] };
}

/** The answer to one embedding request along a plan, or undefined when the client left first. */
export async function serveEmbeddingPlanned(gw: Engine, exchange: RequestContext, call: EmbeddingCall, priority: Priority, maxWaitMs: number, plan: TargetPlan): Promise<Answer | undefined> {
  return holdingPlan(gw, plan, () =>
    servePlan(gw, exchange, {
      chat: { model: call.request.model, stream: false },
      priority,
      maxWaitMs,
      plan,
      demandOf: embeddingDemands(gw, call.request),
      dispatch: (ctx) => attemptEmbedding(exchange, call, ctx),
    }),
  );
}


function upstreamBody(codec: EmbeddingCodec, call: EmbeddingCall, model: string): string {
  try {
    return codec.body(call.request, model);
  } catch (error) {
    if (error instanceof UnsupportedInput) throw new GatewayError('invalid_request', error.message, { param: 'input' });
    throw error;
  }
}

/** A provider's error body in the client's shape: through the pivot (OpenAI's), as chat errors are. */
function relayedError(call: EmbeddingCall, ctx: AttemptContext, status: number, text: string): { status: number; body: string } {
  const { adapter } = ctx.provider;
  const asPivot = adapter.protocol === 'openai' ? undefined : adapter.codec.errorToPivot(status, text);
  const pivot = asPivot ? { status: asPivot.status, body: JSON.stringify(asPivot.body) } : { status, body: text };
  return call.error ? call.error(pivot.status, pivot.body) : pivot;
}

const bareModel = (model: string) => model.replace(/^models\//, '');

/**
 * The client's own request, when this provider serves the client's surface and the route keeps the
 * client's model name: a Gemini batch names its model in the body too, and a renamed model there
 * would not match the URL's, so a renamed route is translated instead.
 */
function nativeFor(call: EmbeddingCall, ctx: AttemptContext): NativeEmbedding | undefined {
  const { native } = call;
  if (!native || native.surface !== ctx.provider.adapter.protocol) return undefined;
  return bareModel(ctx.model) === bareModel(call.request.model) ? native : undefined;
}

/** One admitted attempt: send, observe the key's limits, settle, and answer or say why not. */
export async function attemptEmbedding(exchange: RequestContext, call: EmbeddingCall, ctx: AttemptContext): Promise<AttemptResult> {
  const { provider, reservation, model } = ctx;
  const { adapter, pool } = provider;
  const native = nativeFor(call, ctx);
  const settle = settleOnce(ctx);
  const sentAt = Date.now();
  const report = (status: number | 'timeout' | 'connection') =>
    ctx.observer.upstream({ requestId: exchange.requestId, provider: provider.name, keyId: reservation.keyId, model, status, latencyMs: Date.now() - sentAt });
  const upstreamAbort = new AbortController();
  const abortUpstream = () => upstreamAbort.abort();
  exchange.signal.addEventListener('abort', abortUpstream, { once: true });
  try {
    // planEmbedding kept only targets that have one.
    const codec = embeddingCodecFor(adapter.protocol)!;
    const response = await ctx.upstream.send({
      url: provider.baseUrl + (native ? native.path(model) : codec.path(model)),
      method: 'POST',
      headers: { ...provider.config.headers, ...adapter.authHeaders(provider.secretOf(reservation.keyId)), 'content-type': 'application/json' },
      body: native ? native.raw : upstreamBody(codec, call, model),
      signal: upstreamAbort.signal,
      timeoutMs: provider.config.timeout ?? DEFAULT_TIMEOUT_MS,
      pool: { name: provider.name, connections: provider.connections.capacity },
      ...leaving(reservation),
    });
    const now = Date.now();
    const observed = adapter.parseLimits(response.headers, now);
    if (response.statusCode === 429) observed.refused = true;
    pool.observe(reservation.keyId, observed, now, reservation, writtenAt(reservation) ?? sentAt);
    const text = (await readWhole(response.body)).toString('utf8');
    report(response.statusCode);

    if (response.statusCode < 200 || response.statusCode >= 300) {
      settle(undefined);
      const fromBody = adapter.parseErrorBody?.(response.statusCode, text, now);
      if (fromBody?.retryAfterMs !== undefined && observed.retryAfterMs === undefined) observed.retryAfterMs = fromBody.retryAfterMs;
      const { outcome, key } = judgeRefusal({ status: response.statusCode, headers: response.headers, body: text, now, cooldownMs: restAfterRefusal(observed, reservation.demand) });
      applyKeyEffect(ctx, key, now);
      // A native call's error is already in the client's shape: its own provider's words.
      const relayed = native ? { status: response.statusCode, body: text } : relayedError(call, ctx, response.statusCode, text);
      return { answered: false, outcome, response: { status: relayed.status, headers: withRetryAfter(flatHeaders(response.headers), observed.retryAfterMs), body: relayed.body } };
    }

    let result: EmbeddingResult;
    try {
      const json: unknown = JSON.parse(text);
      result = native ? { vectors: native.vectors(json), inputTokens: usageOfBody(adapter.protocol, json)?.inputTokens } : codec.answer(json, call.request.inputs.length);
    } catch {
      // Not a readable answer: nothing was sent yet, so retry may fix it.
      throw new UpstreamFailure('connection', 'the embeddings answer is not readable');
    }
    const usage = { inputTokens: result.inputTokens ?? ctx.estimatedInput, outputTokens: 0 };
    settle(usage);
    // Rendered for a native answer too: the cache keeps the vectors through render (serveEmbedding).
    const rendered = call.render(result, usage.inputTokens);
    const body = native ? Buffer.from(text) : Buffer.from(rendered);
    return { answered: true, answer: { status: 200, headers: { 'content-type': 'application/json' }, body, usage: Promise.resolve(usage) } };
  } catch (error) {
    settle(undefined);
    if (error instanceof UpstreamFailure) {
      report(error.kind);
      return { answered: false, outcome: judgeNoAnswer(error.kind).outcome };
    }
    throw error;
  } finally {
    exchange.signal.removeEventListener('abort', abortUpstream);
  }
}

/**
 * The answer to one embedding request, or undefined when the client left first. Embeddings are
 * deterministic: the exact cache answers a repeat (same texts, options, scope and routing
 * decision) whatever surface asked, as chat's cache does (cached-chat.ts).
 */
export async function serveEmbedding(gw: Engine, exchange: RequestContext, call: EmbeddingCall, priority: Priority, maxWaitMs: number): Promise<Answer | undefined> {
  Object.assign(exchange.trace, { requestedModel: call.request.model, stream: false });
  const plan = await planEmbedding(gw, exchange, call);
  const exact = gw.cache.exact;
  const directive = directiveOf(exchange.req.headers);
  if (!exact || directive === 'no-store') {
    setCacheHeader(exchange, 'bypass');
    return serveEmbeddingPlanned(gw, exchange, call, priority, maxWaitMs, plan);
  }
  const answering = answeringTargets(plan);
  const { inputs, dimensions, taskType } = call.request;
  // The entry is surface-neutral (vectors), so the key names no surface of its own.
  const key = exactKey({ surface: 'openai', scope: cacheScope(gw.config.cache.scope, exchange), plan: planIdentity(answering), body: { embedding: { inputs, dimensions, taskType } } });
  if (directive === 'default') {
    const stored = await exact.get(key);
    if (stored?.surface === 'embedding') return fromCache(exchange, call, stored.message);
  }
  setCacheHeader(exchange, 'miss');
  let served: { result: EmbeddingResult; inputTokens: number } | undefined;
  const recording: EmbeddingCall = { ...call, render: (result, inputTokens) => ((served = { result, inputTokens }), call.render(result, inputTokens)) };
  const answer = await serveEmbeddingPlanned(gw, exchange, recording, priority, maxWaitMs, plan);
  const { provider, model } = exchange.trace;
  // Only what an answering target said is kept (see cached-chat.ts).
  if (served && answering.some((target) => target.provider.name === provider && target.model === model)) {
    const entry = embeddingEntry({ model: model ?? call.request.model, vectors: served.result.vectors, inputTokens: served.inputTokens }, Date.now());
    await Promise.resolve(exact.set(key, entry)).catch((error: unknown) => gw.log(`spillway: could not keep embeddings in the cache: ${error instanceof Error ? error.message : String(error)}`));
  }
  return answer;
}

function fromCache(exchange: RequestContext, call: EmbeddingCall, stored: EmbeddingAnswer): Answer {
  setCacheHeader(exchange, 'hit');
  exchange.trace.cache = 'hit';
  Object.assign(exchange.spillwayHeaders, { 'x-spillway-provider': 'cache', 'x-spillway-model': stored.model, 'x-spillway-queue-ms': '0', 'x-spillway-attempts': '0' });
  const body = call.render({ vectors: stored.vectors, inputTokens: stored.inputTokens }, stored.inputTokens);
  return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body), usage: Promise.resolve(undefined) };
}
