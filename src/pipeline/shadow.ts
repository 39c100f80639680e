/**
 * Shadow traffic: a share of a route's successful answers is followed, once the client has it
 * whole, by the same request sent to a candidate, at batch priority (it waits for the candidate's
 * own admission and takes no interactive capacity). The client never sees the copy. The two
 * answers are scored (routing/shadow-score.ts) and the pair is kept (ShadowPairs).
 */
import { setMaxListeners } from 'node:events';
import { makeEntry, type CacheEntry } from '../cache/entry.js';
import { costOf, priceTable, type PriceTable } from '../observe/prices.js';
import type { TokenUsage } from '../protocol/usage.js';
import { shadowReport, type ShadowPair, type ShadowPairs, type ShadowReport } from '../routing/shadow-report.js';
import { asksForJson, saidIn, scorePair } from '../routing/shadow-score.js';
import { answerHeaders } from './answer-headers.js';
import { recordAnswer } from './answer-recorder.js';
import { bodyOf, type Answer } from './answer.js';
import { holdingPlan, servePlanned, type Target, type TargetPlan } from './chat.js';
import type { Engine } from './engine.js';
import type { ChatRequest } from './ingress.js';
import type { RequestContext } from './request-context.js';

/** A route's shadow, resolved for one request (chat.ts sets it on the plan). */
export interface ShadowPlan {
  route: string;
  target: Target;
  share: number;
}

/** Copies in flight at once; beyond it a copy is skipped (and counted), never queued without bound. */
const MAX_IN_FLIGHT = 64;

interface PrimarySide {
  entry: CacheEntry;
  target: { provider: string; model: string };
  latencyMs: number;
  usage: TokenUsage | undefined;
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

  /**
   * The answer the client gets, unchanged; when this request is one of the shadow's share, its
   * body is watched and, once it has reached the client whole, the copy goes out.
   */
  follow(gw: Engine, exchange: RequestContext, chat: ChatRequest, plan: TargetPlan, answer: Answer): Answer {
    const shadow = plan.shadow;
    // A native answer (a Gemini client's to Gemini) is not in the pivot's shape the comparison reads.
    if (!shadow || answer.status !== 200 || answer.native || Math.random() >= shadow.share) return answer;
    // Only an answer from the route's own first choice is a fair comparison (not a spill-over or a cached one).
    const { provider, model } = exchange.trace;
    const first = plan.primary[0];
    if (!first || exchange.trace.spill || first.provider.name !== provider || first.model !== model) return answer;
    const { answer: teed, recording } = recordAnswer(answer, { surface: chat.surface, stream: chat.stream, maxBytes: gw.config.cache.exact.max_entry_bytes });
    void Promise.all([recording, answer.usage.catch(() => undefined)]).then(([recorded, usage]) => {
      const entry = recorded.entry();
      if (!entry) return;
      const queued = Number(exchange.spillwayHeaders['x-spillway-queue-ms'] ?? 0);
      this.send(gw, exchange, chat, shadow, { entry, target: { provider: provider!, model: model! }, latencyMs: Date.now() - exchange.trace.startedAt - queued, usage: usage ?? undefined });
    });
    return teed;
  }

  report(route: string | undefined, since: number, worst = 5): ShadowReport {
    return shadowReport(this.store().list(route, since, 100_000), route, worst);
  }

  /** The route's agreement over pairs since `since`, with how many pairs it rests on. */
  agreement(route: string, since: number): { pairs: number; rate: number | undefined } {
    const report = this.report(route, since, 0);
    return { pairs: report.pairs, rate: report.agreement };
  }

  async close(): Promise<void> {
    this.closing.abort();
    await Promise.allSettled([...this.running]);
    this.pairs?.close();
  }

  private send(gw: Engine, origin: RequestContext, chat: ChatRequest, shadow: ShadowPlan, primary: PrimarySide): void {
    if (this.closing.signal.aborted) return;
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.skipped += 1;
      return;
    }
    this.inFlight += 1;
    const run = this.compare(gw, origin, chat, shadow, primary)
      .catch((error: unknown) => gw.log(`spillway: shadow copy of ${origin.requestId} to ${shadow.target.provider.name} failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        this.inFlight -= 1;
        this.running.delete(run);
      });
    this.running.add(run);
  }

  private async compare(gw: Engine, origin: RequestContext, chat: ChatRequest, shadow: ShadowPlan, primary: PrimarySide): Promise<void> {
    const body: Record<string, unknown> = { ...chat.body, stream: false };
    delete body.stream_options;
    const copy: ChatRequest = { ...chat, body, stream: false, raw: Buffer.from(JSON.stringify(body)) };
    const context: RequestContext = {
      req: { headers: origin.req.headers, ...(origin.req.url !== undefined ? { url: origin.req.url } : {}) },
      requestId: `${origin.requestId}-shadow`,
      surface: chat.surface,
      owner: origin.owner,
      signal: this.closing.signal,
      spillwayHeaders: answerHeaders(),
      trace: { startedAt: Date.now() },
    };
    const plan: TargetPlan = { strategy: 'spill', primary: [shadow.target], fallback: [] };
    const answer = await holdingPlan(gw, plan, () => servePlanned(gw, context, copy, 'batch', gw.config.queue.max_wait, plan));
    if (!answer) return;
    const text = (await bodyOf(answer)).toString('utf8');
    const usage = await answer.usage.catch(() => undefined);
    if (answer.status !== 200) {
      gw.log(`spillway: shadow copy of ${origin.requestId} to ${shadow.target.provider.name} answered ${answer.status}`);
      return;
    }
    const queued = Number(context.spillwayHeaders['x-spillway-queue-ms'] ?? 0);
    const candidate = makeEntry(chat.surface, JSON.parse(text), Date.now());
    const primarySaid = saidIn(primary.entry);
    const candidateSaid = saidIn(candidate);
    this.prices ??= priceTable(gw.config.prices);
    const cost = (model: string, spent: TokenUsage | undefined) => (spent ? costOf(this.prices!, model, spent.inputTokens, spent.outputTokens) : undefined);
    const pair: ShadowPair = {
      route: shadow.route,
      at: Date.now(),
      requestId: origin.requestId,
      primary: { ...primary.target, latencyMs: primary.latencyMs, costUsd: cost(primary.target.model, primary.usage), text: primarySaid.text },
      candidate: {
        provider: shadow.target.provider.name,
        model: shadow.target.model,
        latencyMs: Date.now() - context.trace.startedAt - queued,
        costUsd: cost(shadow.target.model, usage ?? undefined),
        text: candidateSaid.text,
      },
      score: scorePair(primarySaid, candidateSaid, asksForJson(chat.body)),
    };
    this.store().add(pair);
  }
}
