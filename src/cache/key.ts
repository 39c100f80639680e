/**
 * The exact-cache key: a sha256 of a canonical form of everything that determines the answer.
 *
 * Fields are kept by default and only known answer-neutral ones are dropped, so a field added to
 * an API later (a new sampling knob, `thinking`, `reasoning_effort` …) splits the key instead of
 * silently serving an answer produced under different settings.
 */
import { createHash } from 'node:crypto';
import type { Surface } from '../protocol/surface.js';

export interface KeyInput {
  surface: Surface;
  /**
   * Who may share the entry: the client key's owner id (a tenant id once tenants exist), or ''
   * when the operator shares the cache across clients. Entries of one scope never answer another.
   */
  scope: string;
  /**
   * The routing decision: the targets (`provider/model`) whose answers this request may be
   * served, as planned for it; stands in for `body.model`, so a rule, tier or alias that sends
   * the request elsewhere reads other entries.
   */
  plan: string;
  body: Record<string, unknown>;
  /** Request headers that change the answer (e.g. `anthropic-beta`); names are lower-cased. */
  vary?: Record<string, string | undefined>;
  /** Applied to every string of the prompt (cache/code-normalizer.ts, with `cache.exact.normalize_code`). */
  normalizeText?: (text: string) => string;
}

/** The fields that carry the prompt, in every surface's shape. */
const PROMPT_FIELDS = new Set(['messages', 'system', 'input', 'instructions', 'contents', 'systemInstruction', 'prompt']);

/** Top-level request fields that change delivery, billing or bookkeeping, not the answer. */
const ANSWER_NEUTRAL_FIELDS = new Set([
  'model', // replaced by KeyInput.plan
  'stream',
  'stream_options',
  'metadata',
  'user',
  'safety_identifier',
  'prompt_cache_key',
  'store',
  'cache_control',
]);

/** Bump when the canonical form changes, so old entries in a shared store stop matching. */
const KEY_VERSION = 'spillway-cache-v2';

export function exactKey(input: KeyInput): string {
  return sha256(canonicalJson(keyMaterial(input)));
}

/** What `exactKey` hashes; exported so the semantic cache can reuse it minus the prompt. */
export function keyMaterial(input: KeyInput): unknown[] {
  const vary: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.vary ?? {})) {
    if (value !== undefined) vary[name.toLowerCase()] = value;
  }
  const fields = answerFields(input.body);
  if (!input.normalizeText) return [KEY_VERSION, input.scope, input.surface, input.plan, vary, fields];
  // Marked, so that a prompt normalized here never reads the entry of one that merely looks like it.
  return [KEY_VERSION, 'code-normalized', input.scope, input.surface, input.plan, vary, normalizePrompt(fields, input.normalizeText)];
}

function normalizePrompt(fields: Record<string, unknown>, normalize: (text: string) => string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(fields)) out[field] = PROMPT_FIELDS.has(field) ? mapStrings(value, normalize) : value;
  return out;
}

function mapStrings(value: unknown, fn: (text: string) => string): unknown {
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, fn));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, fn)]));
  return value;
}

/** The body without answer-neutral fields and without prompt-caching markers. */
export function answerFields(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(body)) {
    if (ANSWER_NEUTRAL_FIELDS.has(field)) continue;
    if (field === 'system' || field === 'tools') out[field] = withoutCacheControl(value);
    else if (field === 'messages') out[field] = Array.isArray(value) ? value.map(messageWithoutCacheControl) : value;
    else out[field] = value;
  }
  return out;
}

// Anthropic `cache_control` breakpoints move between turns (Claude Code does this) but only
// change pricing; they are removed from blocks, never from inside JSON schemas or tool inputs.
function messageWithoutCacheControl(message: unknown): unknown {
  if (!isObject(message)) return message;
  const { content, ...rest } = message;
  return content === undefined ? rest : { ...rest, content: withoutCacheControl(content) };
}

function withoutCacheControl(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  return value.map((block) => {
    if (!isObject(block)) return block;
    const { cache_control: _dropped, ...rest } = block;
    if (block['type'] === 'tool_result' && Array.isArray(rest['content'])) {
      rest['content'] = withoutCacheControl(rest['content']);
    }
    return rest;
  });
}

/** JSON with object keys sorted at every depth; `undefined` members are dropped as JSON does. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : sortKeys(item)));
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const member = value[key];
      if (member !== undefined) out[key] = sortKeys(member);
    }
    return out;
  }
  if (typeof value === 'number' && Object.is(value, -0)) return 0;
  return value;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface CachePolicy {
  /** Cache answers sampled at temperature > 0 (they are one draw among many). */
  cacheNonZeroTemperature: boolean;
}

/**
 * Whether an answer to this request may be stored and served again. Both APIs default the
 * temperature to 1, so a request without one counts as sampled. n > 1 asks for several different
 * answers and is never cached.
 */
export function isCacheable(body: Record<string, unknown>, policy: CachePolicy): boolean {
  const n = body['n'];
  if (typeof n === 'number' && n > 1) return false;
  const temperature = typeof body['temperature'] === 'number' ? body['temperature'] : 1;
  return temperature <= 0 || policy.cacheNonZeroTemperature;
}
