/** The Anthropic Messages surface: /v1/messages (+ streaming), count_tokens, model pages. */
import type { IncomingMessage } from 'node:http';
import { composeAnswer, preferredTool, splitText, textPieces, type Answer, type ToolOffer } from './answer.js';
import { CREATED_AT_MS, MODELS } from './catalog.js';
import { retryAfterSeconds, rfc3339Seconds, withThousands } from './formats.js';
import { describeDimension, type KeyBuckets } from './limiter.js';
import { levelAt, msUntilFull, type Bucket } from './bucket.js';
import { answerMerged, asksForAnswerList, mergedAnswer } from './merged.js';
import { anthropicPrompt, type PromptFacts } from './prompt.js';
import type { ErrorKind, ErrorReply, Frame, ParseResult, RateLimitContext, Reply, ReplyContext, Surface } from './surface.js';

type Json = Record<string, unknown>;

const ERROR_TYPES: Record<ErrorKind, [number, string]> = {
  invalid_request: [400, 'invalid_request_error'],
  authentication: [401, 'authentication_error'],
  permission: [403, 'permission_error'],
  not_found: [404, 'not_found_error'],
  overloaded: [529, 'overloaded_error'],
  server: [500, 'api_error'],
};

function errorBody(type: string, message: string, requestId: string): string {
  return JSON.stringify({ type: 'error', error: { type, message }, request_id: requestId });
}

function bucketHeaders(headers: Record<string, string>, name: string, limit: number, b: Bucket, now: number): void {
  headers[`anthropic-ratelimit-${name}-limit`] = String(limit);
  headers[`anthropic-ratelimit-${name}-remaining`] = String(Math.max(0, Math.floor(levelAt(b, now))));
  headers[`anthropic-ratelimit-${name}-reset`] = rfc3339Seconds(now + msUntilFull(b, now));
}

export const anthropicSurface: Surface = {
  requestIdHeader: 'request-id',

  credential(req: IncomingMessage): string | undefined {
    const apiKey = req.headers['x-api-key'];
    if (typeof apiKey === 'string') return apiKey;
    const auth = req.headers.authorization;
    return auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
  },

  error(kind, message, requestId): ErrorReply {
    const [status, type] = ERROR_TYPES[kind];
    return { status, body: errorBody(type, message, requestId) };
  },

  unauthorized(requestId): ErrorReply {
    return { status: 401, body: errorBody('authentication_error', 'invalid x-api-key', requestId) };
  },

  rateLimited(ctx: RateLimitContext): ErrorReply {
    const { refusal, limits } = ctx;
    const limit = limits[refusal.dimension] ?? 0;
    const { noun, per } = describeDimension(refusal.dimension);
    const enforced = per === 'minute' && ctx.capacity < limit ? ` (enforced as a bucket of at most ${withThousands(ctx.capacity)} at once)` : '';
    if (refusal.never) {
      const message =
        `This request needs ${withThousands(refusal.requested)} ${noun}, more than your rate limit of ${withThousands(limit)} ` +
        `${noun} per ${per}${enforced} can ever admit. Please reduce the prompt length or the maximum tokens requested.`;
      return { status: 429, body: errorBody('rate_limit_error', message, ctx.requestId), headers: { 'x-should-retry': 'false' } };
    }
    const message =
      `This request would exceed your rate limit of ${withThousands(limit)} ${noun} per ${per}${enforced} ` +
      `(model: ${ctx.model}). You can see the response headers for current usage. Please try again later.`;
    return {
      status: 429,
      body: errorBody('rate_limit_error', message, ctx.requestId),
      headers: { 'retry-after': String(retryAfterSeconds(refusal.waitMs)) },
    };
  },

  limitHeaders(buckets: KeyBuckets, limits, now): Record<string, string> {
    const headers: Record<string, string> = {};
    if (buckets.rpm) bucketHeaders(headers, 'requests', limits.rpm!, buckets.rpm, now);
    if (buckets.itpm) bucketHeaders(headers, 'input-tokens', limits.itpm!, buckets.itpm, now);
    if (buckets.otpm) bucketHeaders(headers, 'output-tokens', limits.otpm!, buckets.otpm, now);
    if (buckets.tpm) {
      bucketHeaders(headers, 'tokens', limits.tpm!, buckets.tpm, now);
    } else if (buckets.itpm && buckets.otpm) {
      // Without a combined limit the tokens headers are the sum of input and output (as observed).
      const input = buckets.itpm;
      const output = buckets.otpm;
      headers['anthropic-ratelimit-tokens-limit'] = String(limits.itpm! + limits.otpm!);
      headers['anthropic-ratelimit-tokens-remaining'] = String(
        Math.max(0, Math.floor(levelAt(input, now))) + Math.max(0, Math.floor(levelAt(output, now))),
      );
      headers['anthropic-ratelimit-tokens-reset'] = rfc3339Seconds(now + Math.max(msUntilFull(input, now), msUntilFull(output, now)));
    }
    return headers;
  },

  midStreamError(): string {
    return sse('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  },
};

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function invalid(message: string, requestId: string): ErrorReply {
  return anthropicSurface.error('invalid_request', message, requestId);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The roles a message may have: the newest API (and Claude Code, between turns) also takes system
 * messages in the conversation; anything else is refused in the API's own words.
 */
const ROLES = new Set(['user', 'assistant', 'system']);

/** Checks shared by /v1/messages and count_tokens; returns an error message or undefined. */
function checkCommon(body: Json): string | undefined {
  if (typeof body['model'] !== 'string' || body['model'] === '') return 'model: Field required';
  const messages = body['messages'];
  if (!Array.isArray(messages)) return 'messages: Field required';
  if (messages.length === 0) return 'messages: at least one message is required';
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i];
    if (!isObject(m) || typeof m['role'] !== 'string' || !ROLES.has(m['role'])) {
      return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    }
    if (typeof m['content'] !== 'string' && !Array.isArray(m['content'])) return `messages.${i}.content: Field required`;
  }
  if (body['tools'] !== undefined && !Array.isArray(body['tools'])) return 'tools: Input should be a valid list';
  return undefined;
}

/** The tool the simulated model calls, or undefined to answer in prose; a string is an error. */
function chooseTool(body: Json, facts: PromptFacts): ToolOffer | undefined | string {
  const tools = Array.isArray(body['tools']) ? body['tools'].filter(isObject) : [];
  if (tools.length === 0 || facts.toolResult !== undefined) return undefined;
  const choice = isObject(body['tool_choice']) ? body['tool_choice'] : { type: 'auto' };
  if (choice['type'] === 'none') return undefined;
  const named = choice['type'] === 'tool' ? tools.find((t) => t['name'] === choice['name']) : preferredTool(tools, (t) => t['name'], facts.request);
  if (!named) return choice['type'] === 'tool' ? `tool_choice: tool '${String(choice['name'])}' is not among the tools` : undefined;
  return { name: String(named['name']), schema: named['input_schema'], request: facts.request };
}

const STOP_REASONS = { end: 'end_turn', max_tokens: 'max_tokens', tool: 'tool_use' } as const;

function usage(inputTokens: number, outputTokens: number): Json {
  return {
    input_tokens: inputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens: outputTokens,
    service_tier: 'standard',
  };
}

function render(answer: Answer, model: string, inputTokens: number, stream: boolean, ctx: ReplyContext): Reply {
  const id = `msg_sim${ctx.uniqueId()}`;
  const toolId = answer.tool ? `toolu_sim${ctx.uniqueId()}` : '';
  const stopReason = STOP_REASONS[answer.stop];
  if (!stream) {
    const content: Json[] = [];
    if (answer.words.length > 0) content.push({ type: 'text', text: answer.words.join(' '), citations: null });
    if (answer.tool) content.push({ type: 'tool_use', id: toolId, name: answer.tool.name, input: answer.tool.input });
    const message = {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      usage: usage(inputTokens, answer.outputTokens),
    };
    return { contentType: 'application/json', frames: [{ text: JSON.stringify(message), tokens: answer.outputTokens }], outputTokens: answer.outputTokens, firstDelta: 0 };
  }
  const frames: Frame[] = [];
  const start = { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: usage(inputTokens, 1) };
  frames.push({ text: sse('message_start', { type: 'message_start', message: start }), tokens: 0 });
  let index = 0;
  let firstDelta = -1;
  const block = (contentBlock: Json, deltas: Json[], tokens: number[]): void => {
    frames.push({ text: sse('content_block_start', { type: 'content_block_start', index, content_block: contentBlock }), tokens: 0 });
    if (index === 0) frames.push({ text: sse('ping', { type: 'ping' }), tokens: 0 });
    deltas.forEach((delta, i) => {
      if (firstDelta < 0 && (tokens[i] ?? 0) > 0) firstDelta = frames.length;
      frames.push({ text: sse('content_block_delta', { type: 'content_block_delta', index, delta }), tokens: tokens[i] ?? 0 });
    });
    frames.push({ text: sse('content_block_stop', { type: 'content_block_stop', index }), tokens: 0 });
    index++;
  };
  if (answer.words.length > 0) {
    const pieces = textPieces(answer.words);
    block(
      { type: 'text', text: '' },
      pieces.map((text) => ({ type: 'text_delta', text })),
      pieces.map((p) => p.trim().split(' ').length),
    );
  }
  if (answer.tool) {
    const parts = splitText(answer.tool.json, 4);
    const each = Math.floor(answer.tool.tokens / parts.length);
    const tokens = [0, ...parts.map((_, i) => (i === parts.length - 1 ? answer.tool!.tokens - each * (parts.length - 1) : each))];
    block(
      { type: 'tool_use', id: toolId, name: answer.tool.name, input: {} },
      ['', ...parts].map((partial_json) => ({ type: 'input_json_delta', partial_json })),
      tokens,
    );
  }
  frames.push({
    text: sse('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: usage(inputTokens, answer.outputTokens),
    }),
    tokens: 0,
  });
  frames.push({ text: sse('message_stop', { type: 'message_stop' }), tokens: 0 });
  return { contentType: 'text/event-stream; charset=utf-8', frames, outputTokens: answer.outputTokens, firstDelta: Math.max(0, firstDelta) };
}

export function parseMessages(body: Json, requestId: string): ParseResult {
  const problem = checkCommon(body);
  if (problem) return invalid(problem, requestId);
  const maxTokens = body['max_tokens'];
  if (maxTokens === undefined) return invalid('max_tokens: Field required', requestId);
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1) {
    return invalid('max_tokens: Input should be a valid integer greater than or equal to 1', requestId);
  }
  const facts = anthropicPrompt(body);
  const tool = chooseTool(body, facts);
  if (typeof tool === 'string') return invalid(tool, requestId);
  const model = body['model'] as string;
  const stream = body['stream'] === true;
  const choice = body['tool_choice'];
  const forced = tool !== undefined && isObject(choice) && choice['type'] === 'tool' && asksForAnswerList(tool.schema);
  return {
    model,
    stream,
    demand: { inputTokens: facts.inputTokens, generates: true, maxTokens },
    reply(ctx) {
      if (forced) {
        // A merged call: answered item by item as each prompt alone (merged.ts).
        const { tools: _tools, tool_choice: _choice, ...plain } = body;
        const call = answerMerged({ messages: body['messages'] as unknown[], plain, factsOf: anthropicPrompt, maxTokens, fixedLength: ctx.fixedLength });
        if (call) return render(mergedAnswer(call, tool.name, ctx.mergeAnswers ?? 'follow', maxTokens), model, facts.inputTokens, stream, ctx);
      }
      const answer = composeAnswer({
        hash: facts.hash,
        maxTokens,
        fixedLength: ctx.fixedLength,
        tool,
        preamble: true,
        toolResult: facts.toolResult,
        request: facts.request,
      });
      return render(answer, model, facts.inputTokens, stream, ctx);
    },
  };
}

/** count_tokens: the same estimate that /v1/messages charges and reports. */
export function countTokens(body: Json, requestId: string): ErrorReply {
  const problem = checkCommon(body);
  if (problem) return invalid(problem, requestId);
  return { status: 200, body: JSON.stringify({ input_tokens: anthropicPrompt(body).inputTokens }) };
}

function modelInfo(m: (typeof MODELS)[number]): Json {
  return { type: 'model', id: m.id, display_name: m.displayName, created_at: new Date(CREATED_AT_MS).toISOString() };
}

/** GET /v1/models in Anthropic's page shape, honouring limit / after_id / before_id. */
export function modelsPage(query: URLSearchParams): string {
  let list = [...MODELS];
  const after = query.get('after_id');
  const before = query.get('before_id');
  if (after) list = list.slice(list.findIndex((m) => m.id === after) + 1);
  if (before) list = list.slice(0, Math.max(0, list.findIndex((m) => m.id === before)));
  const limit = Math.max(1, Math.min(1000, Number(query.get('limit') ?? 20) || 20));
  const page = list.slice(0, limit);
  return JSON.stringify({
    data: page.map(modelInfo),
    has_more: list.length > page.length,
    first_id: page[0]?.id ?? null,
    last_id: page[page.length - 1]?.id ?? null,
  });
}

export function modelOne(id: string): string | undefined {
  const m = MODELS.find((x) => x.id === id);
  return m && JSON.stringify(modelInfo(m));
}
