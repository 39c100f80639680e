import type { RouteConfig, TargetConfig } from '../config/schema.js';

/** One place a request may go: a provider and the model name to ask it for. */
export interface Candidate {
  provider: string;
  model: string;
  /** Whether this candidate came from the route's fallback list. */
  fallback: boolean;
}

/** Route names may be exact model names or glob patterns with `*`; "*" matches everything. */
function matches(pattern: string, model: string): boolean {
  if (!pattern.includes('*')) return pattern === model;
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return regex.test(model);
}

/** The route for a model: an exact name first, then patterns in config order, "*" last. */
export function findRoute(routes: Record<string, RouteConfig>, model: string): RouteConfig | undefined {
  if (Object.hasOwn(routes, model)) return routes[model];
  const patterns = Object.keys(routes).filter((name) => name.includes('*') && name !== '*');
  const name = patterns.find((pattern) => matches(pattern, model)) ?? (Object.hasOwn(routes, '*') ? '*' : undefined);
  return name === undefined ? undefined : routes[name];
}

const toCandidate = (model: string, fallback: boolean) => (target: TargetConfig): Candidate => ({
  provider: target.provider,
  model: target.model ?? model,
  fallback,
});

/** The ordered candidates for a request: the route's targets, then its fallback chain. */
export function planRoute(route: RouteConfig, model: string): Candidate[] {
  return [...route.targets.map(toCandidate(model, false)), ...route.fallback.map(toCandidate(model, true))];
}
