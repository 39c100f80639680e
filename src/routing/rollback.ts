/**
 * When a canary's candidate is worse than its primary, by the route's `rollback_when`: its error
 * rate above the primary's by more than `error_rate`, its p95 latency above `p95_latency_ratio`
 * times the primary's, or the route's shadow agreement below `shadow_agreement_below`, once the
 * candidate has `min_requests` upstream attempts in the window. Pure, over the window's samples.
 */
import type { RollbackConfig } from '../config/schema.js';
import type { CanarySide } from './canary.js';

export interface Sample {
  at: number;
  side: CanarySide;
  /** A 5xx, a timeout or a broken connection (a 429 is a matter of capacity, not of the candidate). */
  error: boolean;
  latencyMs: number;
}

export interface Verdict {
  /** Says why, with the figures: "candidate error rate 50.0% vs primary 0.0% …". */
  summary: string;
  value: number;
  threshold: number;
}

const pct = (share: number) => `${(share * 100).toFixed(1)}%`;

export function p95(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)];
}

export function rollbackVerdict(samples: readonly Sample[], rule: RollbackConfig, agreement?: { pairs: number; rate: number | undefined }): Verdict | undefined {
  const candidate = samples.filter((s) => s.side === 'candidate');
  const primary = samples.filter((s) => s.side === 'primary');
  if (candidate.length < rule.min_requests) return undefined;
  const errorRate = (side: Sample[]) => (side.length === 0 ? 0 : side.filter((s) => s.error).length / side.length);
  if (rule.error_rate !== undefined) {
    const ours = errorRate(candidate);
    const theirs = errorRate(primary);
    if (ours - theirs > rule.error_rate) {
      return {
        summary: `candidate error rate ${pct(ours)} over ${candidate.length} attempts vs primary ${pct(theirs)} over ${primary.length} (allowed: ${(rule.error_rate * 100).toFixed(1)} points above)`,
        value: ours,
        threshold: theirs + rule.error_rate,
      };
    }
  }
  if (rule.p95_latency_ratio !== undefined) {
    const ours = p95(candidate.filter((s) => !s.error).map((s) => s.latencyMs));
    const theirs = p95(primary.filter((s) => !s.error).map((s) => s.latencyMs));
    if (ours !== undefined && theirs !== undefined && theirs > 0 && ours / theirs > rule.p95_latency_ratio) {
      return {
        summary: `candidate p95 latency ${Math.round(ours)} ms is ${(ours / theirs).toFixed(2)}× the primary's ${Math.round(theirs)} ms (allowed: ${rule.p95_latency_ratio}×)`,
        value: ours / theirs,
        threshold: rule.p95_latency_ratio,
      };
    }
  }
  if (rule.shadow_agreement_below !== undefined && agreement && agreement.rate !== undefined && agreement.pairs >= rule.min_requests && agreement.rate < rule.shadow_agreement_below) {
    return {
      summary: `shadow agreement ${pct(agreement.rate)} over ${agreement.pairs} pairs (allowed: at least ${pct(rule.shadow_agreement_below)})`,
      value: agreement.rate,
      threshold: rule.shadow_agreement_below,
    };
  }
  return undefined;
}
