/**
 * The path of one chat request after ingress: plan the candidates, admit on a key with room
 * (waiting in the queue when none has), dispatch, and retry before the first byte when the
 * provider fails. The decisions themselves live in quota/ (admit or wait or 429) and
 * resilience/retry.ts (retry or give up); this module only carries them out.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Provider } from '../providers/provider.js';
import { admissionPool } from '../quota/connections.js';
import { rawInputTokens } from '../quota/estimate.js';
import { oversize, type Oversize } from '../quota/oversize.js';
import { QueueRejection, type Priority } from '../quota/queue.js';
import type { Demand } from '../quota/types.js';
import { failureReason, hiddenFromClient, refusedByKey, waitsInAdmission, worthFallingBack } from '../resilience/outcome.js';
import { decideRetry } from '../resilience/retry.js';
import { featuresOf } from '../routing/features.js';
import { canaryIdentity } from '../routing/canary.js';
import { findRouteName, planRequest, type Candidate } from '../routing/plan.js';
import { steerPlan } from '../routing/steer.js';
import { remainingShare } from '../routing/tiers.js';
import { pacedAdmission } from '../forecast/paced-admission.js';
import { weightedOrder } from '../routing/weighted.js';
import { attempt, type AttemptContext, type AttemptResult, type FailedAttempt } from './dispatch.js';
import { GatewayError } from './errors.js';
import { checkModelAccess } from './model-access.js';
import { jsonAnswer, type Answer } from './answer.js';
import type { Surface } from '../protocol/surface.js';
import type { RequestContext } from './request-context.js';
import type { Engine } from './engine.js';
import type { ChatRequest } from './ingress.js';
import type { ShadowPlan } from './shadow.js';
import { headroomHeaders } from '../tenants/limit-headers.js';
import { holdBudget, type SettleSpend } from './budget-hold.js';

/** The output cap assumed when an OpenAI client sets none. */
const DEFAULT_MAX_TOKENS = 4096;

export interface Target {
  provider: Provider;
  model: string;
  /** From the route's fallback chain. */
  fallback: boolean;
}

export interface TargetPlan {
  strategy: 'spill' | 'weighted';
  primary: Target[];
  fallback: Target[];
  /** The route's shadow, when it has one and no flag overrides the route. */
  shadow?: ShadowPlan;
}

/** What planning reads of a request: a chat request, or an embedding request seen the same way. */
/** What a plan is made from: any kind of call, on any surface. */
export type Routable = Pick<ChatRequest, 'model' | 'body' | 'maxTokens'> & { surface: Surface };

/** Sends one admitted attempt: a chat request (dispatch.ts) or another kind of call on the same admission path. */
export type Dispatch = (ctx: AttemptContext) => Promise<AttemptResult>;

export async function resolvePlan(gw: Engine, exchange: RequestContext, chat: Routable, demandOf: (model: string) => Demand): Promise<TargetPlan> {
  // One config snapshot per request: a reload swaps gw.config for the next requests only.
  const { config, providers } = gw;
  // Every kind of call is planned here: the one place a tenant's `models` is sure to be asked.
  checkModelAccess(exchange, chat.model);
  const routeName = findRouteName(config.routes, chat.model);
  const route = routeName === undefined ? undefined : config.routes[routeName];
  if (routeName === undefined || !route) {
    throw new GatewayError('not_found', `model: no route for model "${chat.model}" (configure it under routes, or add a "*" route)`, {
      param: 'model',
    });
  }
  const now = Date.now();
  const features = featuresOf(chat.surface, chat.body, exchange.req.headers, {
    inputTokens: demandOf(chat.model).inputTokens,
    maxTokens: chat.maxTokens,
  });
  // Tiering needs the first target's pool snapshot; read only for routes that have tiers.
  const shares = new Map<string, number>();
  const tiered = route.tiers.length > 0 && route.targets[0] ? providers.get(route.targets[0].provider) : undefined;
  if (tiered) {
    // A pool whose day is projected to run short steps its tiers down earlier (forecast/day-ahead.ts).
    const share = remainingShare(await tiered.pool.snapshot(now), now);
    shares.set(tiered.name, gw.forecast ? gw.forecast.foresight(tiered.name, share, now) : share);
  }
  const planned = planRequest(route, chat.model, { features, remainingShare: (name) => shares.get(name) ?? 1 });
  const canaryShare = route.canary ? gw.traffic.canaryShare(routeName) : 0;
  const steering = steerPlan(planned, {
    routeName,
    model: chat.model,
    flags: config.flags,
    flagOn: (name) => gw.traffic.flagOn(name),
    canary: route.canary,
    canaryShare,
    point: route.canary && canaryShare > 0 ? await gw.traffic.pointFor(routeName, canaryIdentity(route.canary.by, chat.body, exchange.req.headers, exchange.owner)) : 1,
  });
  const { plan } = steering;
  if (plan.rule) exchange.trace.route = plan.rule;
  if (plan.tier) exchange.trace.route = `tier ${plan.tier.model} (${Math.round(plan.tier.remaining * 100)}% left)`;
  if (steering.flag) exchange.trace.route = `flag ${steering.flag}`;
  if (steering.canary) exchange.trace.route = `canary ${steering.canary}`;
  const toTarget = (candidate: Candidate): Target => {
    const provider = providers.get(candidate.provider);
    if (!provider) throw new GatewayError('invalid_request', `model "${chat.model}" routes to unknown provider "${candidate.provider}"`);
    return { provider, model: candidate.model, fallback: candidate.fallback };
  };
  const primary = plan.primary.map(toTarget);
  const shadow: Pick<TargetPlan, 'shadow'> =
    route.shadow && !steering.flag
      ? {
          shadow: {
            route: routeName,
            share: route.shadow.share,
            target: toTarget({ provider: route.shadow.target.provider, model: route.shadow.target.model ?? chat.model, fallback: false }),
            ...(route.shadow.judge ? { judge: toTarget({ ...route.shadow.judge, fallback: false }) } : {}),
          },
        }
      : {};
  if (plan.strategy === 'weighted' && primary.length > 1) {
    const hasRoom = await Promise.all(primary.map(async (target) => (await target.provider.pool.waitTime(demandOf(target.model), now)) === 0));
    const order = weightedOrder(plan.primary.map((c) => c.weight ?? 1), hasRoom, Math.random);
    return { strategy: plan.strategy, primary: order.map((i) => primary[i]!), fallback: plan.fallback.map(toTarget), ...shadow };
  }
  return { strategy: plan.strategy, primary, fallback: plan.fallback.map(toTarget), ...shadow };
}

/**
 * What the request would take from a key of each model it may go to. The prompt is measured once;
 * the estimate per model follows that model's calibration at the moment it is asked.
 */
function demandsFor(gw: Engine, chat: ChatRequest): (model: string) => Demand {
  const promptSize = rawInputTokens(chat.body);
  return (model) => ({
    inputTokens: gw.estimator.inputFromRaw(model, promptSize),
    outputTokens: gw.estimator.estimateOutput(model, chat.maxTokens ?? DEFAULT_MAX_TOKENS),
  });
}

/** Candidates after a failure: providers that failed this request go last, everything else keeps its order. */
function afterFailure(plan: TargetPlan, failed: Set<string>): Target[] {
  const all = [...plan.primary, ...plan.fallback];
  return [...all.filter((t) => !failed.has(t.provider.name)), ...all.filter((t) => failed.has(t.provider.name))];
}

/**
 * Answer with what the provider last said, when retrying cannot do better. A refused key is
 * spillway's problem, not the caller's: its 401 would read as the caller's own key being wrong.
 */
function relayFailure(exchange: RequestContext, failure: FailedAttempt, model: string): Answer {
  if (hiddenFromClient(failure.outcome)) {
    throw new GatewayError('overloaded', `no provider key for model "${model}" is in service: the provider refused the key`);
  }
  if (failure.response) {
    const { status, headers, body } = failure.response;
    const keep = Object.fromEntries(
      Object.entries(headers).filter(([name]) => name === 'retry-after' || name === 'request-id' || name === 'x-request-id' || name.startsWith('anthropic-ratelimit') || name.startsWith('x-ratelimit')),
    );
    const answer = jsonAnswer(status, body, keep);
    return failure.response.native ? { ...answer, native: true } : answer;
  }
  const kind = failure.outcome.kind === 'timeout' ? 'timeout' : 'upstream';
  const what = failure.outcome.kind === 'timeout' ? 'timed out' : 'could not be reached';
  throw new GatewayError(kind, `the provider ${what} (${exchange.spillwayHeaders['x-spillway-provider'] ?? 'unknown'})`);
}

/** Where one request stands between attempts. */
interface Progress {
  plan: TargetPlan;
  /** Candidates for the next admission. Fallbacks join only after an upstream failure or when the primaries miss the deadline. */
  targets: Target[];
  /** Why the request is no longer on its first choice (shown in the trace). */
  spillReason: string | undefined;
  /** Providers that failed this request: they go last. */
  failed: Set<string>;
  /** Per provider, keys that refused this request (key-fault.ts): its next admissions pass them over. */
  refusedBy: Map<string, Set<string>>;
  deadline: number;
  attempts: number;
  queuedMs: number;
  lastFailure: FailedAttempt | undefined;
}

/** Where this request may go, as of now (rules, tiers, weights); the cache keys on it, serveChat follows it. */
export function planChat(gw: Engine, exchange: RequestContext, chat: ChatRequest): Promise<TargetPlan> {
  return resolvePlan(gw, exchange, chat, demandsFor(gw, chat));
}

/**
 * Serves with the plan's providers held, so a reload closes none of them under this request: until
 * the answer is done (its usage settles), or at once when there is none.
 */
export async function holdingPlan(gw: Engine, plan: TargetPlan, serve: () => Promise<Answer | undefined>): Promise<Answer | undefined> {
  const release = gw.leases.hold([...plan.primary, ...plan.fallback].map((target) => target.provider));
  let answer: Answer | undefined;
  try {
    answer = await serve();
  } catch (error) {
    release();
    throw error;
  }
  if (!answer) release();
  else void answer.usage.then(release);
  return answer;
}

/**
 * The answer to one chat request, or undefined when the client left before there was one. A
 * stream answer holds its reservation until its body has been read or let go.
 */
export async function serveChat(gw: Engine, exchange: RequestContext, chat: ChatRequest, priority: Priority, maxWaitMs: number): Promise<Answer | undefined> {
  const demandOf = demandsFor(gw, chat);
  const plan = await resolvePlan(gw, exchange, chat, demandOf);
  return holdingPlan(gw, plan, () => servePlan(gw, exchange, { chat, priority, maxWaitMs, plan, demandOf, dispatch: chatDispatch(exchange, chat) }));
}

/** serveChat along a plan already made (planChat) whose providers the caller holds (holdingPlan). */
export function servePlanned(gw: Engine, exchange: RequestContext, chat: ChatRequest, priority: Priority, maxWaitMs: number, plan: TargetPlan): Promise<Answer | undefined> {
  return servePlan(gw, exchange, { chat, priority, maxWaitMs, plan, demandOf: demandsFor(gw, chat), dispatch: chatDispatch(exchange, chat) });
}

const chatDispatch = (exchange: RequestContext, chat: ChatRequest): Dispatch => (ctx) => attempt(exchange, chat, ctx);

/** One call to serve along a plan: what servePlan needs beyond the gateway and the exchange. */
export interface PlannedCall {
  /** The model the client asked for, and whether it streams. */
  chat: { model: string; stream: boolean };
  priority: Priority;
  maxWaitMs: number;
  plan: TargetPlan;
  demandOf: (model: string) => Demand;
  /** Sends one admitted attempt. */
  dispatch: Dispatch;
}

/**
 * Admit, dispatch and retry along a plan (whose providers the caller holds) until an answer or a
 * refusal: the loop every kind of call shares. Within the tenant's budget: held before admission,
 * settled when the answer's usage is known.
 */
export async function servePlan(gw: Engine, exchange: RequestContext, asked: PlannedCall): Promise<Answer | undefined> {
  Object.assign(exchange.trace, { requestedModel: asked.chat.model, stream: asked.chat.stream });
  const call = { ...asked, plan: admissiblePlan(exchange, asked) };
  const { plan, demandOf } = call;
  const first = plan.primary[0] ?? plan.fallback[0];
  const settleSpend = first && (await holdBudget(gw, exchange, first.model, demandOf(first.model)));
  if (!settleSpend) return servePlanWithin(gw, exchange, call, undefined);
  try {
    const answer = await servePlanWithin(gw, exchange, call, settleSpend);
    // A served answer settled itself with its usage first (registered earlier); a relayed failure costs nothing.
    if (answer) void answer.usage.then(() => settleSpend(undefined), () => settleSpend(undefined));
    else settleSpend(undefined);
    return answer;
  } catch (error) {
    settleSpend(undefined);
    throw error;
  }
}

async function servePlanWithin(gw: Engine, exchange: RequestContext, call: PlannedCall, settleSpend: SettleSpend | undefined): Promise<Answer | undefined> {
  const { chat, priority, maxWaitMs, plan, demandOf, dispatch } = call;
  const started = Date.now();
  exchange.trace.priority = priority;
  gw.retryBudget.recordRequest(started);
  const progress: Progress = { plan, targets: plan.primary, spillReason: undefined, failed: new Set(), refusedBy: new Map(), deadline: started + maxWaitMs, attempts: 0, queuedMs: 0, lastFailure: undefined };

  const ceiling = exchange.tenant && gw.tenants.ceilingOf(exchange.tenant);
  for (;;) {
    const demands = progress.targets.map((target) => demandOf(target.model));
    let admitted;
    const queuedAt = Date.now();
    try {
      admitted = await gw.queue.admit(
        progress.targets.map((target, i) => ({ pool: admissionOf(gw, target, progress), demand: demands[i]! })),
        { priority, deadline: progress.deadline, signal: exchange.signal, share: exchange.tenant && { tenant: exchange.tenant.name, weight: exchange.tenant.weight }, ceiling },
      );
    } catch (error) {
      if (!(error instanceof QueueRejection)) throw error;
      if (error.reason === 'aborted') return undefined;
      if (spillToFallbacks(progress, error)) continue;
      if (progress.lastFailure) return relayFailure(exchange, progress.lastFailure, chat.model);
      exchange.trace.rejected = error.reason;
      throw rejectionError(error, chat.model, exchange.tenant?.name);
    }
    progress.queuedMs += admitted.queuedMs;
    progress.attempts += 1;
    exchange.spans?.step('spillway.queue', queuedAt, Date.now(), { 'spillway.queue_ms': Math.round(admitted.queuedMs) });
    const target = progress.targets[admitted.candidateIndex]!;
    const { reservation } = admitted;
    announce(exchange, progress, target, reservation.keyId);
    if (ceiling) Object.assign(exchange.spillwayHeaders, headroomHeaders(exchange.surface, ceiling.headroom(Date.now()), Date.now()));

    const estimatedInput = demands[admitted.candidateIndex]!.inputTokens;
    const result = await dispatch({
      upstream: gw.upstream,
      provider: target.provider,
      model: target.model,
      reservation,
      estimatedInput,
      onSettled: (usage) => {
        target.provider.connections.release();
        ceiling?.settle(reservation.demand, usage, Date.now());
        if (usage) {
          gw.estimator.calibrate(target.model, estimatedInput, usage.inputTokens);
          gw.estimator.calibrateOutput(target.model, usage.outputTokens);
        }
        gw.queue.notify();
      },
      observer: gw.observer,
      log: gw.log,
      onKeyRested: (provider, keyId) => gw.prober.rested(provider, keyId),
    });
    Object.assign(exchange.trace, { provider: target.provider.name, model: target.model, keyId: reservation.keyId, queueMs: progress.queuedMs, attempts: progress.attempts });
    if (result.answered) {
      void result.answer.usage.then((usage) => {
        exchange.trace.inputTokens = usage?.inputTokens;
        exchange.trace.outputTokens = usage?.outputTokens;
        exchange.trace.finishReasons = usage?.finishReasons;
        settleSpend?.(usage && { model: target.model, usage });
      });
      return result.answer;
    }
    if (exchange.signal.aborted) return undefined;
    progress.lastFailure = result;
    if (refusedByKey(result.outcome)) refusedBy(progress, target).add(reservation.keyId);
    // Tried again: the attempt's share of the tenant's ceiling comes back (the client asked once).
    const again = () => ceiling?.refund(reservation.demand, Date.now());
    if (fallBack(gw, progress, target, result)) {
      again();
      continue;
    }

    const now = Date.now();
    const decision = decideRetry(result.outcome, progress.attempts, {
      now,
      deadline: progress.deadline,
      // An answer leaves this loop only once it is good: no byte of a failed attempt ever reached the client.
      bytesSent: false,
      budget: gw.retryBudget,
      maxAttempts: gw.config.retry.max_attempts,
    });
    if (decision.action === 'give-up') return relayFailure(exchange, result, chat.model);
    again();
    if (decision.action === 'retry-after' && !waitsInAdmission(result.outcome) && decision.delayMs > 0) {
      await sleep(Math.min(decision.delayMs, Math.max(0, progress.deadline - now)), undefined, { signal: exchange.signal }).catch(() => undefined);
      if (exchange.signal.aborted) return undefined;
    }
  }
}

function refusedBy(progress: Progress, target: Target): Set<string> {
  let keys = progress.refusedBy.get(target.provider.name);
  if (!keys) progress.refusedBy.set(target.provider.name, (keys = new Set()));
  return keys;
}

/** The target's pool as this request's admission sees it: keys that refused it passed over, a connection slot taken. */
function admissionOf(gw: Engine, target: Target, progress: Progress) {
  const admission = admissionPool(target.provider.pool, target.provider.connections, refusedBy(progress, target));
  // Batch requests on a pool whose day is projected short take no more than its allowance.
  return gw.forecast ? pacedAdmission(admission, target.provider.name, gw.forecast) : admission;
}

/**
 * The plan without the targets whose keys could never admit this request (quota/oversize.ts): the
 * fallbacks step up when no primary is left, and with no target left it is refused at once.
 */
function admissiblePlan(exchange: RequestContext, { plan, demandOf, chat }: PlannedCall): TargetPlan {
  const now = Date.now();
  let refused: { target: Target; over: Oversize } | undefined;
  const admissible = (targets: Target[]) =>
    targets.filter((target) => {
      const over = oversize(target.provider.pool.snapshot(now), demandOf(target.model));
      if (over) refused ??= { target, over };
      return !over;
    });
  const primary = admissible(plan.primary);
  const fallback = admissible(plan.fallback);
  if (!refused) return plan;
  if (primary.length > 0) return { ...plan, primary, fallback };
  if (fallback.length > 0) return { ...plan, primary: fallback, fallback: [] };
  const { target, over } = refused;
  exchange.trace.rejected = 'oversize';
  const unit = over.dimension === 'itpm' ? 'input tokens' : 'tokens';
  throw new GatewayError(
    'over_limit',
    `This request's estimated ${demandOf(target.model).inputTokens.toLocaleString('en-US')} input tokens exceed the rate limit of ${over.limit.toLocaleString('en-US')} ${unit} per minute of every key that can serve model "${chat.model}", so no key can ever admit it. Reduce the prompt's length.`,
  );
}

/** The primaries cannot make it in time, or none is in service: the fallback chain gets its chance, through its own admission. */
function spillToFallbacks(progress: Progress, rejection: QueueRejection): boolean {
  const { plan } = progress;
  if ((rejection.reason !== 'deadline' && rejection.reason !== 'unavailable') || progress.targets !== plan.primary || plan.fallback.length === 0) return false;
  progress.targets = plan.fallback;
  progress.spillReason = rejection.reason === 'deadline' ? 'primary targets cannot meet the deadline' : 'primary targets unavailable';
  return true;
}

/**
 * A fallback chain turns an upstream failure into an immediate move to another provider: no
 * backoff and no retry budget, since the failing provider gets no more load from it.
 */
function fallBack(gw: Engine, progress: Progress, target: Target, failure: FailedAttempt): boolean {
  const { plan } = progress;
  const canMove =
    plan.fallback.length > 0 &&
    worthFallingBack(failure.outcome) &&
    progress.attempts < gw.config.retry.max_attempts &&
    Date.now() < progress.deadline;
  if (!canMove) return false;
  progress.failed.add(target.provider.name);
  progress.targets = afterFailure(plan, progress.failed);
  progress.spillReason = failureReason(failure.outcome);
  return true;
}

/** Tells the caller (x-spillway-* headers) and the trace where this attempt goes. */
function announce(exchange: RequestContext, progress: Progress, target: Target, keyId: string): void {
  Object.assign(exchange.spillwayHeaders, {
    'x-spillway-provider': target.provider.name,
    'x-spillway-model': target.model,
    'x-spillway-key': keyId,
    'x-spillway-queue-ms': String(Math.round(progress.queuedMs)),
    'x-spillway-attempts': String(progress.attempts),
  });
  const { plan } = progress;
  if (target.fallback || target !== plan.primary[0]) {
    exchange.trace.spill = { reason: progress.spillReason ?? (plan.strategy === 'weighted' ? 'weighted' : 'no room on earlier targets'), fallback: target.fallback };
  } else {
    delete exchange.trace.spill;
  }
}

function rejectionError(rejection: QueueRejection, model: string, tenant: string | undefined): GatewayError {
  const seconds = Math.ceil(rejection.retryAfterMs / 1000);
  switch (rejection.reason) {
    case 'full':
      return new GatewayError('rate_limited', `spillway's queue is full; retry in ${seconds}s`, { retryAfterMs: rejection.retryAfterMs });
    case 'unavailable':
      return new GatewayError('overloaded', `no provider key for model "${model}" is in service`);
    case 'ceiling':
      return new GatewayError('rate_limited', `tenant "${tenant}" is over its own rate limit (tenants.${tenant}.limits) and has no room before this request's deadline; room is expected in ${seconds}s`, {
        retryAfterMs: rejection.retryAfterMs,
      });
    default:
      return new GatewayError(
        'rate_limited',
        `the provider keys for model "${model}" have no room for this request before its deadline; room is expected in ${seconds}s`,
        { retryAfterMs: rejection.retryAfterMs },
      );
  }
}
