/**
 * Anthropic Messages request → OpenAI Chat Completions request.
 * Features OpenAI has no place for (thinking, cache_control, container, …) are left out and named
 * in `dropped`, never forwarded as unknown fields.
 */
import type {
  AnthropicContentBlock,
  AnthropicContentBlockParam,
  AnthropicDocumentBlock,
  AnthropicImageBlock,
  AnthropicMessageParam,
  AnthropicMessagesRequest,
  AnthropicTool,
  AnthropicToolChoice,
  AnthropicToolResultBlock,
  AnthropicToolUseBlock,
} from '../anthropic.js';
import type {
  OpenAIAssistantMessage,
  OpenAIChatRequest,
  OpenAIFunctionTool,
  OpenAIMessage,
  OpenAIToolCall,
  OpenAIToolChoice,
  OpenAIUserPart,
} from '../openai.js';
import { DroppedFeatures } from './dropped.js';
import { toDataUrl } from './media.js';

export interface ToOpenAIRequestOptions {
  /** The upstream model; defaults to the request's own. */
  model?: string;
  /** OpenAI's reasoning models reject `max_tokens`; older compatible servers know only `max_tokens`. */
  maxTokensField?: 'max_completion_tokens' | 'max_tokens';
}

export interface ToOpenAIRequestResult {
  request: OpenAIChatRequest;
  dropped: string[];
}

/** Fields this translator understands; any other top-level field is dropped and listed. */
const TRANSLATED_FIELDS = new Set([
  'model', 'max_tokens', 'messages', 'system', 'stop_sequences', 'stream', 'temperature', 'top_p',
  'tools', 'tool_choice', 'metadata',
]);

export function anthropicToOpenAIRequest(
  req: AnthropicMessagesRequest,
  options: ToOpenAIRequestOptions = {},
): ToOpenAIRequestResult {
  const dropped = new DroppedFeatures();
  for (const key of Object.keys(req)) {
    if (!TRANSLATED_FIELDS.has(key) && (req as unknown as Record<string, unknown>)[key] !== undefined) dropped.add(key);
  }

  const messages: OpenAIMessage[] = [];
  const system = systemText(req.system, dropped);
  if (system !== undefined) messages.push({ role: 'system', content: system });
  for (const message of req.messages) messages.push(...translateMessage(message, dropped));

  const out: OpenAIChatRequest = { model: options.model ?? req.model, messages };
  out[options.maxTokensField ?? 'max_completion_tokens'] = req.max_tokens;
  if (req.temperature !== undefined) out.temperature = req.temperature;
  if (req.top_p !== undefined) out.top_p = req.top_p;
  if (req.stop_sequences !== undefined && req.stop_sequences.length > 0) out.stop = req.stop_sequences;
  if (req.stream) {
    out.stream = true;
    // Always ask for usage: the Anthropic client expects token counts at the end of the stream.
    out.stream_options = { include_usage: true };
  }
  if (req.metadata?.user_id) out.user = req.metadata.user_id;

  const tools = (req.tools ?? []).flatMap((tool) => translateTool(tool, dropped));
  if (tools.length > 0) {
    out.tools = tools;
    if (req.tool_choice !== undefined) {
      out.tool_choice = translateToolChoice(req.tool_choice);
      // OpenAI rejects parallel_tool_calls without tools, so it is set only here.
      if ('disable_parallel_tool_use' in req.tool_choice && req.tool_choice.disable_parallel_tool_use) {
        out.parallel_tool_calls = false;
      }
    }
  } else if (req.tool_choice !== undefined && req.tool_choice.type !== 'none') {
    dropped.add('tool_choice');
  }
  return { request: out, dropped: dropped.list() };
}

function systemText(system: AnthropicMessagesRequest['system'], dropped: DroppedFeatures): string | undefined {
  if (system === undefined) return undefined;
  if (typeof system === 'string') return system.length > 0 ? system : undefined;
  for (const block of system) if (block.cache_control) dropped.add('cache_control');
  const text = system.map((block) => block.text).join('\n\n');
  return text.length > 0 ? text : undefined;
}

function blocksOf(content: AnthropicMessageParam['content']): AnthropicContentBlockParam[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

function noteCacheControl(block: AnthropicContentBlockParam, dropped: DroppedFeatures): void {
  if ('cache_control' in block && block.cache_control) dropped.add('cache_control');
}

function translateMessage(message: AnthropicMessageParam, dropped: DroppedFeatures): OpenAIMessage[] {
  if (message.role === 'assistant') return [translateAssistant(message, dropped)];
  if (typeof message.content === 'string') return [{ role: 'user', content: message.content }];

  // Tool results become `tool` messages, which must directly follow the assistant's tool calls;
  // the rest of the user turn (text, images) follows them as one user message.
  const toolMessages: OpenAIMessage[] = [];
  const parts: OpenAIUserPart[] = [];
  for (const block of message.content) {
    noteCacheControl(block, dropped);
    if (block.type === 'tool_result') {
      const result = block as AnthropicToolResultBlock;
      const { text, images } = toolResultContent(result, dropped);
      toolMessages.push({ role: 'tool', tool_call_id: result.tool_use_id, content: text });
      parts.push(...images);
    } else {
      const part = userPart(block, dropped);
      if (part) parts.push(part);
    }
  }
  const out = toolMessages;
  if (parts.length > 0) {
    const only = parts[0]!;
    const content = parts.length === 1 && only.type === 'text' ? (only as { text: string }).text : parts;
    out.push({ role: 'user', content });
  }
  return out;
}

function userPart(block: AnthropicContentBlockParam, dropped: DroppedFeatures): OpenAIUserPart | undefined {
  switch (block.type) {
    case 'text':
      return { type: 'text', text: (block as { text: string }).text };
    case 'image':
      return imagePart(block as AnthropicImageBlock, dropped);
    case 'document':
      return documentPart(block as AnthropicDocumentBlock, dropped);
    case 'thinking':
    case 'redacted_thinking':
      dropped.add('thinking');
      return undefined;
    default:
      dropped.add(`content block ${block.type}`);
      return undefined;
  }
}

function imagePart(block: AnthropicImageBlock, dropped: DroppedFeatures): OpenAIUserPart | undefined {
  const source = block.source;
  if (source.type === 'base64') return { type: 'image_url', image_url: { url: toDataUrl(source.media_type, source.data) } };
  if (source.type === 'url') return { type: 'image_url', image_url: { url: source.url } };
  dropped.add('image file_id source');
  return undefined;
}

function documentPart(block: AnthropicDocumentBlock, dropped: DroppedFeatures): OpenAIUserPart | undefined {
  const source = block.source;
  if (source.type === 'text') return { type: 'text', text: source.data };
  if (source.type === 'base64') {
    return { type: 'file', file: { file_data: toDataUrl(source.media_type, source.data), filename: block.title ?? 'document.pdf' } };
  }
  dropped.add(`document ${source.type} source`);
  return undefined;
}

function toolResultContent(
  block: AnthropicToolResultBlock,
  dropped: DroppedFeatures,
): { text: string; images: OpenAIUserPart[] } {
  const texts: string[] = [];
  const images: OpenAIUserPart[] = [];
  if (typeof block.content === 'string') texts.push(block.content);
  else {
    for (const inner of block.content ?? []) {
      noteCacheControl(inner, dropped);
      if (inner.type === 'text') texts.push(inner.text);
      else {
        // A tool message holds text only; images ride along in the user message that follows.
        const part = userPart(inner, dropped);
        if (part) images.push(part);
      }
    }
  }
  const text = texts.join('\n');
  // OpenAI has no error flag on tool results; say it in the text so the model still knows.
  return { text: block.is_error ? `Error: ${text}` : text, images };
}

/**
 * An Anthropic assistant turn's blocks (a request's history or a response) as OpenAI has them:
 * texts and tool calls. Thinking and other blocks have no place there and are named in `dropped`.
 */
export function assistantBlocksToOpenAI(blocks: ReadonlyArray<AnthropicContentBlockParam | AnthropicContentBlock>, dropped: DroppedFeatures): { texts: string[]; toolCalls: OpenAIToolCall[] } {
  const texts: string[] = [];
  const toolCalls: OpenAIToolCall[] = [];
  for (const block of blocks) {
    if (block.type === 'text') texts.push((block as { text: string }).text);
    else if (block.type === 'tool_use') {
      const use = block as AnthropicToolUseBlock;
      toolCalls.push({ id: use.id, type: 'function', function: { name: use.name, arguments: JSON.stringify(use.input ?? {}) } });
    } else if (block.type === 'thinking' || block.type === 'redacted_thinking') dropped.add('thinking');
    else dropped.add(`content block ${block.type}`);
  }
  return { texts, toolCalls };
}

function translateAssistant(message: AnthropicMessageParam, dropped: DroppedFeatures): OpenAIAssistantMessage {
  const blocks = blocksOf(message.content);
  for (const block of blocks) noteCacheControl(block, dropped);
  const { texts, toolCalls } = assistantBlocksToOpenAI(blocks, dropped);
  const out: OpenAIAssistantMessage = { role: 'assistant', content: texts.length > 0 ? texts.join('\n') : null };
  if (toolCalls.length > 0) out.tool_calls = toolCalls;
  return out;
}

function translateTool(tool: AnthropicTool, dropped: DroppedFeatures): OpenAIFunctionTool[] {
  if (tool.type !== undefined && tool.type !== 'custom') {
    dropped.add(`server tool ${tool.type}`);
    return [];
  }
  if (tool.cache_control) dropped.add('cache_control');
  if (tool.strict !== undefined) dropped.add('tools[].strict');
  const fn: OpenAIFunctionTool['function'] = { name: tool.name, parameters: tool.input_schema ?? { type: 'object', properties: {} } };
  if (tool.description !== undefined) fn.description = tool.description;
  return [{ type: 'function', function: fn }];
}

function translateToolChoice(choice: AnthropicToolChoice): OpenAIToolChoice {
  switch (choice.type) {
    case 'any':
      return 'required';
    case 'tool':
      return { type: 'function', function: { name: choice.name } };
    case 'none':
      return 'none';
    default:
      return 'auto';
  }
}
