/**
 * Ingress: turn an HTTP request on a chat surface into a validated ChatRequest, or a GatewayError
 * that says exactly what is wrong. Only the fields spillway relies on are checked; everything else
 * passes through untouched for the provider to judge.
 */
import { z } from 'zod';
import { parseDuration } from '../config/schema.js';
import { GatewayError, type Surface } from './errors.js';

export type Priority = 'interactive' | 'batch';

export interface ChatRequest {
  surface: Surface;
  model: string;
  stream: boolean;
  /** The output allowance: `max_tokens` (required on Anthropic, optional on OpenAI). */
  maxTokens: number | undefined;
  body: Record<string, unknown>;
  /** The body exactly as the client sent it, forwarded when nothing has to change. */
  raw: Buffer;
}

const contentBlock = z.looseObject({ type: z.string() });
const anthropicMessage = z.looseObject({
  role: z.enum(['user', 'assistant']),
  content: z.union([z.string(), z.array(contentBlock)]),
});
const anthropicSchema = z.looseObject({
  model: z.string().min(1),
  max_tokens: z.number().int().positive(),
  messages: z.array(anthropicMessage).min(1),
  system: z.union([z.string(), z.array(contentBlock)]).optional(),
  stream: z.boolean().optional(),
  tools: z.array(z.looseObject({ name: z.string() })).optional(),
  stop_sequences: z.array(z.string()).optional(),
  temperature: z.number().min(0).max(1).optional(),
});
/** count_tokens takes the Messages body without max_tokens. */
const anthropicCountSchema = anthropicSchema.omit({ max_tokens: true, stream: true });

const openaiMessage = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: z.union([z.string(), z.array(contentBlock), z.null()]).optional(),
});
const openaiSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(openaiMessage).min(1),
  stream: z.boolean().optional(),
  max_tokens: z.number().int().positive().nullable().optional(),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
  n: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  tools: z.array(z.looseObject({ type: z.string() })).optional(),
});

function describeIssues(error: z.ZodError): { message: string; param: string } {
  const issue = error.issues[0]!;
  const param = issue.path.join('.');
  const missing = issue.code === 'invalid_type' && /received undefined/.test(issue.message);
  const detail = missing ? 'Field required' : issue.message;
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem${error.issues.length > 2 ? 's' : ''})` : '';
  return { message: `${param || 'body'}: ${detail}${more}`, param };
}

function parseJsonObject(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) throw new GatewayError('invalid_request', 'The request body is empty; expected a JSON object.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new GatewayError('invalid_request', `The request body is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new GatewayError('invalid_request', 'The request body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

function validate(schema: z.ZodType, body: Record<string, unknown>): void {
  const result = schema.safeParse(body);
  if (!result.success) {
    const { message, param } = describeIssues(result.error);
    throw new GatewayError('invalid_request', message, { param });
  }
}

export function parseChatRequest(surface: Surface, raw: Buffer): ChatRequest {
  const body = parseJsonObject(raw);
  validate(surface === 'anthropic' ? anthropicSchema : openaiSchema, body);
  if (surface === 'openai' && typeof body.n === 'number' && body.n > 1) {
    throw new GatewayError('invalid_request', 'n: only n=1 is supported', { param: 'n' });
  }
  const maxTokens =
    surface === 'anthropic'
      ? (body.max_tokens as number)
      : ((body.max_completion_tokens ?? body.max_tokens) as number | null | undefined) ?? undefined;
  return { surface, model: body.model as string, stream: body.stream === true, maxTokens, body, raw };
}

export function parseCountTokensRequest(raw: Buffer): Record<string, unknown> {
  const body = parseJsonObject(raw);
  validate(anthropicCountSchema, body);
  return body;
}

type HeaderValue = string | string[] | undefined;
const first = (value: HeaderValue): string | undefined => (Array.isArray(value) ? value[0] : value);

export function priorityOf(headers: Record<string, HeaderValue>): Priority {
  const value = first(headers['x-spillway-priority'])?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'interactive' || value === 'high') return 'interactive';
  if (value === 'batch' || value === 'low') return 'batch';
  throw new GatewayError('invalid_request', `x-spillway-priority: expected "interactive" or "batch", got "${value}"`);
}

/**
 * How long this request may wait for capacity: `x-spillway-max-wait`, else the official SDKs'
 * `x-stainless-timeout` less a share kept for the answer itself, else the configured default.
 * A bare number in a header means seconds, as in `retry-after`.
 */
export function maxWaitOf(headers: Record<string, HeaderValue>, configured: number): number {
  const explicit = first(headers['x-spillway-max-wait']);
  if (explicit !== undefined) {
    const ms = /^\s*\d+(\.\d+)?\s*$/.test(explicit) ? Number(explicit) * 1000 : parseDuration(explicit);
    if (ms === undefined) {
      throw new GatewayError('invalid_request', `x-spillway-max-wait: expected seconds or a duration like "30s", got "${explicit}"`);
    }
    return ms;
  }
  const sdkTimeout = Number(first(headers['x-stainless-timeout']));
  if (Number.isFinite(sdkTimeout) && sdkTimeout > 0) {
    // Leave the client a quarter of its timeout (at least 5 s) for the answer to be generated.
    const budget = sdkTimeout * 1000 - Math.max(5000, sdkTimeout * 250);
    return Math.max(0, budget);
  }
  return configured;
}
