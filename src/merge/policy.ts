/**
 * Which requests may share one upstream call ("prompt merging"), as pure functions over pivot
 * requests: a request qualifies when it is small, plain (no tools, no streaming, no structured
 * output of its own) and ends in one user message of text; requests group when everything but that
 * last message is equal. Nothing here sends anything.
 */
import { rawInputTokens } from '../quota/estimate.js';
import type { PivotRequest } from '../pivot/index.js';

/** A route's `merge` setting. */
export interface MergePolicy {
  /** Requests per merged call (at least 2 for merging to happen). */
  max: number;
  /** Only requests whose prompt is estimated under this many input tokens are merged. */
  maxInputTokens: number;
}

/** Fields that change what one answer is or how it is delivered: a request with any of them is sent alone. */
const DISQUALIFYING = ['tools', 'tool_choice', 'functions', 'function_call', 'response_format', 'stream', 'stream_options', 'n', 'logprobs', 'top_logprobs', 'prediction', 'audio', 'modalities', 'parallel_tool_calls'];

/** The text of the last user message, when it is one plain text (a string or exactly one text part). */
export function lastUserText(request: PivotRequest): string | undefined {
  const last = request.messages.at(-1);
  if (!last || last.role !== 'user') return undefined;
  if (typeof last.content === 'string') return last.content;
  if (Array.isArray(last.content) && last.content.length === 1) {
    const part = last.content[0] as unknown as Record<string, unknown>;
    if (part['type'] === 'text' && typeof part['text'] === 'string' && Object.keys(part).length === 2) return part['text'];
  }
  return undefined;
}

/** Why a request cannot be merged, or undefined when it can. */
export function ineligibility(request: PivotRequest, policy: MergePolicy): string | undefined {
  if (policy.max < 2) return 'merging off';
  const body = request as unknown as Record<string, unknown>;
  for (const field of DISQUALIFYING) {
    const value = body[field];
    if (value === undefined || value === null || value === false) continue;
    if (field === 'n' && value === 1) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    return field;
  }
  if (lastUserText(request) === undefined) return 'last message is not one user text';
  // A conversation with tool calls in it is not "independent small work".
  if (request.messages.some((m) => m.role === 'tool' || (m.role === 'assistant' && (m.tool_calls?.length ?? 0) > 0))) return 'tool turns';
  if (rawInputTokens(body) >= policy.maxInputTokens) return 'too long';
  return undefined;
}

/**
 * How long a request on the interactive path may wait for partners: the route's window, never
 * more than half of what it allows itself in all (the rest is for the call), 0 for no wait.
 */
export function partnerWaitMs(windowMs: number, maxWaitMs: number): number {
  return Math.max(0, Math.min(windowMs, maxWaitMs / 2));
}

/** JSON with object keys sorted, so two equal requests built in different orders compare equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** What must be equal for two requests to share a call: everything but the last message. */
export function groupKey(request: PivotRequest): string {
  return canonicalJson({ ...request, messages: request.messages.slice(0, -1) });
}

export interface Candidate<T> {
  item: T;
  /** The request in the pivot's shape, or undefined when it could not be read (sent alone). */
  request: PivotRequest | undefined;
  /** Callers that must never share a call (other clients, other batches) differ here. */
  scope: string;
  /** The route's merge policy, or undefined when its route does not merge. */
  policy: MergePolicy | undefined;
}

/**
 * Partitions requests into groups to send as one call each: eligible requests with the same scope
 * and group key, at most `policy.max` per group, in arrival order; everything else alone (a group
 * of one). Every item appears in exactly one group.
 */
export function selectGroups<T>(candidates: Candidate<T>[]): T[][] {
  const groups: T[][] = [];
  const open = new Map<string, { items: T[]; max: number }>();
  for (const c of candidates) {
    if (!c.request || !c.policy || ineligibility(c.request, c.policy) !== undefined) {
      groups.push([c.item]);
      continue;
    }
    const key = `${c.scope}\u0000${groupKey(c.request)}`;
    let group = open.get(key);
    if (!group) {
      group = { items: [], max: c.policy.max };
      open.set(key, group);
      groups.push(group.items);
    }
    group.items.push(c.item);
    if (group.items.length >= group.max) open.delete(key);
  }
  return groups;
}

/**
 * Splits an integer total in proportion to weights, by largest remainder: the parts are integers
 * that sum to exactly `total`. All-zero weights split evenly.
 */
export function apportion(total: number, weights: number[]): number[] {
  if (weights.length === 0) return [];
  const whole = Math.max(0, Math.round(total));
  const sum = weights.reduce((a, b) => a + Math.max(0, b), 0);
  const exact = weights.map((w) => (sum > 0 ? (Math.max(0, w) / sum) * whole : whole / weights.length));
  const parts = exact.map(Math.floor);
  let left = whole - parts.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, frac: x - Math.floor(x) })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) parts[order[k]!.i]! += 1;
  return parts;
}
