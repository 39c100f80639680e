/**
 * Ingress: turn an HTTP request on a chat surface into a ChatRequest, or a GatewayError worded as
 * the provider words the same fault. Only the fields spillway relies on are checked (the model, the
 * message list, the output allowance); everything else passes through untouched for the provider
 * to judge.
 */
import { parseDuration } from '../config/schema.js';
import { anthropicFault, anthropicReader, InvalidRequest, openAIFault, openAIReader } from '../protocol/invalid.js';
import { GatewayError, invalidRequest } from './errors.js';
import type { ChatSurface, Surface } from '../protocol/surface.js';
import type { Priority } from '../quota/types.js';


export interface ChatRequest {
  surface: ChatSurface;
  model: string;
  stream: boolean;
  /** The output allowance: `max_tokens` (required on Anthropic, optional on OpenAI). */
  maxTokens: number | undefined;
  body: Record<string, unknown>;
  /** The body exactly as the client sent it, forwarded when nothing has to change. */
  raw: Buffer;
  /**
   * The body is spillway's translation from a surface no provider speaks (Responses → the pivot),
   * not the client's bytes: a provider of the body's own protocol gets it through its codec too.
   */
  translated?: boolean;
  /** What that translation could not carry, named in `x-spillway-dropped` with what the provider's drops. */
  dropped?: string[];
  /** The client's own request before translation, for a provider that serves its surface natively. */
  native?: { surface: Surface; body: Record<string, unknown>; raw: Buffer };
}

/**
 * The few fields spillway itself reads, checked in the provider's own words. Roles, block types,
 * tools, betas and every other field are the provider's to judge: tomorrow's request must pass.
 */
function checkAnthropic(body: Record<string, unknown>, needsMaxTokens: boolean): void {
  const model = anthropicReader.need(body.model, ['model'], 'string');
  if (model === '') throw new InvalidRequest(anthropicFault.other(['model'], 'String should have at least 1 character'));
  const messages = anthropicReader.need(body.messages, ['messages'], 'list');
  if (messages.length === 0) throw new InvalidRequest(anthropicFault.other(['messages'], 'at least one message is required'));
  if (!needsMaxTokens) return;
  const maxTokens = anthropicReader.need(body.max_tokens, ['max_tokens'], 'integer');
  if (maxTokens < 1) throw new InvalidRequest(anthropicFault.atLeast(['max_tokens'], 1));
}

function checkOpenAI(body: Record<string, unknown>): void {
  const model = openAIReader.need(body.model, ['model'], 'string');
  if (model === '') throw new InvalidRequest(openAIFault.missing(['model']));
  const messages = openAIReader.need(body.messages, ['messages'], 'list');
  if (messages.length === 0) throw new InvalidRequest(openAIFault.emptyArray(['messages']));
  for (const field of ['max_completion_tokens', 'max_tokens']) {
    const cap = openAIReader.may(body[field], [field], 'integer');
    if (cap !== undefined && cap < 1) throw new InvalidRequest(openAIFault.atLeast([field], 1, cap));
  }
}

/** The body as a JSON object; the faults worded as the caller's provider words them. */
export function parseJsonObject(surface: Surface, raw: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    const reason = raw.length === 0 ? 'the body is empty' : (error as Error).message;
    const message =
      surface === 'anthropic'
        ? `There was an error parsing the body: ${reason}`
        : surface === 'gemini'
          ? `Invalid JSON payload received. ${reason}`
          : "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)";
    throw new GatewayError('invalid_request', message);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    const message = { anthropic: 'Input should be a valid dictionary', gemini: 'Invalid JSON payload received. Expected an object.' }[surface as string] ?? 'The request body must be a JSON object.';
    throw new GatewayError('invalid_request', message);
  }
  return parsed as Record<string, unknown>;
}

function asGatewayError(error: unknown): unknown {
  return error instanceof InvalidRequest ? invalidRequest(error.fault) : error;
}

export function parseChatRequest(surface: ChatSurface, raw: Buffer): ChatRequest {
  const body = parseJsonObject(surface, raw);
  try {
    if (surface === 'anthropic') checkAnthropic(body, true);
    else checkOpenAI(body);
  } catch (error) {
    throw asGatewayError(error);
  }
  const maxTokens =
    surface === 'anthropic'
      ? (body.max_tokens as number)
      : ((body.max_completion_tokens ?? body.max_tokens) as number | null | undefined) ?? undefined;
  return { surface, model: body.model as string, stream: body.stream === true, maxTokens, body, raw };
}

/** A JSON body read by a surface's own parser, its faults worded as that surface's provider words them. */
export function parseBody<T>(surface: Surface, raw: Buffer, parse: (body: Record<string, unknown>) => T): T {
  const body = parseJsonObject(surface, raw);
  try {
    return parse(body);
  } catch (error) {
    throw asGatewayError(error);
  }
}

/** count_tokens takes what Messages takes, less max_tokens. */
export function parseCountTokensRequest(raw: Buffer): Record<string, unknown> {
  const body = parseJsonObject('anthropic', raw);
  try {
    checkAnthropic(body, false);
  } catch (error) {
    throw asGatewayError(error);
  }
  return body;
}

type HeaderValue = string | string[] | undefined;
const first = (value: HeaderValue): string | undefined => (Array.isArray(value) ? value[0] : value);

/** x-spillway-priority, else `fallback` (the tenant's default). */
export function priorityOf(headers: Record<string, HeaderValue>, fallback: Priority = 'interactive'): Priority {
  const value = first(headers['x-spillway-priority'])?.trim().toLowerCase();
  if (value === undefined || value === '') return fallback;
  if (value === 'interactive' || value === 'high') return 'interactive';
  if (value === 'batch' || value === 'low') return 'batch';
  throw new GatewayError('invalid_request', `x-spillway-priority: expected "interactive" or "batch", got "${value}"`);
}

/** A bare decimal number, as in `retry-after`: digits, an optional fraction, an optional exponent. */
const BARE_SECONDS = /^\s*\d+(\.\d+)?(e[+-]?\d+)?\s*$/i;

/**
 * How long this request may wait for capacity: `x-spillway-max-wait`, else the official SDKs'
 * `x-stainless-timeout` less a share kept for the answer itself, else the configured default.
 * A bare number in a header means seconds, as in `retry-after`. What a client asks is cut to
 * `cap` (queue.max_wait_cap): a request held longer only holds a socket and memory.
 */
export function maxWaitOf(headers: Record<string, HeaderValue>, configured: number, cap: number): number {
  const explicit = first(headers['x-spillway-max-wait']);
  if (explicit !== undefined) {
    const ms = BARE_SECONDS.test(explicit) ? Number(explicit) * 1000 : parseDuration(explicit);
    if (ms === undefined || !Number.isFinite(ms)) {
      throw new GatewayError('invalid_request', `x-spillway-max-wait: expected seconds or a duration like "30s", got "${explicit.slice(0, 64)}"`);
    }
    return Math.min(ms, cap);
  }
  const sdkTimeout = Number(first(headers['x-stainless-timeout']));
  if (Number.isFinite(sdkTimeout) && sdkTimeout > 0) {
    // Leave the client a quarter of its timeout (at least 5 s) for the answer to be generated.
    const budget = sdkTimeout * 1000 - Math.max(5000, sdkTimeout * 250);
    return Math.min(Math.max(0, budget), cap);
  }
  return configured;
}
