/**
 * What follows a chat answer once its client has it whole: the shadow copy (pipeline/shadow.ts)
 * and prompt capture (routing/prompt-capture.ts). The answer is teed once for both; nothing of
 * either runs before its body has gone out, and then only on a later turn of the event loop
 * (setImmediate), so the client's answer never waits on scoring, copying or storing.
 */
import { priceTable, type PriceTable } from '../observe/prices.js';
import { fitsCapture, type CaptureBounds, type PromptStore } from '../routing/prompt-capture.js';
import type { Config } from '../config/schema.js';
import { findRouteName } from '../routing/plan.js';
import { saidIn } from '../routing/shadow-score.js';
import { recordAnswer } from './answer-recorder.js';
import type { Answer } from './answer.js';
import type { TargetPlan } from './chat.js';
import type { Engine } from './engine.js';
import type { ChatRequest } from './ingress.js';
import type { RequestContext } from './request-context.js';
import { costFor, type PrimarySide } from './shadow.js';

export const captureBounds = (config: Config): CaptureBounds => {
  const { max_bytes, ttl, max_prompts } = config.usage.capture;
  return { maxBytes: max_bytes, ttlMs: ttl, maxPrompts: max_prompts };
};

/** Keeps answered prompts for replay while `usage.capture.prompts` is on. */
export class PromptCapture {
  /** Prompts not kept because their body was over max_bytes. */
  tooLarge = 0;
  private store: PromptStore | undefined;

  constructor(private readonly open: () => PromptStore) {}

  prompts(): PromptStore {
    this.store ??= this.open();
    return this.store;
  }

  async close(): Promise<void> {
    await this.store?.close();
  }
}

let prices: { table: PriceTable; from: Config['prices'] } | undefined;
function pricesOf(config: Config): PriceTable {
  if (prices?.from !== config.prices) prices = { table: priceTable(config.prices), from: config.prices };
  return prices.table;
}

export function followAnswer(gw: Engine, exchange: RequestContext, chat: ChatRequest, plan: TargetPlan, answer: Answer): Answer {
  // A native answer (a Gemini client's to Gemini) is not in the shape the comparison and the capture read.
  if (answer.status !== 200 || answer.native) return answer;
  const { provider, model } = exchange.trace;
  const shadow = plan.shadow && gw.shadow.wants(exchange, plan) ? plan.shadow : undefined;
  // Answers from upstream only: a cached answer says nothing of a model's latency.
  const capture = gw.config.usage.capture.prompts && provider !== undefined && model !== undefined;
  if (!shadow && !capture) return answer;
  const { answer: teed, recording } = recordAnswer(answer, { surface: chat.surface, stream: chat.stream, maxBytes: gw.config.cache.exact.max_entry_bytes });
  void Promise.all([recording, answer.usage.catch(() => undefined)]).then(([recorded, usage]) => {
    const queued = Number(exchange.spillwayHeaders['x-spillway-queue-ms'] ?? 0);
    const latencyMs = Date.now() - exchange.trace.startedAt - queued;
    // A later turn: whatever else is ready (other clients' answers) goes first, parsing included.
    setImmediate(() => {
      const entry = recorded.entry();
      if (!entry) return;
      const primary: PrimarySide = { said: saidIn(entry), target: { provider: provider!, model: model! }, latencyMs, costUsd: costFor(pricesOf(gw.config), model!, usage ?? undefined) };
      if (shadow) gw.shadow.send(gw, exchange, chat, shadow, primary);
      if (capture) keep(gw, exchange, chat, primary);
    });
  });
  return teed;
}

function keep(gw: Engine, exchange: RequestContext, chat: ChatRequest, primary: PrimarySide): void {
  const body = JSON.stringify(chat.body);
  if (!fitsCapture(body, captureBounds(gw.config))) {
    gw.capture.tooLarge += 1;
    return;
  }
  gw.capture.prompts().add({
    route: findRouteName(gw.config.routes, chat.model) ?? chat.model,
    at: exchange.trace.startedAt,
    requestId: exchange.requestId,
    surface: chat.surface,
    body,
    answer: { ...primary.target, latencyMs: primary.latencyMs, costUsd: primary.costUsd, said: primary.said },
  });
}
