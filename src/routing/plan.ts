import type { RouteConfig, TargetConfig } from '../config/schema.js';
import type { RequestFeatures } from './features.js';
import { firstMatchingRule } from './rules.js';
import { chooseTier } from './tiers.js';

/** One place a request may go: a provider and the model name to ask it for. */
export interface Candidate {
  provider: string;
  model: string;
  /** Whether this candidate came from the route's fallback list. */
  fallback: boolean;
  /** Share of traffic for `weighted` routes. */
  weight?: number;
}

/** Route names may be exact model names or glob patterns with `*`; "*" matches everything. */
function matches(pattern: string, model: string): boolean {
  if (!pattern.includes('*')) return pattern === model;
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return regex.test(model);
}

/** The name of the route for a model: an exact name first, then patterns in config order, "*" last. */
export function findRouteName(routes: Record<string, RouteConfig>, model: string): string | undefined {
  if (Object.hasOwn(routes, model)) return model;
  const patterns = Object.keys(routes).filter((name) => name.includes('*') && name !== '*');
  return patterns.find((pattern) => matches(pattern, model)) ?? (Object.hasOwn(routes, '*') ? '*' : undefined);
}

/** The route for a model (findRouteName). */
export function findRoute(routes: Record<string, RouteConfig>, model: string): RouteConfig | undefined {
  const name = findRouteName(routes, model);
  return name === undefined ? undefined : routes[name];
}

const toCandidate = (model: string, fallback: boolean) => (target: TargetConfig): Candidate => ({
  provider: target.provider,
  model: target.model ?? model,
  fallback,
  weight: target.weight ?? 1,
});

/** The ordered candidates for a request: the route's targets, then its fallback chain. */
export function planRoute(route: RouteConfig, model: string): Candidate[] {
  return [...route.targets.map(toCandidate(model, false)), ...route.fallback.map(toCandidate(model, true))];
}

/** A request's plan: primary candidates (tried first), fallbacks (on failure or a missed deadline), and why. */
export interface Plan {
  strategy: 'spill' | 'weighted';
  primary: Candidate[];
  fallback: Candidate[];
  /** Set when a rule chose the target: `rule N`. */
  rule?: string;
  /** Set when tiering changed the first target's model. */
  tier?: { model: string; remaining: number };
}

export interface PlanContext {
  features: RequestFeatures;
  /** The share of a provider's quota left now (0..1), for tiering. */
  remainingShare(provider: string): number;
}

/**
 * planRequest(route, request, quotas) → candidates. Pure: rules first (the first match replaces
 * the route's targets), else the targets with tiering applied to the first one; the fallback chain
 * always follows.
 */
export function planRequest(route: RouteConfig, model: string, ctx: PlanContext): Plan {
  const fallback = route.fallback.map(toCandidate(model, true));
  const matched = firstMatchingRule(route.rules, ctx.features);
  if (matched) {
    return { strategy: 'spill', primary: [toCandidate(model, false)(matched.rule.target)], fallback, rule: `rule ${matched.index}` };
  }
  const primary = route.targets.map(toCandidate(model, false));
  const plan: Plan = { strategy: route.strategy, primary, fallback };
  if (route.tiers.length > 0 && primary.length > 0) {
    const first = primary[0]!;
    const remaining = ctx.remainingShare(first.provider);
    const tier = chooseTier(route.tiers, remaining)!;
    primary[0] = { ...first, provider: tier.provider ?? first.provider, model: tier.model };
    plan.tier = { model: tier.model, remaining };
  }
  return plan;
}
