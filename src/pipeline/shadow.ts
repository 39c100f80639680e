/**
 * Shadow traffic: a share of a route's successful answers is followed, once the client has it
 * whole, by the same request sent to a candidate, at batch priority (it waits for the candidate's
 * own admission and takes no interactive capacity). The client never sees the copy. The two
 * answers are scored (routing/shadow-score.ts), graded by the route's judge model when it has one
 * (routing/shadow-judge.ts), and the pair is kept (ShadowPairs: SQLite, or Redis for replicas).
 *
 * `sendCopy` (one request sent again to one target at batch priority) and `scoredPair` serve
 * replay too (pipeline/replay.ts).
 */
import { setMaxListeners } from 'node:events';
import { makeEntry } from '../cache/entry.js';
import { costOf, priceTable, type PriceTable } from '../observe/prices.js';
import type { TokenUsage } from '../protocol/usage.js';
import { askedIn, judgePrompt, parseVerdict } from '../routing/shadow-judge.js';
import { shadowReport, type JudgeVerdict, type ShadowPair, type ShadowPairs, type ShadowReport } from '../routing/shadow-report.js';
import { asksForJson, saidIn, scorePair, type Said } from '../routing/shadow-score.js';
import { answerHeaders } from './answer-headers.js';
import { bodyOf } from './answer.js';
import { holdingPlan, servePlanned, type Target, type TargetPlan } from './chat.js';
import type { Engine } from './engine.js';
import type { ChatRequest } from './ingress.js';
import type { RequestContext } from './request-context.js';

/** A route's shadow, resolved for one request (chat.ts sets it on the plan). */
export interface ShadowPlan {
  route: string;
  target: Target;
  share: number;
  /** The model that grades each pair, when the route's shadow has one. */
  judge?: Target;
}

/** Copies in flight at once; beyond it a copy is skipped (and counted), never queued without bound. */
const MAX_IN_FLIGHT = 64;
/** Output allowed to a judge's verdict. */
const JUDGE_MAX_TOKENS = 256;

/** What the client's answer was, as the pair records it. */
export interface PrimarySide {
  said: Said;
  target: { provider: string; model: string };
  latencyMs: number;
  costUsd: number | undefined;
}

/** Who a copy is sent for: the original request's headers and owner, and when to give up. */
export interface CopyOrigin {
  requestId: string;
  headers: RequestContext['req']['headers'];
  owner: string;
  signal: AbortSignal;
}

export interface CopyResult {
  status: number;
  said: Said | undefined;
  usage: TokenUsage | undefined;
  /** From the copy's admission to its answer: the wait in the queue is not the model's latency. */
  latencyMs: number;
}

/** `chat` sent again, not streamed, to `target` alone, at batch priority; undefined when given up. */
export async function sendCopy(gw: Engine, origin: CopyOrigin, chat: ChatRequest, target: Target): Promise<CopyResult | undefined> {
  const body: Record<string, unknown> = { ...chat.body, stream: false };
  delete body.stream_options;
  const copy: ChatRequest = { ...chat, body, stream: false, raw: Buffer.from(JSON.stringify(body)) };
  delete copy.native;
  const context: RequestContext = {
    req: { headers: origin.headers },
    requestId: origin.requestId,
    surface: chat.surface,
    owner: origin.owner,
    signal: origin.signal,
    spillwayHeaders: answerHeaders(),
    trace: { startedAt: Date.now() },
  };
  const plan: TargetPlan = { strategy: 'spill', primary: [target], fallback: [] };
  const answer = await holdingPlan(gw, plan, () => servePlanned(gw, context, copy, 'batch', gw.config.queue.max_wait, plan));
  if (!answer) return undefined;
  const text = (await bodyOf(answer)).toString('utf8');
  const usage = (await answer.usage.catch(() => undefined)) ?? undefined;
  const queued = Number(context.spillwayHeaders['x-spillway-queue-ms'] ?? 0);
  const latencyMs = Date.now() - context.trace.startedAt - queued;
  if (answer.status !== 200) return { status: answer.status, said: undefined, usage, latencyMs };
  return { status: 200, said: saidIn(makeEntry(chat.surface, JSON.parse(text), Date.now())), usage, latencyMs };
}

/** The judge's verdict on a pair; undefined when it did not answer with one. */
export async function judgePair(gw: Engine, origin: CopyOrigin, chat: ChatRequest, judge: Target, primary: Said, candidate: Said): Promise<JudgeVerdict | undefined> {
  const prompt = judgePrompt(askedIn(chat.body), primary, candidate);
  // Asked in the Anthropic shape; the provider's codec translates it like any client's request.
  const body = { model: judge.model, max_tokens: JUDGE_MAX_TOKENS, temperature: 0, messages: [{ role: 'user', content: prompt }] };
  const request: ChatRequest = { surface: 'anthropic', model: judge.model, stream: false, maxTokens: JUDGE_MAX_TOKENS, body, raw: Buffer.from(JSON.stringify(body)) };
  const result = await sendCopy(gw, { ...origin, requestId: `${origin.requestId}-judge` }, request, judge);
  if (!result || result.status !== 200 || !result.said) {
    gw.log(`spillway: judge ${judge.provider.name}/${judge.model} did not grade ${origin.requestId}${result ? ` (status ${result.status})` : ''}`);
    return undefined;
  }
  const verdict = parseVerdict(result.said.text);
  if (!verdict) gw.log(`spillway: judge ${judge.provider.name}/${judge.model} answered no JSON verdict for ${origin.requestId}`);
  return verdict && { judge: `${judge.provider.name}/${judge.model}`, ...verdict };
}

/** Dollars of a usage at the configured prices; undefined without usage. */
export function costFor(prices: PriceTable, model: string, spent: TokenUsage | undefined): number | undefined {
  return spent ? costOf(prices, model, spent.inputTokens, spent.outputTokens) : undefined;
}

/** The candidate's copy of a request, scored against the primary's answer (and judged when a judge is given). */
export async function scoredPair(
  gw: Engine,
  origin: CopyOrigin,
  chat: ChatRequest,
  route: string,
  primary: PrimarySide,
  candidate: Target,
  judge: Target | undefined,
  prices: PriceTable,
): Promise<ShadowPair | undefined> {
  const copy = await sendCopy(gw, origin, chat, candidate);
  if (!copy) return undefined;
  if (copy.status !== 200 || !copy.said) {
    gw.log(`spillway: copy of ${origin.requestId} to ${candidate.provider.name} answered ${copy.status}`);
    return undefined;
  }
  const verdict = judge ? await judgePair(gw, origin, chat, judge, primary.said, copy.said) : undefined;
  return {
    route,
    at: Date.now(),
    requestId: origin.requestId,
    primary: { ...primary.target, latencyMs: primary.latencyMs, costUsd: primary.costUsd, text: primary.said.text },
    candidate: {
      provider: candidate.provider.name,
      model: candidate.model,
      latencyMs: copy.latencyMs,
      costUsd: costFor(prices, candidate.model, copy.usage),
      text: copy.said.text,
    },
    score: scorePair(primary.said, copy.said, asksForJson(chat.body)),
    ...(verdict ? { judge: verdict } : {}),
  };
}

export class ShadowRecorder {
  private inFlight = 0;
  /** Copies skipped because MAX_IN_FLIGHT were already out. */
  skipped = 0;
  private pairs: ShadowPairs | undefined;
  private prices: PriceTable | undefined;
  private readonly closing = new AbortController();
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly open: () => ShadowPairs) {
    // Every copy in flight listens on it.
    setMaxListeners(0, this.closing.signal);
  }

  private store(): ShadowPairs {
    this.pairs ??= this.open();
    return this.pairs;
  }

  /** Whether this answered request is one of the shadow's share and a fair comparison. */
  wants(exchange: RequestContext, plan: TargetPlan): boolean {
    const shadow = plan.shadow;
    if (!shadow || Math.random() >= shadow.share) return false;
    // Only an answer from the route's own first choice is a fair comparison (not a spill-over or a cached one).
    const { provider, model } = exchange.trace;
    const first = plan.primary[0];
    return Boolean(first && !exchange.trace.spill && first.provider.name === provider && first.model === model);
  }

  /** The kept pairs of a route (every route when undefined) since `since`, newest first. */
  list(route: string | undefined, since: number, limit: number): Promise<ShadowPair[]> {
    return this.store().list(route, since, limit);
  }

  async report(route: string | undefined, since: number, worst = 5): Promise<ShadowReport> {
    return shadowReport(await this.store().list(route, since, 100_000), route, worst);
  }

  /** The route's agreement over pairs since `since`, with how many pairs it rests on. */
  async agreement(route: string, since: number): Promise<{ pairs: number; rate: number | undefined }> {
    const report = await this.report(route, since, 0);
    return { pairs: report.pairs, rate: report.agreement };
  }

  async close(): Promise<void> {
    this.closing.abort();
    await Promise.allSettled([...this.running]);
    await this.pairs?.close();
  }

  /** Sends the copy of an answered request (its answer already with the client) and keeps the scored pair. */
  send(gw: Engine, origin: RequestContext, chat: ChatRequest, shadow: ShadowPlan, primary: PrimarySide): void {
    if (this.closing.signal.aborted) return;
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.skipped += 1;
      return;
    }
    this.inFlight += 1;
    this.prices ??= priceTable(gw.config.prices);
    const copyOrigin: CopyOrigin = { requestId: `${origin.requestId}-shadow`, headers: origin.req.headers, owner: origin.owner, signal: this.closing.signal };
    const run = scoredPair(gw, copyOrigin, chat, shadow.route, primary, shadow.target, shadow.judge, this.prices)
      .then((pair) => pair && this.store().add({ ...pair, requestId: origin.requestId }))
      .catch((error: unknown) => gw.log(`spillway: shadow copy of ${origin.requestId} to ${shadow.target.provider.name} failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        this.inFlight -= 1;
        this.running.delete(run);
      });
    this.running.add(run);
  }
}
