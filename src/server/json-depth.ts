/**
 * How deep a request body may nest. JSON.parse copes with any depth, but much of what follows
 * (JSON.stringify, the cache key, translation, schema checks) recurses and would overflow the stack
 * on a body of ten thousand nested arrays. Real requests (JSON schemas of tools, tool inputs) nest
 * a few dozen levels at most.
 */
import { GatewayError } from './errors.js';

export const MAX_JSON_DEPTH = 256;

/** Whether `value` nests objects or arrays more than `limit` levels deep; walks iteratively, so any depth is safe to ask about. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<{ value: object; depth: number }> = [];
  if (typeof value === 'object' && value !== null) stack.push({ value, depth: 1 });
  while (stack.length > 0) {
    const { value: node, depth } = stack.pop()!;
    if (depth > limit) return true;
    for (const child of Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push({ value: child as object, depth: depth + 1 });
    }
  }
  return false;
}

/** Refuses, as invalid, a parsed body nested deeper than MAX_JSON_DEPTH. */
export function checkJsonDepth(value: unknown): void {
  if (nestsDeeperThan(value, MAX_JSON_DEPTH)) {
    throw new GatewayError('invalid_request', `The request body is nested more than ${MAX_JSON_DEPTH} levels deep; objects and arrays may nest at most ${MAX_JSON_DEPTH} levels.`);
  }
}
