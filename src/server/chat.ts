/**
 * The path of one chat request after ingress: plan the candidates, admit on a key with room
 * (waiting in the queue when none has), dispatch, and retry before the first byte when the
 * provider fails. The decisions themselves live in quota/ (admit or wait or 429) and
 * resilience/retry.ts (retry or give up); this module only carries them out.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Provider } from '../providers/provider.js';
import { QueueRejection, type Priority } from '../quota/queue.js';
import { decideRetry } from '../resilience/retry.js';
import { findRoute, planRoute } from '../routing/plan.js';
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
}

function resolveTargets(gw: Gateway, chat: ChatRequest): Target[] {
  const route = findRoute(gw.config.routes, chat.model);
  if (!route) {
    throw new GatewayError('not_found', `model: no route for model "${chat.model}" (configure it under routes, or add a "*" route)`, {
      param: 'model',
    });
  }
  const targets = planRoute(route, chat.model).map((candidate) => ({
    provider: gw.providers.get(candidate.provider)!,
    model: candidate.model,
  }));
  const reachable = targets.filter((target) => target.provider.adapter.protocol === chat.surface);
  if (reachable.length === 0) {
    const names = targets.map((target) => `${target.provider.name} (${target.provider.adapter.protocol})`).join(', ');
    throw new GatewayError('invalid_request', `model "${chat.model}" routes to ${names}, which do not speak the ${chat.surface} API`);
  }
  return reachable;
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
  const targets = resolveTargets(gw, chat);
  Object.assign(exchange.trace, { requestedModel: chat.model, stream: chat.stream });
  const started = Date.now();
  const deadline = started + maxWaitMs;
  gw.retryBudget.recordRequest(started);
  let queuedMs = 0;
  let attempts = 0;
  let lastFailure: FailedAttempt | undefined;

  for (;;) {
    const estimates = targets.map((target) => gw.estimator.estimateInput(target.model, chat.body));
    let admitted;
    try {
      admitted = await gw.queue.admit(
        targets.map((target, i) => ({
          pool: target.provider.pool,
          demand: { inputTokens: estimates[i]!, outputTokens: gw.estimator.estimateOutput(target.model, chat.maxTokens ?? DEFAULT_MAX_TOKENS) },
        })),
        { priority, deadline, signal: exchange.signal },
      );
    } catch (error) {
      if (!(error instanceof QueueRejection)) throw error;
      if (error.reason === 'aborted') return;
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

    const estimatedInput = estimates[admitted.candidateIndex]!;
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

    const now = Date.now();
    const decision = decideRetry(result.outcome, attempts, {
      now,
      deadline,
      bytesSent: exchange.res.headersSent,
      budget: gw.retryBudget,
    });
    if (decision.action === 'give-up' || attempts >= gw.config.retry.max_attempts) return relayFailure(exchange, result);
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
