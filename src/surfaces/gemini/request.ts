/**
 * A Gemini `generateContent` request (what @google/genai and Gemini CLI send) → the pivot (OpenAI
 * Chat Completions). Wire facts: ../shared/reference/wire-facts.md §8.2, mapping notes §8.8.
 *
 * Choices worth knowing:
 * - Gemini's function calls need no ids; the pivot's do. Calls without one get a stable invented id,
 *   and a functionResponse without one answers the oldest open call of its name.
 * - `parameters` is Gemini's OpenAPI subset with upper-case types (`OBJECT`, `STRING`): lower-cased
 *   into JSON Schema. `parametersJsonSchema` is JSON Schema already.
 * - Thought parts of earlier model turns are the model's own notes: not sent on (other providers
 *   cannot check their signatures), as thinking is dropped for the other surfaces.
 * - topK travels as the pivot's `top_k` extension (Anthropic, Gemini and Ollama take it; an
 *   OpenAI-compatible provider's codec names it dropped).
 * - Fields with no pivot equivalent (safetySettings, cachedContent, built-in tools …) are
 *   named in `dropped`, for `x-spillway-dropped`.
 */
import type { PivotRequest } from '../../pivot/index.js';
import type { JsonObject, OpenAIMessage, OpenAITool, OpenAIToolCall, OpenAIUserPart } from '../../protocol/openai.js';
import { inventToolCallId } from '../../protocol/ids.js';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

export interface GeminiToPivot {
  request: PivotRequest;
  dropped: string[];
}

/** Gemini's OpenAPI-subset schema → JSON Schema: `type` lower-cased at every level. */
export function jsonSchemaOf(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(jsonSchemaOf);
  if (!isObject(schema)) return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'type' && typeof value === 'string') out.type = value.toLowerCase();
    else if (key === 'properties' && isObject(value)) out.properties = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, jsonSchemaOf(sub)]));
    else if (key === 'propertyOrdering') continue; // Gemini's own, not JSON Schema
    else out[key] = jsonSchemaOf(value);
  }
  return out;
}

/** Text of a Content's parts (systemInstruction may also be a bare string). */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  return list(isObject(content) ? content.parts : undefined)
    .map((part) => (isObject(part) && typeof part.text === 'string' && part.thought !== true ? part.text : ''))
    .join('');
}

/** Ids of calls not yet answered, oldest first, per function name. */
class OpenCalls {
  private readonly byName = new Map<string, string[]>();
  private invented = 0;

  open(name: string, id: unknown): string {
    const callId = typeof id === 'string' && id !== '' ? id : inventToolCallId(`gemini:${name}`, this.invented++);
    const queue = this.byName.get(name) ?? [];
    queue.push(callId);
    this.byName.set(name, queue);
    return callId;
  }

  answer(name: string, id: unknown): string {
    const queue = this.byName.get(name) ?? [];
    if (typeof id === 'string' && id !== '') {
      const at = queue.indexOf(id);
      if (at >= 0) queue.splice(at, 1);
      return id;
    }
    return queue.shift() ?? inventToolCallId(`gemini:${name}:orphan`, this.invented++);
  }
}

/** A functionResponse's `response` as tool output: `output` alone when that is all it holds. */
function toolOutput(response: unknown): string {
  if (isObject(response)) {
    const keys = Object.keys(response);
    if (keys.length === 1 && typeof response.output === 'string') return response.output;
  }
  return JSON.stringify(response ?? {});
}

function userTurn(parts: unknown[], calls: OpenCalls, dropped: Set<string>): OpenAIMessage[] {
  const messages: OpenAIMessage[] = [];
  let content: OpenAIUserPart[] = [];
  const flush = () => {
    if (content.length === 0) return;
    const onlyText = content.every((part) => part.type === 'text');
    messages.push({ role: 'user', content: onlyText ? content.map((part) => (part as { text: string }).text).join('') : content });
    content = [];
  };
  for (const part of parts) {
    if (!isObject(part)) continue;
    if (typeof part.text === 'string') content.push({ type: 'text', text: part.text });
    else if (isObject(part.inlineData)) {
      const { mimeType, data } = part.inlineData;
      content.push({ type: 'image_url', image_url: { url: `data:${String(mimeType)};base64,${String(data)}` } });
    } else if (isObject(part.functionResponse)) {
      // Tool results answer the model turn before: they go first, ahead of any text of this turn.
      const name = String(part.functionResponse.name ?? '');
      messages.push({ role: 'tool', tool_call_id: calls.answer(name, part.functionResponse.id), content: toolOutput(part.functionResponse.response) });
    } else if (isObject(part.fileData)) {
      content.push({ type: 'text', text: `[file: ${String(part.fileData.fileUri ?? '')}]` });
      dropped.add('fileData (sent as its URI)');
    } else dropped.add(`part ${Object.keys(part).join(',')}`);
  }
  flush();
  // A turn holding tool results and text: the results first, then the text.
  return [...messages.filter((m) => m.role === 'tool'), ...messages.filter((m) => m.role !== 'tool')];
}

function modelTurn(parts: unknown[], calls: OpenCalls): OpenAIMessage {
  let text = '';
  const toolCalls: OpenAIToolCall[] = [];
  for (const part of parts) {
    if (!isObject(part) || part.thought === true) continue;
    if (typeof part.text === 'string') text += part.text;
    else if (isObject(part.functionCall)) {
      const name = String(part.functionCall.name ?? '');
      toolCalls.push({ id: calls.open(name, part.functionCall.id), type: 'function', function: { name, arguments: JSON.stringify(part.functionCall.args ?? {}) } });
    }
  }
  return { role: 'assistant', content: text.length > 0 ? text : null, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) };
}

function toolsOf(tools: unknown, dropped: Set<string>): OpenAITool[] {
  const out: OpenAITool[] = [];
  for (const tool of list(tools)) {
    if (!isObject(tool)) continue;
    for (const key of Object.keys(tool)) if (key !== 'functionDeclarations') dropped.add(`tool ${key}`);
    for (const fn of list(tool.functionDeclarations)) {
      if (!isObject(fn) || typeof fn.name !== 'string') continue;
      const schema = fn.parametersJsonSchema ?? (fn.parameters !== undefined ? jsonSchemaOf(fn.parameters) : undefined);
      out.push({
        type: 'function',
        function: {
          name: fn.name,
          ...(typeof fn.description === 'string' ? { description: fn.description } : {}),
          parameters: (schema as JsonObject | undefined) ?? { type: 'object', properties: {} },
        },
      });
    }
  }
  return out;
}

function toolChoiceOf(toolConfig: unknown): PivotRequest['tool_choice'] | undefined {
  const config = isObject(toolConfig) && isObject(toolConfig.functionCallingConfig) ? toolConfig.functionCallingConfig : undefined;
  if (!config) return undefined;
  const allowed = list(config.allowedFunctionNames).filter((name): name is string => typeof name === 'string');
  switch (config.mode) {
    case 'NONE':
      return 'none';
    case 'ANY':
    case 'VALIDATED':
      return allowed.length === 1 ? { type: 'function', function: { name: allowed[0]! } } : 'required';
    case 'AUTO':
      return 'auto';
    default:
      return undefined;
  }
}

/** thinkingConfig → reasoning_effort: a level as it is, a budget by its size; 0 turns thinking off. */
function effortOf(thinking: unknown): string | undefined {
  if (!isObject(thinking)) return undefined;
  if (typeof thinking.thinkingLevel === 'string') return thinking.thinkingLevel.toLowerCase();
  const budget = thinking.thinkingBudget;
  if (typeof budget !== 'number') return undefined;
  if (budget === 0) return 'none';
  if (budget < 0) return 'medium'; // -1: dynamic
  return budget <= 1024 ? 'low' : budget <= 8192 ? 'medium' : 'high';
}

function responseFormatOf(config: Json): PivotRequest['response_format'] | undefined {
  const schema = config.responseJsonSchema ?? (config.responseSchema !== undefined ? jsonSchemaOf(config.responseSchema) : undefined);
  if (schema !== undefined) return { type: 'json_schema', json_schema: { name: 'response', schema: schema as JsonObject } };
  return config.responseMimeType === 'application/json' ? { type: 'json_object' } : undefined;
}

/** generationConfig fields with a pivot equivalent; the rest are named as dropped. */
const GENERATION_FIELDS = new Set(['maxOutputTokens', 'temperature', 'topP', 'topK', 'stopSequences', 'seed', 'candidateCount', 'responseMimeType', 'responseSchema', 'responseJsonSchema', 'thinkingConfig', 'presencePenalty', 'frequencyPenalty']);
/** Top-level request fields read here; the rest are named as dropped. */
const REQUEST_FIELDS = new Set(['contents', 'systemInstruction', 'system_instruction', 'generationConfig', 'tools', 'toolConfig', 'model']);

function applyGenerationConfig(request: PivotRequest, config: Json, dropped: Set<string>): void {
  if (typeof config.maxOutputTokens === 'number') request.max_completion_tokens = config.maxOutputTokens;
  if (typeof config.temperature === 'number') request.temperature = config.temperature;
  if (typeof config.topP === 'number') request.top_p = config.topP;
  if (typeof config.topK === 'number') request.top_k = config.topK;
  if (typeof config.seed === 'number') request.seed = config.seed;
  if (typeof config.presencePenalty === 'number') request.presence_penalty = config.presencePenalty;
  if (typeof config.frequencyPenalty === 'number') request.frequency_penalty = config.frequencyPenalty;
  if (typeof config.candidateCount === 'number' && config.candidateCount !== 1) dropped.add('generationConfig.candidateCount');
  const stops = list(config.stopSequences).filter((s): s is string => typeof s === 'string');
  if (stops.length > 0) request.stop = stops;
  const format = responseFormatOf(config);
  if (format) request.response_format = format;
  const effort = effortOf(config.thinkingConfig);
  if (effort !== undefined && effort !== 'none') request.reasoning_effort = effort;
  for (const [field, value] of Object.entries(config)) {
    if (value != null && !GENERATION_FIELDS.has(field)) dropped.add(`generationConfig.${field}`);
  }
}

export function geminiToPivotRequest(body: Json, model: string): GeminiToPivot {
  const dropped = new Set<string>();
  const messages: OpenAIMessage[] = [];
  const system = textOf(body.systemInstruction ?? body.system_instruction);
  if (system.length > 0) messages.push({ role: 'system', content: system });
  const calls = new OpenCalls();
  for (const content of list(body.contents)) {
    if (!isObject(content)) continue;
    const parts = list(content.parts);
    if (content.role === 'model') messages.push(modelTurn(parts, calls));
    else messages.push(...userTurn(parts, calls, dropped));
  }
  const request: PivotRequest = { model, messages };
  const tools = toolsOf(body.tools, dropped);
  if (tools.length > 0) {
    request.tools = tools;
    const choice = toolChoiceOf(body.toolConfig);
    if (choice !== undefined) request.tool_choice = choice;
  }
  if (isObject(body.generationConfig)) applyGenerationConfig(request, body.generationConfig, dropped);
  for (const [field, value] of Object.entries(body)) {
    if (value != null && !REQUEST_FIELDS.has(field)) dropped.add(field);
  }
  return { request, dropped: [...dropped] };
}
