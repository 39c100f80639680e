/**
 * Gemini (generateContent) ⇄ OpenAI Chat Completions. Anthropic clients reach Gemini through the
 * OpenAI shapes (as they reach Ollama), so the Gemini rules live here once. Wire facts: §8.
 *
 * Choices worth knowing:
 * - Tool schemas go in `parametersJsonSchema` (real JSON Schema), not the OpenAPI-subset
 *   `parameters`, which rejects `additionalProperties` and friends.
 * - History Gemini did not produce has no thought signatures; the first functionCall of each model
 *   turn carries the documented placeholder so Gemini 3 accepts it.
 * - Gemini has no tool-calls finish reason: a turn with function calls is reported as tool_calls.
 * - Function-call ids are optional in Gemini; missing ones are invented for the client and never
 *   sent back (functionResponse.id is left out unless Gemini gave one).
 */
import type { JsonObject } from '../../protocol/anthropic.js';
import type {
  OpenAIUsage,
  OpenAIChatCompletion,
  OpenAIChatRequest,
  OpenAIErrorBody,
  OpenAIFinishReason,
  OpenAIMessage,
  OpenAIToolCall,
  OpenAIUserPart,
} from '../../protocol/openai.js';
import { PivotChunkWriter } from '../../pivot/chunks.js';
import { SseParser, type SseEvent } from '../../protocol/sse.js';
import { usageOfBody, type TokenUsage } from '../../protocol/usage.js';
import { DroppedFeatures } from '../../protocol/dropped.js';
import { checkOpenAIRequest } from '../../protocol/openai-check.js';
import { inventToolCallId, stableId } from '../../protocol/ids.js';
import { parseDataUrl } from '../../protocol/media.js';
import { parseArguments } from '../../protocol/tool-arguments.js';

export interface GeminiPart {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
  inlineData?: { mimeType: string; data: string };
  functionCall?: { id?: string; name: string; args?: JsonObject };
  functionResponse?: { id?: string; name: string; response: JsonObject };
}

export interface GeminiContent {
  role: 'user' | 'model';
  parts: GeminiPart[];
}

export interface GeminiRequest {
  contents: GeminiContent[];
  systemInstruction?: { parts: Array<{ text: string }> };
  tools?: Array<{ functionDeclarations: Array<{ name: string; description?: string; parametersJsonSchema?: JsonObject }> }>;
  toolConfig?: { functionCallingConfig: { mode: 'AUTO' | 'ANY' | 'NONE'; allowedFunctionNames?: string[] } };
  generationConfig?: { maxOutputTokens?: number; temperature?: number; topP?: number; topK?: number; stopSequences?: string[]; seed?: number; candidateCount?: number };
}

export interface GeminiUsageMetadata {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  totalTokenCount?: number;
  cachedContentTokenCount?: number;
}

export interface GeminiGenerateContentResponse {
  candidates?: Array<{ content?: { role?: string; parts?: GeminiPart[] }; finishReason?: string; index?: number }>;
  usageMetadata?: GeminiUsageMetadata;
  promptFeedback?: { blockReason?: string };
  modelVersion?: string;
  responseId?: string;
  error?: { code?: number; message?: string; status?: string };
}

/** Documented escape hatch for function calls in history Gemini did not sign. */
export const SKIP_THOUGHT_SIGNATURE = 'skip_thought_signature_validator';

function textOf(content: string | Array<{ type: string; text?: string }> | null | undefined): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' ? (part.text ?? '') : '')).join('');
}

function userParts(content: string | OpenAIUserPart[], dropped: DroppedFeatures): GeminiPart[] {
  if (typeof content === 'string') return [{ text: content }];
  const parts: GeminiPart[] = [];
  for (const part of content) {
    if (part.type === 'text') parts.push({ text: (part as { text: string }).text });
    else if (part.type === 'image_url') {
      const inline = parseDataUrl((part as { image_url: { url: string } }).image_url.url);
      if (inline) parts.push({ inlineData: { mimeType: inline.mediaType, data: inline.base64 } });
      else dropped.add('image URL (Gemini needs inline data)');
    } else dropped.add(`content part ${part.type}`);
  }
  return parts;
}

/** Appends, merging into the previous turn when the role repeats (Gemini wants alternation). */
function push(contents: GeminiContent[], role: GeminiContent['role'], parts: GeminiPart[]): void {
  if (parts.length === 0) return;
  const last = contents.at(-1);
  if (last && last.role === role) last.parts.push(...parts);
  else contents.push({ role, parts });
}

function toolResultObject(text: string): JsonObject {
  // A proto Struct is required; a JSON object result is passed as is, anything else goes under "output".
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as JsonObject;
  } catch {
    /* plain text */
  }
  return { output: text };
}

/** OpenAI request fields with a Gemini equivalent (or, like `user` and `stream`, no bearing on the answer). */
const GEMINI_TRANSLATED_FIELDS = new Set([
  'model', 'messages', 'tools', 'tool_choice', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'top_k', 'stop', 'seed', 'n',
  'stream', 'stream_options', 'user',
]);

export function openAIToGeminiRequest(req: OpenAIChatRequest): { request: GeminiRequest; dropped: string[] } {
  checkOpenAIRequest(req);
  const dropped = new DroppedFeatures();
  const system: string[] = [];
  const contents: GeminiContent[] = [];
  const nameByCallId = new Map<string, string>();
  for (const message of req.messages as OpenAIMessage[]) {
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(textOf(message.content));
        break;
      case 'user':
        push(contents, 'user', userParts(message.content, dropped));
        break;
      case 'assistant': {
        const parts: GeminiPart[] = [];
        const text = textOf(message.content as string | Array<{ type: string; text?: string }> | null | undefined);
        if (text.length > 0) parts.push({ text });
        (message.tool_calls ?? []).forEach((call, i) => {
          nameByCallId.set(call.id, call.function.name);
          const part: GeminiPart = { functionCall: { name: call.function.name, args: parseArguments(call.function.arguments, dropped) } };
          if (i === 0) part.thoughtSignature = SKIP_THOUGHT_SIGNATURE;
          parts.push(part);
        });
        push(contents, 'model', parts);
        break;
      }
      case 'tool': {
        const name = nameByCallId.get(message.tool_call_id) ?? message.tool_call_id;
        push(contents, 'user', [{ functionResponse: { name, response: toolResultObject(textOf(message.content)) } }]);
        break;
      }
      default:
        dropped.add(`message role ${message.role}`);
    }
  }

  const request: GeminiRequest = { contents };
  const systemText = system.filter((part) => part.length > 0).join('\n');
  if (systemText.length > 0) request.systemInstruction = { parts: [{ text: systemText }] };

  const declarations = (req.tools ?? []).flatMap((tool) => {
    if (tool.type !== 'function') {
      dropped.add(`tool type ${tool.type}`);
      return [];
    }
    const fn = (tool as { function: { name: string; description?: string; parameters?: JsonObject } }).function;
    return [{ name: fn.name, ...(fn.description ? { description: fn.description } : {}), ...(fn.parameters ? { parametersJsonSchema: fn.parameters } : {}) }];
  });
  if (declarations.length > 0) {
    request.tools = [{ functionDeclarations: declarations }];
    const choice = req.tool_choice;
    if (choice === 'none') request.toolConfig = { functionCallingConfig: { mode: 'NONE' } };
    else if (choice === 'required') request.toolConfig = { functionCallingConfig: { mode: 'ANY' } };
    else if (choice != null && typeof choice === 'object' && 'function' in choice) {
      request.toolConfig = { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [(choice as { function: { name: string } }).function.name] } };
    }
  }

  const config: NonNullable<GeminiRequest['generationConfig']> = {};
  const maxTokens = req.max_completion_tokens ?? req.max_tokens;
  if (maxTokens != null) config.maxOutputTokens = maxTokens;
  if (req.temperature != null) config.temperature = req.temperature;
  if (req.top_p != null) config.topP = req.top_p;
  if (typeof req.top_k === 'number') config.topK = req.top_k;
  if (req.stop != null) config.stopSequences = typeof req.stop === 'string' ? [req.stop] : req.stop;
  if (req.seed != null) config.seed = req.seed;
  if (req.n != null && req.n !== 1) dropped.add('n');
  if (Object.keys(config).length > 0) request.generationConfig = config;
  // Everything else is named as dropped: Gemini rejects unknown fields, so nothing else is sent.
  for (const [field, value] of Object.entries(req)) {
    if (value != null && !GEMINI_TRANSLATED_FIELDS.has(field)) dropped.add(field);
  }
  return { request, dropped: dropped.list() };
}

export function geminiFinishReason(reason: string | undefined, calledTools: boolean): OpenAIFinishReason {
  if (calledTools) return 'tool_calls';
  switch (reason) {
    case 'MAX_TOKENS':
      return 'length';
    case 'SAFETY':
    case 'RECITATION':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
    case 'IMAGE_SAFETY':
      return 'content_filter';
    default:
      return 'stop';
  }
}

function openAIUsageOf(meta: GeminiUsageMetadata | undefined): OpenAIUsage {
  const prompt = meta?.promptTokenCount ?? 0;
  const completion = (meta?.candidatesTokenCount ?? 0) + (meta?.thoughtsTokenCount ?? 0);
  const usage: OpenAIUsage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (meta?.thoughtsTokenCount) usage.completion_tokens_details = { reasoning_tokens: meta.thoughtsTokenCount };
  return usage;
}

function callsOf(parts: GeminiPart[], seed: string, firstIndex: number): OpenAIToolCall[] {
  return parts
    .filter((part) => part.functionCall)
    .map((part, i) => ({
      id: part.functionCall!.id ?? inventToolCallId(seed, firstIndex + i),
      type: 'function' as const,
      function: { name: part.functionCall!.name, arguments: JSON.stringify(part.functionCall!.args ?? {}) },
    }));
}

/** Answer text: thought summaries are left out, as thinking is for the other surfaces. */
function answerText(parts: GeminiPart[]): string {
  return parts.filter((part) => typeof part.text === 'string' && !part.thought).map((part) => part.text).join('');
}

export function geminiToOpenAIResponse(resp: GeminiGenerateContentResponse, options: { model: string; now: number }): OpenAIChatCompletion {
  const candidate = resp.candidates?.[0];
  const parts = candidate?.content?.parts ?? [];
  const seed = resp.responseId ?? `${options.model}@${options.now}`;
  const calls = callsOf(parts, seed, 0);
  const text = answerText(parts);
  const message: OpenAIChatCompletion['choices'][number]['message'] = { role: 'assistant', content: text.length > 0 || calls.length === 0 ? text : null, refusal: null };
  if (calls.length > 0) message.tool_calls = calls;
  // A blocked prompt comes back as 200 with no candidates at all.
  const finish = resp.promptFeedback?.blockReason && !candidate ? 'content_filter' : geminiFinishReason(candidate?.finishReason, calls.length > 0);
  return {
    id: stableId('chatcmpl-', seed),
    object: 'chat.completion',
    created: Math.floor(options.now / 1000),
    model: options.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
    usage: openAIUsageOf(resp.usageMetadata),
  };
}

/** A Gemini error body (google.rpc.Status, sometimes wrapped in an array) → OpenAI's shape. */
export function geminiErrorToOpenAI(status: number, body: unknown): { status: number; body: OpenAIErrorBody } {
  const root = Array.isArray(body) ? body[0] : body;
  const error = (root as { error?: { message?: unknown; status?: unknown } } | null)?.error;
  const message =
    typeof error?.message === 'string' ? error.message : typeof body === 'string' && body.length > 0 ? body.slice(0, 500) : `upstream error (HTTP ${status})`;
  const type = status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  const code = status === 429 ? 'rate_limit_exceeded' : typeof error?.status === 'string' ? error.status.toLowerCase() : null;
  return { status, body: { error: { message, type, param: null, code } } };
}

/**
 * Gemini SSE events (each a whole GenerateContentResponse holding only the new parts; usage a
 * running snapshot on every chunk; no [DONE], the stream just ends) → OpenAI chunk events.
 */
export class GeminiToOpenAIChunks {
  private readonly state = {
    started: false,
    toolCalls: 0,
    finish: undefined as OpenAIFinishReason | undefined,
    /** The finish reason in Gemini's words, for usage. */
    geminiFinish: undefined as string | undefined,
    usage: undefined as GeminiUsageMetadata | undefined,
    finished: false,
  };

  private readonly out: PivotChunkWriter;

  constructor(private readonly options: { model: string; now: number; includeUsage: boolean }) {
    this.out = new PivotChunkWriter(options.model, options.now);
  }

  push(event: SseEvent): SseEvent[] {
    if (this.state.finished) return [];
    let resp: GeminiGenerateContentResponse;
    try {
      resp = JSON.parse(event.data) as GeminiGenerateContentResponse;
    } catch {
      return [];
    }
    if (resp.error) return this.onError(resp.error.message ?? 'upstream error', resp.error.code);
    const events = this.ensureStarted(resp);
    if (resp.usageMetadata) this.state.usage = resp.usageMetadata;
    const candidate = resp.candidates?.[0];
    const parts = candidate?.content?.parts ?? [];
    const text = answerText(parts);
    if (text.length > 0) events.push(this.out.chunk({ content: text }));
    for (const call of callsOf(parts, this.out.id, this.state.toolCalls)) {
      // Gemini sends each call whole: one fragment carries id, name and all arguments.
      events.push(this.out.chunk({ tool_calls: [{ index: this.state.toolCalls++, ...call }] }));
    }
    if (candidate?.finishReason) {
      this.state.geminiFinish = candidate.finishReason;
      this.state.finish = geminiFinishReason(candidate.finishReason, this.state.toolCalls > 0);
    }
    else if (!candidate && resp.promptFeedback?.blockReason) this.state.finish = 'content_filter';
    return events;
  }

  /** The stream closed: whole if a finish reason came, otherwise cut short. */
  end(): SseEvent[] {
    if (this.state.finished) return [];
    if (this.state.finish === undefined) return this.onError('Gemini stream ended without a finish reason');
    this.state.finished = true;
    const events = [...(this.state.started ? [] : this.ensureStarted({})), this.out.chunk({}, this.state.finish)];
    if (this.options.includeUsage) events.push(this.out.usage(openAIUsageOf(this.state.usage)));
    events.push(this.out.done());
    return events;
  }

  usage(): TokenUsage | undefined {
    const { usage, geminiFinish } = this.state;
    return usageOfBody('gemini', { usageMetadata: usage, candidates: geminiFinish ? [{ finishReason: geminiFinish }] : [] });
  }

  private onError(message: string, code?: number): SseEvent[] {
    this.state.finished = true;
    const type = code === 429 ? 'rate_limit_error' : 'server_error';
    // 503 UNAVAILABLE is Gemini's overload: Anthropic clients get overloaded_error for it (§8.8).
    const errorCode = code === 429 ? 'rate_limit_exceeded' : code === 503 ? 'overloaded' : null;
    const body: OpenAIErrorBody = { error: { message, type, param: null, code: errorCode } };
    return [{ data: JSON.stringify(body) }];
  }

  private ensureStarted(resp: GeminiGenerateContentResponse): SseEvent[] {
    if (this.state.started) return [];
    this.state.started = true;
    this.out.id = stableId('chatcmpl-', resp.responseId ?? `${this.options.model}@${this.options.now}`);
    return [this.out.chunk({ role: 'assistant', content: '', refusal: null })];
  }



}

/**
 * Reads Gemini's `alt=sse` stream. Besides `data:` events, an error that happens after the 200 is
 * appended as a raw, pretty-printed JSON object with no `data:` prefix (§8.4), sometimes wrapped in
 * an array; a plain SSE parser would skip it. Such a block comes out as one event whose data is the
 * error object, so the translator reports the real error instead of a truncated stream.
 */
export class GeminiSseReader {
  private readonly sse = new SseParser();
  private readonly decoder = new TextDecoder();
  private pending = '';
  private raw: string[] = [];

  push(chunk: Uint8Array | string): SseEvent[] {
    this.pending += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const events: SseEvent[] = [];
    let newline: number;
    while ((newline = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, newline + 1);
      this.pending = this.pending.slice(newline + 1);
      this.line(line, events);
    }
    return events;
  }

  end(): SseEvent[] {
    const events: SseEvent[] = [];
    if (this.pending !== '') this.line(this.pending, events);
    this.pending = '';
    if (this.raw.length > 0) this.flushRaw(events, true);
    events.push(...this.sse.end());
    return events;
  }

  private line(line: string, events: SseEvent[]): void {
    const trimmed = line.trim();
    if (this.raw.length > 0 || trimmed.startsWith('{') || trimmed.startsWith('[')) {
      this.raw.push(line);
      this.flushRaw(events, false);
      return;
    }
    events.push(...this.sse.push(line));
  }

  /** Emits the raw block once it parses as JSON; at the end of the stream, whatever is there. */
  private flushRaw(events: SseEvent[], final: boolean): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(this.raw.join(''));
    } catch {
      if (final) this.raw = [];
      return;
    }
    this.raw = [];
    const value = Array.isArray(parsed) ? parsed[0] : parsed;
    if (value !== null && typeof value === 'object') events.push({ data: JSON.stringify(value) });
  }
}
