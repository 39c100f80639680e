/**
 * OpenAI Chat Completions request → Anthropic Messages request.
 * System/developer messages are hoisted into `system`; `tool` messages become tool_result blocks
 * in a user turn; consecutive turns of one role are merged because Anthropic alternates roles.
 * System messages anywhere in the conversation are hoisted, as Anthropic's own OpenAI-compatible
 * endpoint does: not every Anthropic model or account takes them mid-conversation. What the
 * translation reads is checked as OpenAI checks it: a malformed request is a 400 in OpenAI's words.
 */
import type {
  AnthropicContentBlockParam,
  AnthropicImageBlock,
  AnthropicMessageParam,
  AnthropicMessagesRequest,
  AnthropicTool,
  AnthropicToolChoice,
  JsonObject,
} from '../anthropic.js';
import type {
  OpenAIAssistantMessage,
  OpenAIChatRequest,
  OpenAIFunctionTool,
  OpenAIMessage,
  OpenAITextPart,
  OpenAIToolChoice,
  OpenAIUserPart,
} from '../openai.js';
import { openAIReader as read, type Path } from '../invalid.js';
import { DroppedFeatures } from './dropped.js';
import { toAnthropicToolId } from './ids.js';
import { parseDataUrl } from './media.js';

export interface ToAnthropicRequestOptions {
  /** The upstream model; defaults to the request's own. */
  model?: string;
  /** Anthropic requires max_tokens; used when the OpenAI request has none. */
  defaultMaxTokens?: number;
}

export interface ToAnthropicRequestResult {
  request: AnthropicMessagesRequest;
  dropped: string[];
}

export const DEFAULT_MAX_TOKENS = 4096;

/** Fields consumed here; any other top-level field is dropped and listed. */
const TRANSLATED_FIELDS = new Set([
  'model', 'messages', 'max_completion_tokens', 'max_tokens', 'temperature', 'top_p', 'stop', 'stream',
  'stream_options', 'tools', 'tool_choice', 'parallel_tool_calls', 'user', 'safety_identifier', 'n',
]);

export function openAIToAnthropicRequest(
  req: OpenAIChatRequest,
  options: ToAnthropicRequestOptions = {},
): ToAnthropicRequestResult {
  const dropped = new DroppedFeatures();
  for (const [key, value] of Object.entries(req)) {
    if (!TRANSLATED_FIELDS.has(key) && value !== undefined && value !== null) dropped.add(key);
  }
  const n = read.may(req.n, ['n'], 'integer');
  if (n !== undefined && n !== 1) dropped.add('n');

  const systemParts: string[] = [];
  const messages: AnthropicMessageParam[] = [];
  read.need(req.messages, ['messages'], 'list').forEach((raw, i) => {
    const path = ['messages', i];
    const message = read.need(raw, path, 'object') as unknown as OpenAIMessage;
    const role = read.need(message.role, [...path, 'role'], 'string');
    if (role === 'system' || role === 'developer') {
      systemParts.push(textOf(read.content(message.content, [...path, 'content']), [...path, 'content']));
      return;
    }
    const turn = translateMessage(message, path, dropped);
    if (turn) appendTurn(messages, turn);
  });

  const out: AnthropicMessagesRequest = {
    model: options.model ?? req.model,
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? options.defaultMaxTokens ?? DEFAULT_MAX_TOKENS,
    messages,
  };
  const system = systemParts.filter((part) => part.length > 0).join('\n');
  if (system.length > 0) out.system = system;
  const temperature = read.may(req.temperature, ['temperature'], 'number');
  if (temperature !== undefined) {
    // OpenAI allows 0–2, Anthropic 0–1.
    if (temperature > 1) dropped.add('temperature above 1 (clamped)');
    out.temperature = Math.min(1, temperature);
  }
  const topP = read.may(req.top_p, ['top_p'], 'number');
  if (topP !== undefined) out.top_p = topP;
  const stops = stopList(req.stop);
  // Anthropic rejects stop sequences made only of whitespace.
  const usableStops = stops.filter((stop) => stop.trim().length > 0);
  if (usableStops.length < stops.length) dropped.add('whitespace-only stop sequence');
  if (usableStops.length > 0) out.stop_sequences = usableStops;
  if (req.stream) out.stream = true;
  const user = read.may(req.user, ['user'], 'string') ?? read.may(req.safety_identifier, ['safety_identifier'], 'string');
  if (user) out.metadata = { user_id: user };

  const tools = (read.may(req.tools, ['tools'], 'list') ?? []).flatMap((raw, i): AnthropicTool[] => {
    const path = ['tools', i];
    const tool = read.need(raw, path, 'object');
    const type = read.need(tool.type, [...path, 'type'], 'string');
    if (type !== 'function') {
      dropped.add(`tool type ${type}`);
      return [];
    }
    const fn = read.need(tool.function, [...path, 'function'], 'object') as OpenAIFunctionTool['function'];
    const name = read.need(fn.name, [...path, 'function', 'name'], 'string');
    if (fn.strict) dropped.add('tools[].function.strict');
    const parameters = read.may(fn.parameters, [...path, 'function', 'parameters'], 'object');
    const translated: AnthropicTool = { name, input_schema: parameters ?? { type: 'object', properties: {} } };
    const description = read.may(fn.description, [...path, 'function', 'description'], 'string');
    if (description !== undefined) translated.description = description;
    return [translated];
  });
  const choiceGiven = req.tool_choice !== undefined && req.tool_choice !== null;
  if (tools.length > 0) {
    out.tools = tools;
    const choice = translateToolChoice(req.tool_choice ?? undefined, dropped);
    if (read.may(req.parallel_tool_calls, ['parallel_tool_calls'], 'boolean') === false && choice?.type !== 'none') {
      out.tool_choice = { ...(choice ?? { type: 'auto' }), disable_parallel_tool_use: true } as AnthropicToolChoice;
    } else if (choice) out.tool_choice = choice;
  } else if (choiceGiven && req.tool_choice !== 'none') dropped.add('tool_choice');
  return { request: out, dropped: dropped.list() };
}

/** `stop`: a string or a list of strings. */
function stopList(stop: unknown): string[] {
  if (stop === undefined || stop === null) return [];
  if (typeof stop === 'string') return [stop];
  const list = read.need(stop, ['stop'], 'list');
  return list.map((item, i) => read.need(item, ['stop', i], 'string'));
}

/** The text of a system, developer or tool message (a string or text parts). */
function textOf(content: string | unknown[] | undefined, path: Path): string {
  if (content === undefined) return '';
  if (typeof content === 'string') return content;
  return content
    .map((raw, i) => {
      const part = read.need(raw, [...path, i], 'object');
      const type = read.need(part.type, [...path, i, 'type'], 'string');
      if (type === 'text') return read.need(part.text, [...path, i, 'text'], 'string');
      if (type === 'refusal') return read.need(part.refusal, [...path, i, 'refusal'], 'string');
      return '';
    })
    .join('');
}

function translateMessage(message: OpenAIMessage, path: Path, dropped: DroppedFeatures): AnthropicMessageParam | undefined {
  switch (message.role) {
    case 'user':
      return { role: 'user', content: userBlocks(read.content(message.content, [...path, 'content'])!, [...path, 'content'], dropped) };
    case 'assistant':
      return assistantTurn(message, path, dropped);
    case 'tool': {
      const id = read.need(message.tool_call_id, [...path, 'tool_call_id'], 'string');
      const content = textOf(read.content(message.content, [...path, 'content']), [...path, 'content']);
      return { role: 'user', content: [{ type: 'tool_result', tool_use_id: toAnthropicToolId(id), content }] };
    }
    default:
      dropped.add(`message role ${message.role}`);
      return undefined;
  }
}

function userBlocks(content: string | unknown[], path: Path, dropped: DroppedFeatures): AnthropicContentBlockParam[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return content.flatMap((raw, i): AnthropicContentBlockParam[] => {
    const at = [...path, i];
    const part = read.need(raw, at, 'object') as unknown as OpenAIUserPart;
    switch (read.need(part.type, [...at, 'type'], 'string')) {
      case 'text':
        return [{ type: 'text', text: read.need((part as OpenAITextPart).text, [...at, 'text'], 'string') }];
      case 'image_url': {
        const image = read.need((part as { image_url?: unknown }).image_url, [...at, 'image_url'], 'object');
        const url = read.need(image.url, [...at, 'image_url', 'url'], 'string');
        const inline = parseDataUrl(url);
        const block: AnthropicImageBlock = inline
          ? { type: 'image', source: { type: 'base64', media_type: inline.mediaType, data: inline.base64 } }
          : { type: 'image', source: { type: 'url', url } };
        return [block];
      }
      case 'file': {
        const file = read.need((part as { file?: unknown }).file, [...at, 'file'], 'object');
        const data = read.may(file.file_data, [...at, 'file', 'file_data'], 'string');
        const inline = data ? parseDataUrl(data) : undefined;
        if (inline) {
          const title = read.may(file.filename, [...at, 'file', 'filename'], 'string');
          return [{ type: 'document', source: { type: 'base64', media_type: inline.mediaType, data: inline.base64 }, ...(title ? { title } : {}) }];
        }
        dropped.add('file part without inline data');
        return [];
      }
      default:
        dropped.add(`content part ${part.type}`);
        return [];
    }
  });
}

function assistantTurn(message: OpenAIAssistantMessage, path: Path, dropped: DroppedFeatures): AnthropicMessageParam | undefined {
  const blocks: AnthropicContentBlockParam[] = [];
  const refusal = read.may(message.refusal, [...path, 'refusal'], 'string');
  const text = textOf(read.content(message.content, [...path, 'content'], true), [...path, 'content']) || (refusal ?? '');
  if (text.length > 0) blocks.push({ type: 'text', text });
  (read.may(message.tool_calls, [...path, 'tool_calls'], 'list') ?? []).forEach((raw, i) => {
    const at = [...path, 'tool_calls', i];
    const call = read.need(raw, at, 'object');
    const id = read.need(call.id, [...at, 'id'], 'string');
    const fn = read.need(call.function, [...at, 'function'], 'object');
    const name = read.need(fn.name, [...at, 'function', 'name'], 'string');
    const args = read.may(fn.arguments, [...at, 'function', 'arguments'], 'string') ?? '';
    blocks.push({ type: 'tool_use', id: toAnthropicToolId(id), name, input: parseArguments(args, dropped) });
  });
  // Anthropic rejects empty assistant turns.
  return blocks.length > 0 ? { role: 'assistant', content: blocks } : undefined;
}

/** Tool arguments as an object; anything that is not a JSON object becomes {} (and is listed). */
export function parseArguments(text: string, dropped?: DroppedFeatures): JsonObject {
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as JsonObject;
  } catch {
    // fall through
  }
  dropped?.add('invalid tool call arguments (replaced by {})');
  return {};
}

/** Anthropic requires alternating roles: a turn with the previous turn's role is merged into it. */
function appendTurn(messages: AnthropicMessageParam[], turn: AnthropicMessageParam): void {
  const last = messages[messages.length - 1];
  if (!last || last.role !== turn.role) {
    messages.push(turn);
    return;
  }
  const merged = [...asBlocks(last.content), ...asBlocks(turn.content)];
  // tool_result blocks must lead a user turn.
  if (turn.role === 'user') merged.sort((a, b) => Number(b.type === 'tool_result') - Number(a.type === 'tool_result'));
  last.content = merged;
}

function asBlocks(content: AnthropicMessageParam['content']): AnthropicContentBlockParam[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

function translateToolChoice(choice: OpenAIToolChoice | undefined, dropped: DroppedFeatures): AnthropicToolChoice | undefined {
  if (choice === undefined) return undefined;
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'required') return { type: 'any' };
  if (choice === 'none') return { type: 'none' };
  if (typeof choice === 'object' && choice !== null && choice.type === 'function') {
    const fn = read.need((choice as { function?: unknown }).function, ['tool_choice', 'function'], 'object');
    return { type: 'tool', name: read.need(fn.name, ['tool_choice', 'function', 'name'], 'string') };
  }
  if (typeof choice !== 'string' && (typeof choice !== 'object' || choice === null)) {
    read.need(choice, ['tool_choice'], 'string');
  }
  dropped.add(`tool_choice ${typeof choice === 'object' ? choice.type : String(choice)}`);
  return undefined;
}
