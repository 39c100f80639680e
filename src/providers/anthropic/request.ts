/**
 * OpenAI Chat Completions request → Anthropic Messages request.
 * System/developer messages are hoisted into `system`; `tool` messages become tool_result blocks
 * in a user turn; consecutive turns of one role are merged because Anthropic alternates roles.
 * System messages anywhere in the conversation are hoisted, as Anthropic's own OpenAI-compatible
 * endpoint does: not every Anthropic model or account takes them mid-conversation. What is read
 * is checked first (openai-check.ts): a malformed request is a 400 in OpenAI's words.
 */
import type {
  AnthropicContentBlockParam,
  AnthropicImageBlock,
  AnthropicMessageParam,
  AnthropicMessagesRequest,
  AnthropicTool,
  AnthropicToolChoice,
} from '../../protocol/anthropic.js';
import type {
  OpenAIAssistantMessage,
  OpenAIChatRequest,
  OpenAIFunctionTool,
  OpenAIMessage,
  OpenAITextPart,
  OpenAIToolChoice,
  OpenAIUserPart,
} from '../../protocol/openai.js';
import { DroppedFeatures } from '../../protocol/dropped.js';
import { checkOpenAIRequest } from '../../protocol/openai-check.js';
import { toAnthropicToolId } from '../../protocol/ids.js';
import { parseArguments } from '../../protocol/tool-arguments.js';
import { parseDataUrl } from '../../protocol/media.js';

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
  'model', 'messages', 'max_completion_tokens', 'max_tokens', 'temperature', 'top_p', 'top_k', 'stop', 'stream',
  'stream_options', 'tools', 'tool_choice', 'parallel_tool_calls', 'user', 'safety_identifier', 'n',
]);

export function pivotToAnthropicRequest(
  req: OpenAIChatRequest,
  options: ToAnthropicRequestOptions = {},
): ToAnthropicRequestResult {
  checkOpenAIRequest(req);
  const dropped = new DroppedFeatures();
  for (const [key, value] of Object.entries(req)) {
    if (!TRANSLATED_FIELDS.has(key) && value !== undefined && value !== null) dropped.add(key);
  }
  if (req.n !== undefined && req.n !== null && req.n !== 1) dropped.add('n');

  const systemParts: string[] = [];
  const messages: AnthropicMessageParam[] = [];
  for (const message of req.messages) {
    if (message.role === 'system' || message.role === 'developer') {
      systemParts.push(textOf(message.content));
      continue;
    }
    const turn = translateMessage(message, dropped);
    if (turn) appendTurn(messages, turn);
  }

  const out: AnthropicMessagesRequest = {
    model: options.model ?? req.model,
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? options.defaultMaxTokens ?? DEFAULT_MAX_TOKENS,
    messages,
  };
  const system = systemParts.filter((part) => part.length > 0).join('\n');
  if (system.length > 0) out.system = system;
  if (req.temperature !== undefined && req.temperature !== null) {
    // OpenAI allows 0–2, Anthropic 0–1.
    if (req.temperature > 1) dropped.add('temperature above 1 (clamped)');
    out.temperature = Math.min(1, req.temperature);
  }
  if (req.top_p !== undefined && req.top_p !== null) out.top_p = req.top_p;
  // The pivot's top_k extension (a Gemini client's topK).
  const topK = (req as { top_k?: unknown }).top_k;
  if (typeof topK === 'number') out.top_k = topK;
  const stops = req.stop === undefined || req.stop === null ? [] : typeof req.stop === 'string' ? [req.stop] : req.stop;
  // Anthropic rejects stop sequences made only of whitespace.
  const usableStops = stops.filter((stop) => stop.trim().length > 0);
  if (usableStops.length < stops.length) dropped.add('whitespace-only stop sequence');
  if (usableStops.length > 0) out.stop_sequences = usableStops;
  if (req.stream) out.stream = true;
  const user = req.user ?? (req.safety_identifier as string | undefined);
  if (user) out.metadata = { user_id: user };

  const tools = (req.tools ?? []).flatMap((tool): AnthropicTool[] => {
    if (tool.type !== 'function') {
      dropped.add(`tool type ${tool.type}`);
      return [];
    }
    const fn = (tool as OpenAIFunctionTool).function;
    if (fn.strict) dropped.add('tools[].function.strict');
    const translated: AnthropicTool = { name: fn.name, input_schema: fn.parameters ?? { type: 'object', properties: {} } };
    if (fn.description !== undefined) translated.description = fn.description;
    return [translated];
  });
  if (tools.length > 0) {
    out.tools = tools;
    const choice = translateToolChoice(req.tool_choice ?? undefined, dropped);
    if (req.parallel_tool_calls === false && choice?.type !== 'none') {
      out.tool_choice = { ...(choice ?? { type: 'auto' }), disable_parallel_tool_use: true } as AnthropicToolChoice;
    } else if (choice) out.tool_choice = choice;
  } else if (req.tool_choice != null && req.tool_choice !== 'none') dropped.add('tool_choice');
  return { request: out, dropped: dropped.list() };
}

function textOf(content: string | Array<{ type: string; text?: string; refusal?: string }> | null | undefined): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' ? part.text ?? '' : part.type === 'refusal' ? part.refusal ?? '' : '')).join('');
}

function translateMessage(message: OpenAIMessage, dropped: DroppedFeatures): AnthropicMessageParam | undefined {
  switch (message.role) {
    case 'user':
      return { role: 'user', content: userBlocks(message.content, dropped) };
    case 'assistant':
      return assistantTurn(message, dropped);
    case 'tool':
      return {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: toAnthropicToolId(message.tool_call_id), content: textOf(message.content) }],
      };
    default:
      dropped.add(`message role ${message.role}`);
      return undefined;
  }
}

function userBlocks(content: string | OpenAIUserPart[], dropped: DroppedFeatures): AnthropicContentBlockParam[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return content.flatMap((part): AnthropicContentBlockParam[] => {
    switch (part.type) {
      case 'text':
        return [{ type: 'text', text: (part as OpenAITextPart).text }];
      case 'image_url': {
        const url = (part as { image_url: { url: string } }).image_url.url;
        const inline = parseDataUrl(url);
        const image: AnthropicImageBlock = inline
          ? { type: 'image', source: { type: 'base64', media_type: inline.mediaType, data: inline.base64 } }
          : { type: 'image', source: { type: 'url', url } };
        return [image];
      }
      case 'file': {
        const file = (part as { file: { file_data?: string; filename?: string } }).file;
        const inline = file.file_data ? parseDataUrl(file.file_data) : undefined;
        if (inline) {
          const title = file.filename;
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

function assistantTurn(message: OpenAIAssistantMessage, dropped: DroppedFeatures): AnthropicMessageParam | undefined {
  const blocks: AnthropicContentBlockParam[] = [];
  const text = textOf(message.content) || (message.refusal ?? '');
  if (text.length > 0) blocks.push({ type: 'text', text });
  for (const call of message.tool_calls ?? []) {
    blocks.push({ type: 'tool_use', id: toAnthropicToolId(call.id), name: call.function.name, input: parseArguments(call.function.arguments, dropped) });
  }
  // Anthropic rejects empty assistant turns.
  return blocks.length > 0 ? { role: 'assistant', content: blocks } : undefined;
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
  if (typeof choice === 'object' && choice.type === 'function') {
    return { type: 'tool', name: (choice as { function: { name: string } }).function.name };
  }
  dropped.add(`tool_choice ${typeof choice === 'object' ? choice.type : String(choice)}`);
  return undefined;
}
