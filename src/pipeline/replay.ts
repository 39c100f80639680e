/**
 * Replay: captured prompts (routing/prompt-capture.ts) sent again to a candidate, at batch
 * priority through the gateway's own admission, each answer scored against the one the client
 * got, exactly as a shadow pair is (and judged when the route's shadow has a judge). The report
 * is the shadow report over these pairs. Served by `POST /admin/replay` (`spillway replay`).
 */
import { setMaxListeners } from 'node:events';
import { priceTable } from '../observe/prices.js';
import type { CapturedPrompt } from '../routing/prompt-capture.js';
import { shadowReport, type ShadowPair, type ShadowReport } from '../routing/shadow-report.js';
import type { Target } from './chat.js';
import type { Engine } from './engine.js';
import type { ChatRequest } from './ingress.js';
import { scoredPair } from './shadow.js';

export interface ReplayRequest {
  /** A route name as in config (`*` included); undefined for every route. */
  route: string | undefined;
  since: number;
  candidate: { provider: string; model: string };
  /** At most this many prompts, newest first. */
  limit: number;
  /** Copies in flight at once. */
  concurrency: number;
  signal?: AbortSignal;
}

export interface ReplayReport extends ShadowReport {
  /** Captured prompts found for the route and span. */
  prompts: number;
  /** Those whose copy got no scorable answer (a failure, or given up). */
  failed: number;
  candidate: string;
  /** Whether this gateway captures prompts now (usage.capture.prompts): without it there is nothing new to replay. */
  capturing: boolean;
}

export class ReplayError extends Error {}

function requestOf(prompt: CapturedPrompt): ChatRequest {
  const body = JSON.parse(prompt.body) as Record<string, unknown>;
  const cap = body.max_tokens ?? body.max_completion_tokens;
  return {
    surface: prompt.surface,
    model: typeof body.model === 'string' ? body.model : '',
    stream: false,
    maxTokens: typeof cap === 'number' ? cap : undefined,
    body,
    raw: Buffer.from(prompt.body),
  };
}

export async function replay(gw: Engine, request: ReplayRequest): Promise<ReplayReport> {
  const provider = gw.providers.get(request.candidate.provider);
  if (!provider) throw new ReplayError(`candidate: unknown provider "${request.candidate.provider}" (known: ${[...gw.providers.keys()].join(', ')})`);
  const candidate: Target = { provider, model: request.candidate.model, fallback: false };
  const prompts = await gw.capture.prompts().list(request.route, request.since, request.limit);
  const judgeConfig = request.route !== undefined ? gw.config.routes[request.route]?.shadow?.judge : undefined;
  const judgeProvider = judgeConfig && gw.providers.get(judgeConfig.provider);
  const judge: Target | undefined = judgeProvider && judgeConfig ? { provider: judgeProvider, model: judgeConfig.model, fallback: false } : undefined;
  const prices = priceTable(gw.config.prices);
  const signal = request.signal ?? new AbortController().signal;
  setMaxListeners(0, signal);
  const pairs: ShadowPair[] = [];
  let failed = 0;
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < prompts.length && !signal.aborted; i = next++) {
      const prompt = prompts[i]!;
      try {
        const pair = await scoredPair(
          gw,
          { requestId: `${prompt.requestId}-replay`, headers: {}, owner: '', signal },
          requestOf(prompt),
          prompt.route,
          { said: prompt.answer.said, target: { provider: prompt.answer.provider, model: prompt.answer.model }, latencyMs: prompt.answer.latencyMs, costUsd: prompt.answer.costUsd },
          candidate,
          judge,
          prices,
        );
        if (pair) pairs.push({ ...pair, requestId: prompt.requestId });
        else failed += 1;
      } catch (error) {
        failed += 1;
        gw.log(`spillway: replay of ${prompt.requestId} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, request.concurrency) }, worker));
  return { ...shadowReport(pairs, request.route, 5), prompts: prompts.length, failed, candidate: `${provider.name}/${candidate.model}`, capturing: gw.config.usage.capture.prompts };
}
