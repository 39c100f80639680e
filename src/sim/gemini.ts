/**
 * The Gemini surface (Generative Language API v1beta): `models/{m}:generateContent`,
 * `:streamGenerateContent` (SSE with `alt=sse`, else one JSON array sent piece by piece),
 * `:countTokens` and the model list. Wire facts: /work/shared/reference/wire-facts.md §8.
 *
 * Gemini is strict about its proto-JSON: unknown field names, JSON-Schema keywords in `parameters`
 * and broken turn order are 400 INVALID_ARGUMENT. The simulator enforces the documented cases so
 * that a translator sending garbage fails here instead of in production.
 */
import type { IncomingMessage } from 'node:http';
import { composeAnswer, type Answer, type ToolOffer } from './answer.js';
import { GEMINI_MODELS } from './catalog.js';
import { retryAfterSeconds, withThousands } from './formats.js';
import { describeDimension, type Dimension } from './limiter.js';
import { embed } from './embedding.js';
import { answerMerged, asksForAnswerList, mergedAnswer, type MergedCall } from './merged.js';
import { embeddingInputTokens, geminiPrompt } from './prompt.js';
import { fnv1a } from './random.js';
import type { ErrorKind, ErrorReply, Frame, ParseResult, RateLimitContext, Reply, ReplyContext, Surface } from './surface.js';

type Json = Record<string, unknown>;

/** How a generate call answers: one JSON object, SSE events, or a JSON array streamed in pieces. */
export type GeminiMode = 'unary' | 'sse' | 'array';

/** Output tokens reserved in 'max_tokens' mode when the request sets no maxOutputTokens. */
const DEFAULT_RESERVED_OUTPUT = 8192;

const STATUS: Record<ErrorKind, [number, string]> = {
  invalid_request: [400, 'INVALID_ARGUMENT'],
  authentication: [400, 'INVALID_ARGUMENT'],
  permission: [403, 'PERMISSION_DENIED'],
  not_found: [404, 'NOT_FOUND'],
  overloaded: [503, 'UNAVAILABLE'],
  server: [500, 'INTERNAL'],
};

// Google's error bodies are pretty-printed google.rpc.Status objects.
function errorReply(code: number, status: string, message: string, details?: Json[]): ErrorReply {
  const error: Json = { code, message, status };
  if (details && details.length > 0) error['details'] = details;
  return { status: code, body: `${JSON.stringify({ error }, null, 2)}\n` };
}

function invalid(message: string, field?: string): ErrorReply {
  const details = field ? [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field, description: message }] }] : undefined;
  return errorReply(400, 'INVALID_ARGUMENT', message, details);
}

const QUOTA: Record<Dimension, { id: string; metric: string }> = {
  rpm: { id: 'GenerateRequestsPerMinutePerProjectPerModel', metric: 'generate_content_requests' },
  rpd: { id: 'GenerateRequestsPerDayPerProjectPerModel', metric: 'generate_content_requests' },
  itpm: { id: 'GenerateContentInputTokensPerModelPerMinute', metric: 'generate_content_input_token_count' },
  otpm: { id: 'GenerateContentOutputTokensPerModelPerMinute', metric: 'generate_content_output_token_count' },
  tpm: { id: 'GenerateContentTokensPerModelPerMinute', metric: 'generate_content_token_count' },
};

const RATE_LIMIT_DOCS = 'https://ai.google.dev/gemini-api/docs/rate-limits';

export const geminiSurface: Surface = {
  // Google sends no request-id header; the simulator's own id is harmless and helps debugging.
  requestIdHeader: 'x-request-id',

  credential(req: IncomingMessage): string | undefined {
    const header = req.headers['x-goog-api-key'];
    if (typeof header === 'string' && header !== '') return header;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const key = q < 0 ? null : new URLSearchParams(url.slice(q + 1)).get('key');
    return key ? key : undefined;
  },

  error(kind, message): ErrorReply {
    const [code, status] = STATUS[kind];
    if (kind === 'overloaded') return errorReply(code, status, 'The model is overloaded. Please try again later.');
    if (kind === 'server') return errorReply(code, status, 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting');
    return errorReply(code, status, message);
  },

  unauthorized(_requestId, missing): ErrorReply {
    // No key at all is 403; a wrong key is 400 INVALID_ARGUMENT with reason API_KEY_INVALID (not a 401).
    if (missing) {
      return errorReply(
        403,
        'PERMISSION_DENIED',
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
      );
    }
    const message = 'API key not valid. Please pass a valid API key.';
    return errorReply(400, 'INVALID_ARGUMENT', message, [
      { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
      { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message },
    ]);
  },

  rateLimited(ctx: RateLimitContext): ErrorReply {
    const { refusal, limits } = ctx;
    const limit = limits[refusal.dimension] ?? 0;
    const quota = QUOTA[refusal.dimension];
    const metric = `generativelanguage.googleapis.com/${quota.metric}`;
    const violation = { quotaMetric: metric, quotaId: quota.id, quotaDimensions: { location: 'global', model: ctx.model }, quotaValue: String(limit) };
    const help = { '@type': 'type.googleapis.com/google.rpc.Help', links: [{ description: 'Learn more about Gemini API quotas', url: RATE_LIMIT_DOCS }] };
    const failure = { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [violation] };
    if (refusal.never) {
      const { noun, per } = describeDimension(refusal.dimension);
      const message =
        `The request needs ${withThousands(refusal.requested)} ${noun}, more than your quota of ${withThousands(limit)} ${noun} per ${per} ` +
        `can ever admit (model: ${ctx.model}). For more information on this error, head to: ${RATE_LIMIT_DOCS}.`;
      // No RetryInfo: waiting does not help.
      return errorReply(429, 'RESOURCE_EXHAUSTED', message, [help, failure]);
    }
    // Gemini sends no Retry-After or rate-limit headers: the wait lives only in the body (§8.5).
    const seconds = retryAfterSeconds(refusal.waitMs);
    const message =
      `You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: ${RATE_LIMIT_DOCS}.\n` +
      `* Quota exceeded for metric: ${metric}, limit: ${limit}, model: ${ctx.model}\nPlease retry in ${(refusal.waitMs / 1000).toFixed(3)}s.`;
    return errorReply(429, 'RESOURCE_EXHAUSTED', message, [help, failure, { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${seconds}s` }]);
  },

  limitHeaders: () => ({}),

  // After a 200 the error is appended raw and pretty-printed, with no `data:` prefix (§8.4).
  midStreamError: () => errorReply(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.').body,
};

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** functionDeclarations → function_declarations: error paths name fields in snake_case. */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The REST layer accepts both casings; checks work on lowerCamelCase. */
function camel(name: string): string {
  return name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function get(o: Json, name: string): unknown {
  return name in o ? o[name] : o[snake(name)];
}

function unknownName(o: Json, allowed: ReadonlySet<string>, at: string): ErrorReply | undefined {
  for (const key of Object.keys(o)) {
    if (!allowed.has(camel(key))) {
      const where = at === '' ? '' : ` at '${at}'`;
      return invalid(`Invalid JSON payload received. Unknown name "${key}"${where}: Cannot find field.`, at === '' ? key : at);
    }
  }
  return undefined;
}

const REQUEST_FIELDS = new Set(['model', 'contents', 'systemInstruction', 'tools', 'toolConfig', 'generationConfig', 'safetySettings', 'cachedContent']);
const CONTENT_FIELDS = new Set(['role', 'parts']);
const PART_DATA = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse', 'executableCode', 'codeExecutionResult'] as const;
const PART_FIELDS = new Set<string>([...PART_DATA, 'thought', 'thoughtSignature', 'videoMetadata', 'mediaResolution', 'partMetadata']);
const TOOL_FIELDS = new Set(['functionDeclarations', 'googleSearch', 'googleSearchRetrieval', 'codeExecution', 'urlContext', 'fileSearch', 'computerUse', 'googleMaps']);
const DECLARATION_FIELDS = new Set(['name', 'description', 'parameters', 'parametersJsonSchema', 'response', 'responseJsonSchema', 'behavior']);
// The OpenAPI 3.0 subset `parameters` accepts (js-genai `interface Schema`); JSON-Schema extras are rejected.
const SCHEMA_FIELDS = new Set([
  'type', 'format', 'title', 'description', 'nullable', 'enum', 'maxItems', 'minItems', 'properties', 'required', 'minProperties',
  'maxProperties', 'minLength', 'maxLength', 'pattern', 'example', 'anyOf', 'propertyOrdering', 'default', 'items', 'minimum', 'maximum',
]);
const SCHEMA_TYPES = new Set(['TYPE_UNSPECIFIED', 'STRING', 'NUMBER', 'INTEGER', 'BOOLEAN', 'ARRAY', 'OBJECT', 'NULL']);
const GENERATION_FIELDS = new Set([
  'maxOutputTokens', 'temperature', 'topP', 'topK', 'stopSequences', 'candidateCount', 'responseMimeType', 'responseSchema', 'responseJsonSchema',
  'presencePenalty', 'frequencyPenalty', 'seed', 'responseLogprobs', 'logprobs', 'responseModalities', 'mediaResolution', 'speechConfig',
  'thinkingConfig', 'enableEnhancedCivicAnswers',
]);
const MODES = new Set(['MODE_UNSPECIFIED', 'AUTO', 'ANY', 'NONE', 'VALIDATED']);
const FUNCTION_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/;

function checkSchema(schema: unknown, at: string): ErrorReply | undefined {
  if (!isObject(schema)) return invalid(`Invalid value at '${at}' (type.googleapis.com/google.ai.generativelanguage.v1beta.Schema)`, at);
  const bad = unknownName(schema, SCHEMA_FIELDS, at);
  if (bad) return bad;
  const type = schema['type'];
  if (Array.isArray(type)) return invalid(`Invalid JSON payload received. Proto field is not repeating, cannot start list.`, `${at}.type`);
  if (type !== undefined && (typeof type !== 'string' || !SCHEMA_TYPES.has(type.toUpperCase()))) {
    return invalid(`Invalid value at '${at}.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), ${JSON.stringify(type)}`, `${at}.type`);
  }
  if (Array.isArray(schema['enum']) && schema['enum'].some((v) => typeof v !== 'string')) {
    return invalid(`Invalid value at '${at}.enum': enum values must be strings`, `${at}.enum`);
  }
  const properties = schema['properties'];
  if (isObject(properties)) {
    for (const [name, prop] of Object.entries(properties)) {
      const bad = checkSchema(prop, `${at}.properties[${name}].value`);
      if (bad) return bad;
    }
  }
  if (schema['items'] !== undefined) {
    const bad = checkSchema(schema['items'], `${at}.items`);
    if (bad) return bad;
  }
  if (Array.isArray(schema['anyOf'])) {
    for (let i = 0; i < schema['anyOf'].length; i++) {
      const bad = checkSchema(schema['anyOf'][i], `${at}.any_of[${i}]`);
      if (bad) return bad;
    }
  }
  return undefined;
}

/** OpenAPI-style upper-case types → JSON Schema lower case, so answers can sample inputs from it. */
function lowerTypes(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(lowerTypes);
  if (!isObject(schema)) return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'type' && typeof value === 'string') out[key] = value.toLowerCase();
    else if (key === 'properties' && isObject(value)) out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, lowerTypes(v)]));
    else if (key === 'items' || key === 'anyOf' || key === 'any_of') out[camel(key)] = lowerTypes(value);
    else out[key] = value;
  }
  return out;
}

interface Declaration {
  name: string;
  schema: unknown;
}

function checkTools(tools: unknown): Declaration[] | ErrorReply {
  if (tools === undefined) return [];
  if (!Array.isArray(tools)) return invalid(`Invalid JSON payload received. Expected an array for field "tools".`, 'tools');
  const declarations: Declaration[] = [];
  for (let t = 0; t < tools.length; t++) {
    const tool: unknown = tools[t];
    if (!isObject(tool)) return invalid(`Invalid value at 'tools[${t}]'`, `tools[${t}]`);
    const bad = unknownName(tool, TOOL_FIELDS, `tools[${t}]`);
    if (bad) return bad;
    const list = get(tool, 'functionDeclarations');
    if (list === undefined) continue;
    if (!Array.isArray(list)) return invalid(`Invalid JSON payload received. Expected an array for field "function_declarations".`, `tools[${t}].function_declarations`);
    for (let d = 0; d < list.length; d++) {
      const at = `tools[${t}].function_declarations[${d}]`;
      const decl: unknown = list[d];
      if (!isObject(decl)) return invalid(`Invalid value at '${at}'`, at);
      const badField = unknownName(decl, DECLARATION_FIELDS, at);
      if (badField) return badField;
      const name = decl['name'];
      if (typeof name !== 'string' || !FUNCTION_NAME.test(name)) {
        return invalid(
          `* GenerateContentRequest.${at}.name: Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a maximum length of 128.\n`,
          `${at}.name`,
        );
      }
      const parameters = get(decl, 'parameters');
      const jsonSchema = get(decl, 'parametersJsonSchema');
      if (parameters !== undefined && jsonSchema !== undefined) {
        return invalid(`* GenerateContentRequest.${at}: parameters and parameters_json_schema cannot both be set.\n`, at);
      }
      if (parameters !== undefined) {
        const badSchema = checkSchema(parameters, `${at}.parameters`);
        if (badSchema) return badSchema;
      }
      declarations.push({ name, schema: jsonSchema ?? lowerTypes(parameters) });
    }
  }
  return declarations;
}

function checkPart(part: unknown, at: string): ErrorReply | undefined {
  if (!isObject(part)) return invalid(`Invalid value at '${at}' (type.googleapis.com/google.ai.generativelanguage.v1beta.Part)`, at);
  const bad = unknownName(part, PART_FIELDS, at);
  if (bad) return bad;
  const data = PART_DATA.filter((name) => get(part, name) !== undefined);
  if (data.length === 0) return invalid(`* GenerateContentRequest.${at}.data: required oneof field 'data' must have one initialized field\n`, `${at}.data`);
  if (data.length > 1) return invalid(`Invalid value at '${at}': oneof field 'data' is already set. Cannot set '${data[1]}'`, at);
  const text = part['text'];
  if (text !== undefined && typeof text !== 'string') return invalid(`Invalid value at '${at}.text' (TYPE_STRING), ${JSON.stringify(text)}`, `${at}.text`);
  const call = get(part, 'functionCall');
  if (call !== undefined) {
    if (!isObject(call) || typeof call['name'] !== 'string' || call['name'] === '') {
      return invalid(`* GenerateContentRequest.${at}.function_call.name: Name cannot be empty.\n`, `${at}.function_call.name`);
    }
    if (call['args'] !== undefined && !isObject(call['args'])) {
      return invalid(`Invalid value at '${at}.function_call.args' (type.googleapis.com/google.protobuf.Struct), ${JSON.stringify(call['args'])}`, `${at}.function_call.args`);
    }
  }
  const response = get(part, 'functionResponse');
  if (response !== undefined) {
    if (!isObject(response) || typeof response['name'] !== 'string' || response['name'] === '') {
      return invalid(`* GenerateContentRequest.${at}.function_response.name: Name cannot be empty.\n`, `${at}.function_response.name`);
    }
    if (!isObject(response['response'])) {
      // A result must be a proto Struct (a JSON object), never a bare string or array.
      return invalid(
        `Invalid value at '${at}.function_response.response' (type.googleapis.com/google.protobuf.Struct), ${JSON.stringify(response['response'] ?? null)}`,
        `${at}.function_response.response`,
      );
    }
  }
  const inline = get(part, 'inlineData');
  if (inline !== undefined && (!isObject(inline) || typeof get(inline, 'mimeType') !== 'string' || typeof inline['data'] !== 'string')) {
    return invalid(`* GenerateContentRequest.${at}.inline_data: mime_type and data are required.\n`, `${at}.inline_data`);
  }
  return undefined;
}

function partsOf(content: Json): Json[] {
  return Array.isArray(content['parts']) ? content['parts'].filter(isObject) : [];
}

function countOf(content: Json, name: 'functionCall' | 'functionResponse'): number {
  return partsOf(content).filter((p) => get(p, name) !== undefined).length;
}

/** Shapes of `contents` and the turn-order rules Gemini enforces for function calling (§8.2). */
function checkContents(contents: unknown, model: string): ErrorReply | undefined {
  if (contents === undefined || (Array.isArray(contents) && contents.length === 0)) {
    return invalid('* GenerateContentRequest.contents: contents is not specified\n', 'contents');
  }
  if (!Array.isArray(contents)) return invalid(`Invalid JSON payload received. Expected an array for field "contents".`, 'contents');
  for (let i = 0; i < contents.length; i++) {
    const content: unknown = contents[i];
    if (!isObject(content)) return invalid(`Invalid value at 'contents[${i}]' (type.googleapis.com/google.ai.generativelanguage.v1beta.Content)`, `contents[${i}]`);
    const bad = unknownName(content, CONTENT_FIELDS, `contents[${i}]`);
    if (bad) return bad;
    const role = content['role'];
    if (role !== undefined && role !== 'user' && role !== 'model') return invalid('Please use a valid role: user, model.', `contents[${i}].role`);
    const parts = content['parts'];
    if (!Array.isArray(parts) || parts.length === 0) {
      return invalid(`* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.\n`, `contents[${i}].parts`);
    }
    for (let j = 0; j < parts.length; j++) {
      const badPart = checkPart(parts[j], `contents[${i}].parts[${j}]`);
      if (badPart) return badPart;
    }
  }
  const list = contents as Json[];
  for (let i = 0; i < list.length; i++) {
    const calls = countOf(list[i]!, 'functionCall');
    if (calls === 0) continue;
    const previous = list[i - 1];
    if (list[i]!['role'] !== 'model' || !previous || previous['role'] === 'model') {
      return invalid(
        'Please ensure that function call turn comes immediately after a user turn or after a function response turn.',
        `contents[${i}]`,
      );
    }
    const next = list[i + 1];
    if (next && countOf(next, 'functionResponse') !== calls) {
      return invalid(
        'Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.',
        `contents[${i + 1}]`,
      );
    }
  }
  if (model.startsWith('gemini-3')) return checkSignatures(list);
  return undefined;
}

/**
 * Gemini 3 validates thought signatures in the current turn only: the span after the last user
 * content holding ordinary parts. There, the first functionCall of every step must carry one.
 */
function checkSignatures(contents: Json[]): ErrorReply | undefined {
  let start = 0;
  contents.forEach((content, i) => {
    if (content['role'] !== 'model' && partsOf(content).some((p) => get(p, 'functionResponse') === undefined)) start = i + 1;
  });
  for (let i = start; i < contents.length; i++) {
    const parts = partsOf(contents[i]!);
    const first = parts.findIndex((p) => get(p, 'functionCall') !== undefined);
    if (first < 0) continue;
    const signature = get(parts[first]!, 'thoughtSignature');
    if (typeof signature !== 'string' || signature === '') {
      const name = String((get(parts[first]!, 'functionCall') as Json)['name']);
      return invalid(
        `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${name}\` , position ${first + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`,
        `contents[${i}].parts[${first}]`,
      );
    }
  }
  return undefined;
}

function checkGenerationConfig(config: unknown, hasTools: boolean): { maxTokens: number } | ErrorReply {
  if (config === undefined) return { maxTokens: Infinity };
  if (!isObject(config)) return invalid(`Invalid value at 'generation_config' (type.googleapis.com/google.ai.generativelanguage.v1beta.GenerationConfig)`, 'generation_config');
  const bad = unknownName(config, GENERATION_FIELDS, 'generation_config');
  if (bad) return bad;
  const cap = get(config, 'maxOutputTokens');
  if (cap !== undefined && (typeof cap !== 'number' || !Number.isInteger(cap) || cap < 1)) {
    return invalid(`* GenerateContentRequest.generation_config.max_output_tokens: max_output_tokens must be positive.\n`, 'generation_config.max_output_tokens');
  }
  const temperature = config['temperature'];
  if (temperature !== undefined && (typeof temperature !== 'number' || temperature < 0 || temperature > 2)) {
    return invalid(`* GenerateContentRequest.generation_config.temperature: temperature must be in the range [0.0, 2.0].\n`, 'generation_config.temperature');
  }
  const stops = get(config, 'stopSequences');
  if (stops !== undefined && (!Array.isArray(stops) || stops.some((s) => typeof s !== 'string'))) {
    return invalid(`Invalid value at 'generation_config.stop_sequences' (TYPE_STRING)`, 'generation_config.stop_sequences');
  }
  if (hasTools && get(config, 'responseMimeType') === 'application/json') {
    return invalid("Function calling with a response mime type: 'application/json' is unsupported");
  }
  return { maxTokens: typeof cap === 'number' ? cap : Infinity };
}

/** The tool the simulated model calls: the first declared (or first allowed), unless mode NONE. */
function chooseTool(toolConfig: unknown, declarations: Declaration[]): ToolOffer | undefined | ErrorReply {
  const calling = isObject(toolConfig) ? get(toolConfig, 'functionCallingConfig') : undefined;
  const mode = isObject(calling) ? (calling['mode'] ?? 'AUTO') : 'AUTO';
  if (typeof mode !== 'string' || !MODES.has(mode)) {
    return invalid(`Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), ${JSON.stringify(mode)}`, 'tool_config.function_calling_config.mode');
  }
  const allowed = isObject(calling) ? get(calling, 'allowedFunctionNames') : undefined;
  const names = Array.isArray(allowed) ? allowed.filter((n): n is string => typeof n === 'string') : [];
  for (const name of names) {
    if (!declarations.some((d) => d.name === name)) {
      return invalid(`* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: function "${name}" is not declared in tools.\n`, 'tool_config.function_calling_config.allowed_function_names');
    }
  }
  if (mode === 'NONE' || declarations.length === 0) return undefined;
  const chosen = names.length > 0 ? declarations.find((d) => d.name === names[0]) : declarations[0];
  return chosen && { name: chosen.name, schema: chosen.schema };
}

function usageMetadata(inputTokens: number, outputTokens: number): Json {
  // Zero-valued counts are left out, as Gemini does.
  const usage: Json = { promptTokenCount: inputTokens };
  if (outputTokens > 0) usage['candidatesTokenCount'] = outputTokens;
  usage['totalTokenCount'] = inputTokens + outputTokens;
  usage['promptTokensDetails'] = [{ modality: 'TEXT', tokenCount: inputTokens }];
  return usage;
}

/** Stream chunks are larger than other providers' deltas: a few words each. */
function textChunks(words: string[], size = 6): string[] {
  const chunks: string[] = [];
  for (let i = 0; i < words.length; i += size) {
    const group = words.slice(i, i + size).join(' ');
    chunks.push(i === 0 ? group : ` ${group}`);
  }
  return chunks;
}

function render(answer: Answer, model: string, inputTokens: number, mode: GeminiMode, ctx: ReplyContext): Reply {
  const responseId = `sim${ctx.uniqueId()}`;
  const finishReason = answer.stop === 'max_tokens' ? 'MAX_TOKENS' : 'STOP';
  const gemini3 = model.startsWith('gemini-3');
  const callPart = (): Json | undefined => {
    if (!answer.tool) return undefined;
    // Newer models send call ids and thought signatures; 2.x without thinking sends neither.
    const call: Json = { name: answer.tool.name, args: answer.tool.input };
    if (gemini3) call['id'] = `sim${ctx.uniqueId()}`;
    const part: Json = { functionCall: call };
    if (gemini3) part['thoughtSignature'] = Buffer.from(`sim-signature-${fnv1a(answer.tool.json)}`).toString('base64');
    return part;
  };
  const response = (parts: Json[], outputSoFar: number, final: boolean): Json => {
    const candidate: Json = { content: { parts, role: 'model' } };
    if (final) {
      candidate['finishReason'] = finishReason;
      if (answer.tool) candidate['finishMessage'] = 'Model generated function call(s).';
    }
    candidate['index'] = 0;
    return { candidates: [candidate], usageMetadata: usageMetadata(inputTokens, outputSoFar), modelVersion: model, responseId };
  };

  if (mode === 'unary') {
    const parts: Json[] = [];
    if (answer.words.length > 0) parts.push({ text: answer.words.join(' ') });
    const call = callPart();
    if (call) parts.push(call);
    if (parts.length === 0) parts.push({ text: '' });
    const text = JSON.stringify(response(parts, answer.outputTokens, true), null, 2);
    return { contentType: 'application/json; charset=UTF-8', frames: [{ text, tokens: answer.outputTokens }], outputTokens: answer.outputTokens, firstDelta: 0 };
  }

  // Each chunk holds only the new parts, usage is a running snapshot, finishReason rides on the last.
  const chunks: Array<{ parts: Json[]; tokens: number }> = textChunks(answer.words).map((text) => ({ parts: [{ text }], tokens: text.trim().split(' ').length }));
  const call = callPart();
  if (call) chunks.push({ parts: [call], tokens: answer.tool!.tokens });
  if (chunks.length === 0) chunks.push({ parts: [{ text: '' }], tokens: 0 });
  const frames: Frame[] = [];
  let sent = 0;
  chunks.forEach((chunk, i) => {
    sent += chunk.tokens;
    const last = i === chunks.length - 1;
    const body = response(chunk.parts, last ? answer.outputTokens : sent, last);
    if (mode === 'sse') frames.push({ text: `data: ${JSON.stringify(body)}\n\n`, tokens: chunk.tokens });
    else frames.push({ text: `${i === 0 ? '[' : ',\r\n'}${JSON.stringify(body, null, 2)}`, tokens: chunk.tokens });
  });
  // No [DONE]: an SSE stream simply ends; the JSON array closes.
  if (mode === 'array') frames.push({ text: ']', tokens: 0 });
  const contentType = mode === 'sse' ? 'text/event-stream' : 'application/json; charset=UTF-8';
  return { contentType, frames, outputTokens: answer.outputTokens, firstDelta: 0 };
}

/** Checks shared by generateContent and countTokens' generateContentRequest. */
function checkRequest(body: Json, model: string): { declarations: Declaration[] } | ErrorReply {
  const bad = unknownName(body, REQUEST_FIELDS, '');
  if (bad) return bad;
  const contentsProblem = checkContents(body['contents'], model);
  if (contentsProblem) return contentsProblem;
  const system = get(body, 'systemInstruction');
  if (system !== undefined) {
    if (!isObject(system) || !Array.isArray(system['parts'])) {
      return invalid(`Invalid value at 'system_instruction' (type.googleapis.com/google.ai.generativelanguage.v1beta.Content)`, 'system_instruction');
    }
    for (let j = 0; j < system['parts'].length; j++) {
      const badPart = checkPart(system['parts'][j], `system_instruction.parts[${j}]`);
      if (badPart) return badPart;
    }
  }
  const declarations = checkTools(body['tools']);
  if (!Array.isArray(declarations)) return declarations;
  return { declarations };
}

export function parseGenerate(body: Json, model: string, mode: GeminiMode): ParseResult {
  const checked = checkRequest(body, model);
  if ('status' in checked) return checked;
  const config = checkGenerationConfig(get(body, 'generationConfig'), checked.declarations.length > 0);
  if ('status' in config) return config;
  const facts = geminiPrompt(body);
  const tool = facts.toolResult === undefined ? chooseTool(get(body, 'toolConfig'), checked.declarations) : undefined;
  if (tool && 'status' in tool) return tool;
  const maxTokens = config.maxTokens;
  return {
    model,
    stream: mode !== 'unary',
    demand: { inputTokens: facts.inputTokens, generates: true, maxTokens: maxTokens === Infinity ? DEFAULT_RESERVED_OUTPUT : maxTokens },
    reply(ctx) {
      const merged = tool && forcedCall(body) && asksForAnswerList(tool.schema) ? mergedCall(body, maxTokens, ctx.fixedLength) : undefined;
      if (tool && merged) return render(mergedAnswer(merged, tool.name, ctx.mergeAnswers ?? 'follow', maxTokens), model, facts.inputTokens, mode, ctx);
      const answer = composeAnswer({ hash: facts.hash, maxTokens, fixedLength: ctx.fixedLength, tool, toolResult: facts.toolResult });
      return render(answer, model, facts.inputTokens, mode, ctx);
    },
  };
}

/** Function calling in mode ANY: the model must call one of the functions. */
function forcedCall(body: Json): boolean {
  const toolConfig = get(body, 'toolConfig');
  const calling = isObject(toolConfig) ? get(toolConfig, 'functionCallingConfig') : undefined;
  return isObject(calling) && calling['mode'] === 'ANY';
}

/** A merged call (merged.ts) seen through Gemini's contents: each prompt answered as alone. */
function mergedCall(body: Json, maxTokens: number, fixedLength: number | undefined): MergedCall | undefined {
  const contents = Array.isArray(body['contents']) ? (body['contents'] as unknown[]) : [];
  const messages = contents.map((c) => {
    const parts = isObject(c) && Array.isArray(c['parts']) ? c['parts'] : [];
    const text = parts.filter(isObject).map((p) => (typeof p['text'] === 'string' ? p['text'] : '')).join('');
    return { role: isObject(c) && c['role'] === 'model' ? 'model' : 'user', content: text };
  });
  const { tools: _tools, toolConfig: _config, tool_config: _config2, ...plain } = body;
  return answerMerged({
    messages,
    plain,
    // Back to contents: every turn as sent, the prompt's turn as one text part.
    factsOf: (one) => geminiPrompt({ ...plain, contents: (one['messages'] as Json[]).map((m, i) => (m['content'] === messages[i]!.content ? contents[i] : { role: 'user', parts: [{ text: m['content'] }] })) }),
    maxTokens,
    fixedLength,
  });
}

/** countTokens: `{contents}` or `{generateContentRequest}`, never both; the same estimate generate charges. */
export function countGeminiTokens(body: Json, model: string): ErrorReply {
  const wrapped = get(body, 'generateContentRequest');
  if (wrapped !== undefined && body['contents'] !== undefined) {
    return invalid('* CountTokensRequest: contents and generate_content_request cannot both be set.\n');
  }
  const request = isObject(wrapped) ? wrapped : body;
  if (!isObject(wrapped)) {
    const bad = unknownName(body, new Set(['contents']), '');
    if (bad) return bad;
  }
  const checked = checkRequest(request, model);
  if ('status' in checked) return checked;
  const tokens = geminiPrompt(request).inputTokens;
  return { status: 200, body: JSON.stringify({ totalTokens: tokens, promptTokensDetails: [{ modality: 'TEXT', tokenCount: tokens }] }, null, 2) };
}

function modelResource(m: (typeof GEMINI_MODELS)[number]): Json {
  return {
    name: `models/${m.id}`,
    version: '001',
    displayName: m.displayName,
    description: `${m.displayName} (simulated)`,
    inputTokenLimit: m.inputTokenLimit,
    outputTokenLimit: m.outputTokenLimit,
    supportedGenerationMethods: m.id.includes('embedding') ? ['embedContent', 'batchEmbedContents'] : ['generateContent', 'countTokens'],
    temperature: 1,
    topP: 0.95,
    topK: 64,
    maxTemperature: 2,
    thinking: true,
  };
}

/** GET /v1beta/models with pageSize / pageToken (the token is an offset). */
export function geminiModelList(query: URLSearchParams): string {
  const size = Math.max(1, Math.min(1000, Number(query.get('pageSize') ?? 50) || 50));
  const offset = Math.max(0, Number(query.get('pageToken') ?? 0) || 0);
  const page = GEMINI_MODELS.slice(offset, offset + size);
  const out: Json = { models: page.map(modelResource) };
  if (offset + size < GEMINI_MODELS.length) out['nextPageToken'] = String(offset + size);
  return JSON.stringify(out, null, 2);
}

export function geminiModel(id: string): string | undefined {
  const m = GEMINI_MODELS.find((x) => x.id === id);
  return m && JSON.stringify(modelResource(m), null, 2);
}

export function geminiModelNotFound(id: string): ErrorReply {
  return errorReply(
    404,
    'NOT_FOUND',
    `models/${id} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.`,
  );
}

/** `/v1beta/models/gemini-2.5-flash:generateContent` → model and method; undefined for other paths. */
export function geminiCall(path: string): { model: string; method: string } | undefined {
  const prefix = '/v1beta/models/';
  if (!path.startsWith(prefix)) return undefined;
  const rest = path.slice(prefix.length);
  const colon = rest.lastIndexOf(':');
  if (colon <= 0) return undefined;
  let model: string;
  try {
    model = decodeURIComponent(rest.slice(0, colon));
  } catch {
    return undefined;
  }
  return { model, method: rest.slice(colon + 1) };
}

/** One `EmbedContentRequest`'s text: its content's text parts joined. */
function embedText(request: unknown, at: string): string | ErrorReply {
  const content = isObject(request) ? request['content'] : undefined;
  if (!isObject(content) || !Array.isArray(content['parts'])) return invalid(`Invalid value at '${at}content' (type.googleapis.com/google.ai.generativelanguage.v1beta.Content)`, `${at}content`);
  return content['parts'].map((part) => (isObject(part) && typeof part['text'] === 'string' ? part['text'] : '')).join('');
}

function embedDimensions(request: unknown): number {
  const wanted = isObject(request) ? request['outputDimensionality'] : undefined;
  return typeof wanted === 'number' && Number.isInteger(wanted) && wanted > 0 && wanted <= 3072 ? wanted : 3072;
}

/**
 * `:embedContent` (`{content}` → `{embedding:{values}}`) and `:batchEmbedContents`
 * (`{requests:[…]}` → `{embeddings:[{values}]}`): the simulator's deterministic vectors.
 */
export function parseEmbed(body: Json, model: string, batch: boolean): ParseResult {
  const requests = batch ? body['requests'] : [body];
  if (!Array.isArray(requests) || requests.length === 0) return invalid('* BatchEmbedContentsRequest.requests: requests is required.\n', 'requests');
  if (requests.length > 100) return invalid('* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch\n', 'requests');
  const texts: string[] = [];
  for (let i = 0; i < requests.length; i++) {
    const text = embedText(requests[i], batch ? `requests[${i}].` : '');
    if (typeof text !== 'string') return text;
    texts.push(text);
  }
  let inputTokens = 0;
  for (const text of texts) inputTokens += embeddingInputTokens(text);
  return {
    model,
    stream: false,
    demand: { inputTokens, generates: false, maxTokens: 0 },
    reply() {
      const vectors = texts.map((text, i) => ({ values: Array.from(embed(text, embedDimensions(requests[i]))) }));
      const text = JSON.stringify(batch ? { embeddings: vectors } : { embedding: vectors[0] });
      return { contentType: 'application/json; charset=UTF-8', frames: [{ text, tokens: 0 }], outputTokens: 0, firstDelta: 0 };
    },
  };
}
