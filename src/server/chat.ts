/**
 * The path of one chat request after ingress: plan the candidates, admit on a key with room
 * (waiting in the queue when none has), dispatch, and retry before the first byte when the
 * provider fails. The decisions themselves live in quota/ (admit or wait or 429) and
 * resilience/retry.ts (retry or give up); this module only carries them out.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Provider } from '../providers/provider.js';
import { QueueRejection, type Priority } from '../quota/queue.js';
import { decideRetry, type Outcome } from '../resilience/retry.js';
import { featuresOf } from '../routing/features.js';
import { findRoute, planRequest, type Candidate } from '../routing/plan.js';
import { remainingShare } from '../routing/tiers.js';
import { weightedOrder } from '../routing/weighted.js';
import { attempt, type FailedAttempt } from './dispatch.js';
import { GatewayError } from './errors.js';
import { sendJson, type Exchange } from './exchange.js';
import type { Gateway } from './gateway.js';
import type { ChatRequest } from './ingress.js';

/** The output cap assumed when an OpenAI client sets none. */
const DEFAULT_MAX_TOKENS = 4096;

interface Target {
  provider: Provider;
  model: string;
  /** From the route's fallback chain. */
  fallback: boolean;
}

interface TargetPlan {
  strategy: 'spill' | 'weighted';
  primary: Target[];
  fallback: Target[];
}

async function resolvePlan(gw: Gateway, exchange: Exchange, chat: ChatRequest): Promise<TargetPlan> {
  // One config snapshot per request: a reload swaps gw.config for the next requests only.
  const { config, providers } = gw;
  const route = findRoute(config.routes, chat.model);
  if (!route) {
    throw new GatewayError('not_found', `model: no route for model "${chat.model}" (configure it under routes, or add a "*" route)`, {
      param: 'model',
    });
  }
  const now = Date.now();
  const features = featuresOf(chat.surface, chat.body, exchange.req.headers, {
    inputTokens: gw.estimator.estimateInput(chat.model, chat.body),
    maxTokens: chat.maxTokens,
  });
  // Tiering needs the first target's pool snapshot; read only for routes that have tiers.
  const shares = new Map<string, number>();
  const tiered = route.tiers.length > 0 && route.targets[0] ? providers.get(route.targets[0].provider) : undefined;
  if (tiered) shares.set(tiered.name, remainingShare(await tiered.pool.snapshot(now), now));
  const plan = planRequest(route, chat.model, { features, remainingShare: (name) => shares.get(name) ?? 1 });
  if (plan.rule) exchange.trace.route = plan.rule;
  if (plan.tier) exchange.trace.route = `tier ${plan.tier.model} (${Math.round(plan.tier.remaining * 100)}% left)`;
  const toTarget = (candidate: Candidate): Target => {
    const provider = providers.get(candidate.provider);
    if (!provider) throw new GatewayError('invalid_request', `model "${chat.model}" routes to unknown provider "${candidate.provider}"`);
    return { provider, model: candidate.model, fallback: candidate.fallback };
  };
  const primary = plan.primary.map(toTarget);
  if (plan.strategy === 'weighted' && primary.length > 1) {
    const hasRoom = await Promise.all(primary.map(async (target) => (await target.provider.pool.waitTime(demandFor(gw, chat, target.model), now)) === 0));
    const order = weightedOrder(plan.primary.map((c) => c.weight ?? 1), hasRoom, Math.random);
    return { strategy: plan.strategy, primary: order.map((i) => primary[i]!), fallback: plan.fallback.map(toTarget) };
  }
  return { strategy: plan.strategy, primary, fallback: plan.fallback.map(toTarget) };
}

function demandFor(gw: Gateway, chat: ChatRequest, model: string) {
  return {
    inputTokens: gw.estimator.estimateInput(model, chat.body),
    outputTokens: gw.estimator.estimateOutput(model, chat.maxTokens ?? DEFAULT_MAX_TOKENS),
  };
}

/** Failures a fallback chain exists for: rate limits, overload, server errors, timeouts, resets. */
export function worthFallingBack(outcome: Outcome): boolean {
  if (outcome.kind !== 'status') return true;
  return outcome.status === 429 || outcome.status === 529 || outcome.status >= 500 || outcome.status === 408;
}

function failureReason(outcome: Outcome): string {
  return outcome.kind === 'status' ? `upstream ${outcome.status}` : `upstream ${outcome.kind}`;
}

/** Candidates after a failure: providers that failed this request go last, everything else keeps its order. */
function afterFailure(plan: TargetPlan, failed: Set<string>): Target[] {
  const all = [...plan.primary, ...plan.fallback];
  return [...all.filter((t) => !failed.has(t.provider.name)), ...all.filter((t) => failed.has(t.provider.name))];
}

/** Answer with what the provider last said, when retrying cannot do better. */
function relayFailure(exchange: Exchange, failure: FailedAttempt): void {
  if (failure.response) {
    const { status, headers, body } = failure.response;
    const keep = Object.fromEntries(
      Object.entries(headers).filter(([name]) => name === 'retry-after' || name === 'request-id' || name === 'x-request-id' || name.startsWith('anthropic-ratelimit') || name.startsWith('x-ratelimit')),
    );
    sendJson(exchange, status, body, keep);
    return;
  }
  const kind = failure.outcome.kind === 'timeout' ? 'timeout' : 'upstream';
  const what = failure.outcome.kind === 'timeout' ? 'timed out' : 'could not be reached';
  throw new GatewayError(kind, `the provider ${what} (${exchange.spillwayHeaders['x-spillway-provider'] ?? 'unknown'})`);
}

export async function serveChat(gw: Gateway, exchange: Exchange, chat: ChatRequest, priority: Priority, maxWaitMs: number): Promise<void> {
  const plan = await resolvePlan(gw, exchange, chat);
  Object.assign(exchange.trace, { requestedModel: chat.model, stream: chat.stream });
  const started = Date.now();
  const deadline = started + maxWaitMs;
  gw.retryBudget.recordRequest(started);
  let queuedMs = 0;
  let attempts = 0;
  let lastFailure: FailedAttempt | undefined;
  // Fallbacks are candidates only after an upstream failure or when the primaries miss the deadline.
  let targets = plan.primary;
  let spillReason: string | undefined;
  const failed = new Set<string>();
  const maxAttempts = gw.config.retry.max_attempts;

  for (;;) {
    const demands = targets.map((target) => demandFor(gw, chat, target.model));
    let admitted;
    try {
      admitted = await gw.queue.admit(
        targets.map((target, i) => ({ pool: target.provider.pool, demand: demands[i]! })),
        { priority, deadline, signal: exchange.signal },
      );
    } catch (error) {
      if (!(error instanceof QueueRejection)) throw error;
      if (error.reason === 'aborted') return;
      // The primaries cannot make it in time: the fallback chain gets its chance, through its own admission.
      if ((error.reason === 'deadline' || error.reason === 'unavailable') && targets === plan.primary && plan.fallback.length > 0) {
        targets = plan.fallback;
        spillReason = error.reason === 'deadline' ? 'primary targets cannot meet the deadline' : 'primary targets unavailable';
        continue;
      }
      if (lastFailure) return relayFailure(exchange, lastFailure);
      exchange.trace.rejected = error.reason;
      throw rejectionError(error, chat.model);
    }
    queuedMs += admitted.queuedMs;
    attempts += 1;
    const target = targets[admitted.candidateIndex]!;
    const { reservation } = admitted;
    exchange.spillwayHeaders['x-spillway-provider'] = target.provider.name;
    exchange.spillwayHeaders['x-spillway-model'] = target.model;
    exchange.spillwayHeaders['x-spillway-key'] = reservation.keyId;
    exchange.spillwayHeaders['x-spillway-queue-ms'] = String(Math.round(queuedMs));
    exchange.spillwayHeaders['x-spillway-attempts'] = String(attempts);
    const first = plan.primary[0];
    if (target.fallback || target !== first) {
      exchange.trace.spill = { reason: spillReason ?? (plan.strategy === 'weighted' ? 'weighted' : 'no room on earlier targets'), fallback: target.fallback };
    } else {
      delete exchange.trace.spill;
    }

    const estimatedInput = demands[admitted.candidateIndex]!.inputTokens;
    const result = await attempt(exchange, chat, {
      upstream: gw.upstream,
      provider: target.provider,
      model: target.model,
      reservation,
      estimatedInput,
      onSettled: (usage) => {
        if (usage) {
          gw.estimator.calibrate(target.model, estimatedInput, usage.inputTokens);
          gw.estimator.calibrateOutput(target.model, usage.outputTokens);
        }
        gw.queue.notify();
      },
      observer: gw.observer,
      log: gw.log,
    });
    Object.assign(exchange.trace, { provider: target.provider.name, model: target.model, keyId: reservation.keyId, queueMs: queuedMs, attempts });
    if (result.answered) {
      exchange.trace.inputTokens = result.usage?.inputTokens;
      exchange.trace.outputTokens = result.usage?.outputTokens;
      return;
    }
    if (exchange.signal.aborted) return;
    lastFailure = result;

    // A fallback chain turns an upstream failure into an immediate move to another provider: no
    // backoff and no retry budget, since the failing provider gets no more load from it.
    if (plan.fallback.length > 0 && worthFallingBack(result.outcome) && !exchange.res.headersSent && attempts < maxAttempts && Date.now() < deadline) {
      failed.add(target.provider.name);
      targets = afterFailure(plan, failed);
      spillReason = failureReason(result.outcome);
      continue;
    }

    const now = Date.now();
    const decision = decideRetry(result.outcome, attempts, {
      now,
      deadline,
      bytesSent: exchange.res.headersSent,
      budget: gw.retryBudget,
    });
    if (decision.action === 'give-up' || attempts >= maxAttempts) return relayFailure(exchange, result);
    // An upstream 429 already cooled its key down, so admission itself waits for the right moment;
    // other failures (overload, 5xx, network) back off here before choosing again.
    const rateLimited = result.outcome.kind === 'status' && result.outcome.status === 429;
    if (decision.action === 'retry-after' && !rateLimited && decision.delayMs > 0) {
      await sleep(Math.min(decision.delayMs, Math.max(0, deadline - now)), undefined, { signal: exchange.signal }).catch(() => undefined);
      if (exchange.signal.aborted) return;
    }
  }
}

function rejectionError(rejection: QueueRejection, model: string): GatewayError {
  const seconds = Math.ceil(rejection.retryAfterMs / 1000);
  switch (rejection.reason) {
    case 'full':
      return new GatewayError('rate_limited', `spillway's queue is full; retry in ${seconds}s`, { retryAfterMs: rejection.retryAfterMs });
    case 'unavailable':
      return new GatewayError('overloaded', `no provider key for model "${model}" is in service`);
    default:
      return new GatewayError(
        'rate_limited',
        `the provider keys for model "${model}" have no room for this request before its deadline; room is expected in ${seconds}s`,
        { retryAfterMs: rejection.retryAfterMs },
      );
  }
}
