/**
 * What a route's shadow pairs say together: the agreement rate with its 95% Wilson interval,
 * latency and cost side by side, and the worst disagreements. Pure, over stored pairs.
 */
import type { PairScore } from './shadow-score.js';

export interface Side {
  provider: string;
  model: string;
  latencyMs: number;
  costUsd: number | undefined;
  /** The answer's text (cut to a few hundred characters when stored). */
  text: string;
}

/** A judge model's grading of a pair (routing/shadow-judge.ts). */
export interface JudgeVerdict {
  /** provider/model of the judge. */
  judge: string;
  equivalent: boolean;
  /** 0..1 */
  score: number;
  reason: string;
}

export interface ShadowPair {
  route: string;
  at: number;
  requestId: string;
  primary: Side;
  candidate: Side;
  score: PairScore;
  /** Present when the route's shadow has a judge and it answered with a readable verdict. */
  judge?: JudgeVerdict;
}

/** What the judge said over the pairs it graded. */
export interface JudgeSummary {
  judged: number;
  equivalent: number;
  /** Share of judged pairs the judge called equivalent, with its 95% Wilson interval. */
  agreement: number;
  interval: [number, number];
  meanScore: number;
  /** Share of judged pairs where the judge and the text scores reach the same verdict. */
  concordance: number;
}

export interface ShadowReport {
  route: string | undefined;
  pairs: number;
  agreed: number;
  agreement: number | undefined;
  /** 95% Wilson score interval of the agreement rate. */
  interval: [number, number] | undefined;
  exactMatches: number;
  meanSimilarity: number | undefined;
  sameToolCalls: number;
  latency: { primaryMeanMs: number; candidateMeanMs: number; deltaMs: number } | undefined;
  cost: { primaryUsd: number; candidateUsd: number; deltaUsd: number } | undefined;
  worst: ShadowPair[];
  /** Absent when no pair was judged. */
  judge?: JudgeSummary;
}

const Z95 = 1.959963984540054;

export function wilsonInterval(successes: number, total: number, z = Z95): [number, number] | undefined {
  if (total === 0) return undefined;
  const p = successes / total;
  const z2 = z * z;
  const centre = (p + z2 / (2 * total)) / (1 + z2 / total);
  const half = (z / (1 + z2 / total)) * Math.sqrt((p * (1 - p)) / total + z2 / (4 * total * total));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

const mean = (values: number[]) => (values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length);
const sum = (values: Array<number | undefined>) => values.reduce<number>((a, b) => a + (b ?? 0), 0);

function judgeSummary(pairs: readonly ShadowPair[]): JudgeSummary | undefined {
  const judged = pairs.filter((pair) => pair.judge !== undefined);
  if (judged.length === 0) return undefined;
  const equivalent = judged.filter((pair) => pair.judge!.equivalent).length;
  return {
    judged: judged.length,
    equivalent,
    agreement: equivalent / judged.length,
    interval: wilsonInterval(equivalent, judged.length)!,
    meanScore: mean(judged.map((pair) => pair.judge!.score)),
    concordance: judged.filter((pair) => pair.judge!.equivalent === pair.score.agree).length / judged.length,
  };
}

export function shadowReport(pairs: readonly ShadowPair[], route: string | undefined, worstCount = 5): ShadowReport {
  const judge = judgeSummary(pairs);
  const agreed = pairs.filter((pair) => pair.score.agree).length;
  const n = pairs.length;
  const priced = pairs.filter((pair) => pair.primary.costUsd !== undefined || pair.candidate.costUsd !== undefined);
  const primaryMs = mean(pairs.map((pair) => pair.primary.latencyMs));
  const candidateMs = mean(pairs.map((pair) => pair.candidate.latencyMs));
  const primaryUsd = sum(priced.map((pair) => pair.primary.costUsd));
  const candidateUsd = sum(priced.map((pair) => pair.candidate.costUsd));
  return {
    route,
    pairs: n,
    agreed,
    agreement: n === 0 ? undefined : agreed / n,
    interval: wilsonInterval(agreed, n),
    exactMatches: pairs.filter((pair) => pair.score.exact).length,
    meanSimilarity: n === 0 ? undefined : mean(pairs.map((pair) => pair.score.similarity)),
    sameToolCalls: pairs.filter((pair) => pair.score.sameTools).length,
    latency: n === 0 ? undefined : { primaryMeanMs: primaryMs, candidateMeanMs: candidateMs, deltaMs: candidateMs - primaryMs },
    cost: priced.length === 0 ? undefined : { primaryUsd, candidateUsd, deltaUsd: candidateUsd - primaryUsd },
    worst: pairs
      .filter((pair) => !pair.score.agree)
      .sort((a, b) => a.score.similarity - b.score.similarity)
      .slice(0, worstCount),
    ...(judge ? { judge } : {}),
  };
}

/**
 * Where pairs are kept: SQLite in data_dir for one node (store/sqlite-shadow.ts), Redis when
 * replicas share one (store/redis-shadow.ts), so every replica's pairs land in one report.
 */
export interface ShadowPairs {
  /** Buffered: never waits on the store (the write happens a moment later, in a batch). */
  add(pair: ShadowPair): void;
  /** Pairs of a route (every route when undefined) since `since` (epoch ms), newest first; buffered pairs included. */
  list(route: string | undefined, since: number, limit: number): Promise<ShadowPair[]>;
  /** Writes what is buffered and lets go of the store. */
  close(): Promise<void>;
}
