/** The OpenAI surface: /v1/chat/completions (+ streaming), /v1/embeddings, the model list. */
import type { IncomingMessage } from 'node:http';
import { composeAnswer, preferredTool, splitText, textPieces, type Answer, type ToolOffer } from './answer.js';
import { levelAt, msUntilFull, type Bucket } from './bucket.js';
import { CREATED_AT_MS, MODELS } from './catalog.js';
import { DEFAULT_DIMENSIONS, embed, toBase64 } from './embedding.js';
import { goDuration, retryAfterSeconds } from './formats.js';
import type { Dimension, KeyBuckets } from './limiter.js';
import { answerMerged, asksForAnswerList, mergedAnswer, mergedArguments } from './merged.js';
import { embeddingInputTokens, openaiPrompt, type PromptFacts } from './prompt.js';
import type { ErrorKind, ErrorReply, Frame, ParseResult, RateLimitContext, Reply, ReplyContext, Surface } from './surface.js';

type Json = Record<string, unknown>;

/** Output tokens reserved in 'max_tokens' mode when the request sets no cap. */
export const DEFAULT_RESERVED_OUTPUT = 4096;

const ERROR_TYPES: Record<ErrorKind, [number, string]> = {
  invalid_request: [400, 'invalid_request_error'],
  authentication: [401, 'invalid_request_error'],
  permission: [403, 'invalid_request_error'],
  not_found: [404, 'invalid_request_error'],
  overloaded: [503, 'server_error'],
  server: [500, 'server_error'],
};

function errorBody(message: string, type: string, param: string | null, code: string | null): string {
  return JSON.stringify({ error: { message, type, param, code } });
}

function invalid(message: string, param: string | null = null, code: string | null = null): ErrorReply {
  return { status: 400, body: errorBody(message, 'invalid_request_error', param, code) };
}

const LABELS: Record<Dimension, string> = {
  rpm: 'requests per min (RPM)',
  rpd: 'requests per day (RPD)',
  itpm: 'input tokens per min (ITPM)',
  otpm: 'output tokens per min (OTPM)',
  tpm: 'tokens per min (TPM)',
};

function bucketHeaders(headers: Record<string, string>, name: string, limit: number, b: Bucket, now: number): void {
  headers[`x-ratelimit-limit-${name}`] = String(limit);
  headers[`x-ratelimit-remaining-${name}`] = String(Math.max(0, Math.floor(levelAt(b, now))));
  headers[`x-ratelimit-reset-${name}`] = goDuration(msUntilFull(b, now));
}

export const openaiSurface: Surface = {
  requestIdHeader: 'x-request-id',

  credential(req: IncomingMessage): string | undefined {
    const auth = req.headers.authorization;
    return auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
  },

  error(kind, message, _requestId, param): ErrorReply {
    const [status, type] = ERROR_TYPES[kind];
    return { status, body: errorBody(message, type, param ?? null, null) };
  },

  unauthorized(): ErrorReply {
    const message = 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.';
    return { status: 401, body: errorBody(message, 'invalid_request_error', null, 'invalid_api_key') };
  },

  rateLimited(ctx: RateLimitContext): ErrorReply {
    const { refusal } = ctx;
    const limit = ctx.limits[refusal.dimension] ?? 0;
    const type = refusal.dimension === 'rpm' || refusal.dimension === 'rpd' ? 'requests' : 'tokens';
    const where = `${ctx.model} in organization org-sim on ${LABELS[refusal.dimension]}`;
    const visit = 'Visit https://platform.openai.com/account/rate-limits to learn more.';
    if (refusal.never) {
      const message = `Request too large for ${where}: Limit ${limit}, Requested ${refusal.requested}. The input or output tokens must be reduced in order to run successfully. ${visit}`;
      return { status: 429, body: errorBody(message, type, null, 'rate_limit_exceeded'), headers: { 'x-should-retry': 'false' } };
    }
    const used = Math.max(0, Math.ceil(ctx.capacity) - ctx.remaining);
    const message = `Rate limit reached for ${where}: Limit ${limit}, Used ${used}, Requested ${refusal.requested}. Please try again in ${goDuration(refusal.waitMs)}. ${visit}`;
    return {
      status: 429,
      body: errorBody(message, type, null, 'rate_limit_exceeded'),
      headers: { 'retry-after': String(retryAfterSeconds(refusal.waitMs)) },
    };
  },

  limitHeaders(buckets: KeyBuckets, limits, now): Record<string, string> {
    const headers: Record<string, string> = {};
    if (buckets.rpm) bucketHeaders(headers, 'requests', limits.rpm!, buckets.rpm, now);
    else if (buckets.rpd) bucketHeaders(headers, 'requests', limits.rpd!, buckets.rpd, now);
    if (buckets.tpm) bucketHeaders(headers, 'tokens', limits.tpm!, buckets.tpm, now);
    else if (buckets.itpm) bucketHeaders(headers, 'tokens', limits.itpm!, buckets.itpm, now);
    return headers;
  },

  midStreamError(): string {
    return `data: ${errorBody('The server had an error while processing your request. Sorry about that!', 'server_error', null, null)}\n\n`;
  },
};

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);

function chooseTool(body: Json, facts: PromptFacts): ToolOffer | undefined | ErrorReply {
  const tools = Array.isArray(body['tools']) ? body['tools'].filter(isObject) : [];
  if (tools.length === 0 || facts.toolResult !== undefined) return undefined;
  const choice = body['tool_choice'];
  if (choice === 'none') return undefined;
  const functions = tools.map((t) => t['function']).filter(isObject);
  const wanted = isObject(choice) && isObject(choice['function']) ? choice['function']['name'] : undefined;
  const fn = wanted === undefined ? preferredTool(functions, (f) => f['name'], facts.request) : functions.find((f) => f['name'] === wanted);
  if (!fn) return wanted === undefined ? undefined : invalid(`Invalid value for 'tool_choice': function '${String(wanted)}' is not among the tools.`, 'tool_choice');
  return { name: String(fn['name']), schema: fn['parameters'], request: facts.request };
}

const FINISH = { end: 'stop', max_tokens: 'length', tool: 'tool_calls' } as const;

function usage(input: number, output: number): Json {
  return {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: input + output,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

function render(answer: Answer, model: string, inputTokens: number, stream: boolean, includeUsage: boolean, ctx: ReplyContext): Reply {
  const id = `chatcmpl-sim${ctx.uniqueId()}`;
  const created = Math.floor(ctx.now / 1000);
  const finish = FINISH[answer.stop];
  const call = answer.tool && { id: `call_sim${ctx.uniqueId()}`, type: 'function', name: answer.tool.name, json: answer.tool.json };
  const text = answer.words.length > 0 ? answer.words.join(' ') : null;
  if (!stream) {
    const message: Json = { role: 'assistant', content: text, refusal: null, annotations: [] };
    if (call) message['tool_calls'] = [{ id: call.id, type: 'function', function: { name: call.name, arguments: call.json } }];
    const completion = {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
      usage: usage(inputTokens, answer.outputTokens),
      service_tier: 'default',
      system_fingerprint: 'fp_sim',
    };
    return { contentType: 'application/json', frames: [{ text: JSON.stringify(completion), tokens: answer.outputTokens }], outputTokens: answer.outputTokens, firstDelta: 0 };
  }
  const frames: Frame[] = [];
  const chunk = (delta: Json, finishReason: string | null, tokens: number): void => {
    const body: Json = {
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      service_tier: 'default',
      system_fingerprint: 'fp_sim',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    };
    if (includeUsage) body['usage'] = null;
    frames.push({ text: `data: ${JSON.stringify(body)}\n\n`, tokens });
  };
  let firstDelta = -1;
  if (call) {
    const first = { index: 0, id: call.id, type: 'function', function: { name: call.name, arguments: '' } };
    chunk({ role: 'assistant', content: null, refusal: null, tool_calls: [first] }, null, 0);
    const parts = splitText(call.json, 4);
    const each = Math.floor(answer.outputTokens / parts.length);
    parts.forEach((args, i) => {
      if (firstDelta < 0) firstDelta = frames.length;
      const tokens = i === parts.length - 1 ? answer.outputTokens - each * (parts.length - 1) : each;
      chunk({ tool_calls: [{ index: 0, function: { arguments: args } }] }, null, tokens);
    });
  } else {
    chunk({ role: 'assistant', content: '', refusal: null }, null, 0);
    for (const piece of textPieces(answer.words)) {
      if (firstDelta < 0) firstDelta = frames.length;
      chunk({ content: piece }, null, piece.trim().split(' ').length);
    }
  }
  chunk({}, finish, 0);
  if (includeUsage) {
    const body = { id, object: 'chat.completion.chunk', created, model, service_tier: 'default', system_fingerprint: 'fp_sim', choices: [], usage: usage(inputTokens, answer.outputTokens) };
    frames.push({ text: `data: ${JSON.stringify(body)}\n\n`, tokens: 0 });
  }
  frames.push({ text: 'data: [DONE]\n\n', tokens: 0 });
  return { contentType: 'text/event-stream; charset=utf-8', frames, outputTokens: answer.outputTokens, firstDelta: Math.max(0, firstDelta) };
}

function checkModel(body: Json): ErrorReply | undefined {
  if (typeof body['model'] !== 'string' || body['model'] === '') return invalid('you must provide a model parameter');
  return undefined;
}

export function parseChat(body: Json): ParseResult {
  const bad = checkModel(body);
  if (bad) return bad;
  const messages = body['messages'];
  if (messages === undefined) return invalid("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  if (!Array.isArray(messages)) return invalid("Invalid type for 'messages': expected an array.", 'messages', 'invalid_type');
  if (messages.length === 0) {
    return invalid("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'messages', 'empty_array');
  }
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i];
    if (!isObject(m) || typeof m['role'] !== 'string' || !ROLES.has(m['role'])) {
      return invalid(`Invalid value for 'messages[${i}].role'.`, `messages[${i}].role`, 'invalid_value');
    }
  }
  const capField = body['max_completion_tokens'] !== undefined && body['max_completion_tokens'] !== null ? 'max_completion_tokens' : 'max_tokens';
  const cap = body[capField];
  if (cap !== undefined && cap !== null && (typeof cap !== 'number' || !Number.isInteger(cap) || cap < 1)) {
    return invalid(`Invalid '${capField}': integer below minimum value. Expected a value >= 1.`, capField, 'integer_below_min_value');
  }
  const facts = openaiPrompt(body);
  const tool = chooseTool(body, facts);
  if (tool && 'status' in tool) return tool;
  const model = body['model'] as string;
  const stream = body['stream'] === true;
  const options = body['stream_options'];
  const includeUsage = stream && isObject(options) && options['include_usage'] === true;
  const maxTokens = typeof cap === 'number' ? cap : Infinity;
  const forced = tool !== undefined && isObject(body['tool_choice']) && asksForAnswerList(tool.schema);
  const format = body['response_format'];
  const schema = isObject(format) && format['type'] === 'json_schema' && isObject(format['json_schema']) ? format['json_schema']['schema'] : undefined;
  const structured = tool === undefined && asksForAnswerList(schema);
  return {
    model,
    stream,
    demand: { inputTokens: facts.inputTokens, generates: true, maxTokens: typeof cap === 'number' ? cap : DEFAULT_RESERVED_OUTPUT },
    reply(ctx) {
      if (forced || structured) {
        // A merged call: answered item by item as each prompt alone (merged.ts).
        const { tools: _tools, tool_choice: _choice, response_format: _format, ...plain } = body;
        const call = answerMerged({ messages, plain, factsOf: openaiPrompt, maxTokens, fixedLength: ctx.fixedLength });
        const behaviour = ctx.mergeAnswers ?? 'follow';
        if (call && forced) return render(mergedAnswer(call, tool.name, behaviour, maxTokens), model, facts.inputTokens, stream, includeUsage, ctx);
        if (call) {
          // JSON schema output: the same list as the message's text, one word per token.
          const { json } = mergedArguments(call, behaviour);
          const words = json.split(' ');
          const cut = call.cutShort || words.length > maxTokens;
          const kept = cut ? words.slice(0, Math.min(words.length, maxTokens)) : words;
          return render({ words: kept, outputTokens: kept.length, stop: cut ? 'max_tokens' : 'end' }, model, facts.inputTokens, stream, includeUsage, ctx);
        }
      }
      const answer = composeAnswer({ hash: facts.hash, maxTokens, fixedLength: ctx.fixedLength, tool, toolResult: facts.toolResult, request: facts.request });
      return render(answer, model, facts.inputTokens, stream, includeUsage, ctx);
    },
  };
}

export function parseEmbeddings(body: Json): ParseResult {
  const bad = checkModel(body);
  if (bad) return bad;
  const input = body['input'];
  if (input === undefined || input === null) return invalid("Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
  // A flat array of numbers is one tokenised input; any other array is a list of inputs.
  const inputs: unknown[] = Array.isArray(input) && !input.every((x) => typeof x === 'number') ? input : [input];
  if (inputs.length === 0) return invalid("'input' cannot be an empty array.", 'input', 'empty_array');
  if (inputs.length > 2048) return invalid("'input' must have at most 2048 items.", 'input', 'array_above_max_length');
  for (const item of inputs) {
    if (typeof item !== 'string' && !Array.isArray(item)) return invalid("Invalid type for 'input'.", 'input', 'invalid_type');
  }
  const format = body['encoding_format'] ?? 'float';
  if (format !== 'float' && format !== 'base64') return invalid("Invalid value for 'encoding_format': expected 'float' or 'base64'.", 'encoding_format', 'invalid_value');
  const dimensions = body['dimensions'] ?? DEFAULT_DIMENSIONS;
  if (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1 || dimensions > 4096) {
    return invalid("Invalid value for 'dimensions'.", 'dimensions', 'invalid_value');
  }
  let inputTokens = 0;
  for (const item of inputs) inputTokens += embeddingInputTokens(item);
  const model = body['model'] as string;
  return {
    model,
    stream: false,
    demand: { inputTokens, generates: false, maxTokens: 0 },
    reply() {
      const data = inputs.map((item, index) => {
        const vector = embed(item, dimensions);
        return { object: 'embedding', index, embedding: format === 'base64' ? toBase64(vector) : Array.from(vector) };
      });
      const text = JSON.stringify({ object: 'list', data, model, usage: { prompt_tokens: inputTokens, total_tokens: inputTokens } });
      return { contentType: 'application/json', frames: [{ text, tokens: 0 }], outputTokens: 0, firstDelta: 0 };
    },
  };
}

function modelObject(m: (typeof MODELS)[number]): Json {
  return { id: m.id, object: 'model', created: Math.floor(CREATED_AT_MS / 1000), owned_by: m.ownedBy };
}

export function modelList(): string {
  return JSON.stringify({ object: 'list', data: MODELS.map(modelObject) });
}

export function modelOne(id: string): string | undefined {
  const m = MODELS.find((x) => x.id === id);
  return m && JSON.stringify(modelObject(m));
}
