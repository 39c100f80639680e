/**
 * Run-time steering of a plan: kill-switch flags and canary shares, applied after the route's own
 * planning (rules, tiers). Pure: the switches' state comes in as plain data.
 */
import type { CanaryConfig, FlagConfig } from '../config/schema.js';
import { canarySide, type CanarySide } from './canary.js';
import type { Candidate, Plan } from './plan.js';

export interface SteerInput {
  /** The route's name in config ("*" included). */
  routeName: string;
  /** The model the client asked for (a target without a model keeps it). */
  model: string;
  /** Every configured flag, and which are on now. */
  flags: Record<string, FlagConfig>;
  flagOn(name: string): boolean;
  canary: CanaryConfig | undefined;
  /** The canary's share now (run-time state, else its configured share). */
  canaryShare: number;
  /** The request's point in [0, 1): its identity's (canary.ts), or a draw of its own for `by: request`. */
  point: number;
}

export interface Steering {
  plan: Plan;
  /** The flag that forced the plan. */
  flag?: string;
  /** The canary side the request is on (routes with a canary whose share is above 0). */
  canary?: CanarySide;
}

/** A flag applies to its route, or to every route when its route is "*". */
export function flagFor(flags: Record<string, FlagConfig>, flagOn: (name: string) => boolean, routeName: string): string | undefined {
  return Object.keys(flags).find((name) => flagOn(name) && (flags[name]!.route === '*' || flags[name]!.route === routeName));
}

export function steerPlan(plan: Plan, input: SteerInput): Steering {
  const flag = flagFor(input.flags, input.flagOn, input.routeName);
  if (flag) {
    // A kill switch means only this target: no fallback that could lead elsewhere.
    const { provider, model } = input.flags[flag]!.force;
    return { plan: { strategy: 'spill', primary: [{ provider, model: model ?? input.model, fallback: false }], fallback: [] }, flag };
  }
  const { canary } = input;
  // A rule's choice is deliberate (a background request to a small model, say): the canary leaves it alone.
  if (!canary || input.canaryShare <= 0 || plan.rule) return { plan };
  const side = canarySide(input.point, input.canaryShare);
  if (side === 'primary') return { plan, canary: side };
  const candidate: Candidate = { provider: canary.target.provider, model: canary.target.model ?? input.model, fallback: false };
  // A candidate that fails hands the request back to the route's own targets, as fallbacks.
  const back = [...plan.primary, ...plan.fallback].map((c) => ({ ...c, fallback: true }));
  return { plan: { strategy: 'spill', primary: [candidate], fallback: back }, canary: side };
}
