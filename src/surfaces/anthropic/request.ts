/**
 * Anthropic Messages request → the pivot (an OpenAI Chat Completions request).
 * Features OpenAI has no place for (cache_control, container, context_management, deferred tools,
 * …) are left out and named in `dropped`, never forwarded as unknown fields. What the translation
 * reads is checked as Anthropic checks it, so a malformed request is a 400 in Anthropic's wording.
 *
 * Mapped beyond the obvious: a mid-conversation `system` message stays a `system` message in its
 * place; `output_config.effort` (or a thinking budget) becomes `reasoning_effort` for models that
 * take it (see reasoning.ts); `output_config.format` becomes `response_format`; `strict` tools stay
 * strict.
 */
import type {
  AnthropicContentBlockParam,
  AnthropicDocumentBlock,
  AnthropicImageBlock,
  AnthropicMessageParam,
  AnthropicMessagesRequest,
  AnthropicTool,
  AnthropicToolChoice,
  AnthropicToolResultBlock,
} from '../../protocol/anthropic.js';
import type {
  OpenAIAssistantMessage,
  OpenAIChatRequest,
  OpenAIFunctionTool,
  OpenAIMessage,
  OpenAIToolChoice,
  OpenAIUserPart,
} from '../../protocol/openai.js';
import { anthropicFault, anthropicReader as read, InvalidRequest, type Path } from '../../protocol/invalid.js';
import { DroppedFeatures } from '../../protocol/dropped.js';
import { toDataUrl } from '../../protocol/media.js';
import { reasoningEffortFor } from '../../protocol/reasoning.js';
import { assistantBlocksToOpenAI } from '../../protocol/anthropic-blocks.js';

export interface ToPivotRequestOptions {
  /**
   * The upstream model; defaults to the request's own. Thinking becomes `reasoning_effort` only
   * for models that take it, so what is left out is named in the client's own terms.
   */
  model?: string;
}

export interface ToPivotRequestResult {
  request: OpenAIChatRequest;
  dropped: string[];
}

/** Fields this translator understands; any other top-level field is dropped and listed. */
const TRANSLATED_FIELDS = new Set([
  'model', 'max_tokens', 'messages', 'system', 'stop_sequences', 'stream', 'temperature', 'top_p', 'top_k',
  'tools', 'tool_choice', 'metadata', 'thinking', 'output_config',
]);

export function anthropicToPivotRequest(
  req: AnthropicMessagesRequest,
  options: ToPivotRequestOptions = {},
): ToPivotRequestResult {
  const dropped = new DroppedFeatures();
  for (const key of Object.keys(req)) {
    if (!TRANSLATED_FIELDS.has(key) && (req as unknown as Record<string, unknown>)[key] !== undefined) dropped.add(key);
  }

  const messages: OpenAIMessage[] = [];
  const system = systemText(req.system, ['system'], dropped);
  if (system !== undefined) messages.push({ role: 'system', content: system });
  read.need(req.messages, ['messages'], 'list').forEach((message, i) => messages.push(...translateMessage(message, i, dropped)));

  const model = options.model ?? req.model;
  const out: OpenAIChatRequest = { model, messages };
  out.max_completion_tokens = req.max_tokens;
  if (req.temperature !== undefined) out.temperature = req.temperature;
  if (req.top_p !== undefined) out.top_p = req.top_p;
  if (req.top_k !== undefined) out.top_k = req.top_k;
  const stops = read.may(req.stop_sequences, ['stop_sequences'], 'list') ?? [];
  stops.forEach((stop, i) => read.need(stop, ['stop_sequences', i], 'string'));
  if (stops.length > 0) out.stop = stops as string[];
  if (req.stream) {
    out.stream = true;
    // Always ask for usage: the Anthropic client expects token counts at the end of the stream.
    out.stream_options = { include_usage: true };
  }
  const metadata = read.may(req.metadata, ['metadata'], 'object');
  const userId = read.may(metadata?.user_id, ['metadata', 'user_id'], 'string');
  if (userId) out.user = userId;
  reasoning(req, model, out, dropped);
  outputFormat(req, out, dropped);

  const tools = (read.may(req.tools, ['tools'], 'list') ?? []).flatMap((tool, i) => translateTool(tool, i, dropped));
  const choice = read.may(req.tool_choice, ['tool_choice'], 'object') as AnthropicToolChoice | undefined;
  if (choice) read.need(choice.type, ['tool_choice', 'type'], 'string');
  if (tools.length > 0) {
    out.tools = tools;
    if (choice) {
      out.tool_choice = translateToolChoice(choice);
      // OpenAI rejects parallel_tool_calls without tools, so it is set only here.
      if ('disable_parallel_tool_use' in choice && choice.disable_parallel_tool_use) out.parallel_tool_calls = false;
    }
  } else if (choice && choice.type !== 'none') {
    dropped.add('tool_choice');
  }
  return { request: out, dropped: dropped.list() };
}

/** `thinking` and `output_config.effort` as `reasoning_effort`, where the target model takes it. */
function reasoning(req: AnthropicMessagesRequest, model: string, out: OpenAIChatRequest, dropped: DroppedFeatures): void {
  const thinking = read.may(req.thinking, ['thinking'], 'object');
  const config = read.may(req.output_config, ['output_config'], 'object');
  const effort = read.may(config?.effort, ['output_config', 'effort'], 'string');
  const budget = read.may(thinking?.budget_tokens, ['thinking', 'budget_tokens'], 'integer');
  const asked = { thinking: read.may(thinking?.type, ['thinking', 'type'], 'string'), effort, budget };
  const mapped = reasoningEffortFor(model, asked);
  if (mapped !== undefined) out.reasoning_effort = mapped;
  else {
    if (thinking && asked.thinking !== 'disabled') dropped.add('thinking');
    if (effort !== undefined) dropped.add('output_config.effort');
  }
}

/** `output_config.format` (structured output) as `response_format`. */
function outputFormat(req: AnthropicMessagesRequest, out: OpenAIChatRequest, dropped: DroppedFeatures): void {
  const config = read.may(req.output_config, ['output_config'], 'object');
  const format = read.may(config?.format, ['output_config', 'format'], 'object');
  if (!format) return;
  if (format.type === 'json_schema') {
    const schema = read.need(format.schema, ['output_config', 'format', 'schema'], 'object');
    out.response_format = { type: 'json_schema', json_schema: { name: 'output', schema, strict: true } };
  } else dropped.add(`output_config.format ${String(format.type)}`);
  for (const key of Object.keys(config!)) if (key !== 'effort' && key !== 'format') dropped.add(`output_config.${key}`);
}

function systemText(system: unknown, path: Path, dropped: DroppedFeatures): string | undefined {
  const content = read.content(system, path, true);
  if (content === undefined) return undefined;
  if (typeof content === 'string') return content.length > 0 ? content : undefined;
  const texts = content.map((block, i) => {
    const text = read.need(block, [...path, i], 'object');
    if (text.cache_control) dropped.add('cache_control');
    return read.need(text.text, [...path, i, 'text'], 'string');
  });
  const text = texts.join('\n\n');
  return text.length > 0 ? text : undefined;
}

/** A message's blocks, each an object with a type (checked, as Anthropic does). */
function blocksOf(content: unknown, path: Path): AnthropicContentBlockParam[] {
  const value = read.content(content, path)!;
  if (typeof value === 'string') return [{ type: 'text', text: value }];
  return value.map((block, i) => {
    const object = read.need(block, [...path, i], 'object');
    read.need(object.type, [...path, i, 'type'], 'string');
    return object as unknown as AnthropicContentBlockParam;
  });
}

function noteCacheControl(block: AnthropicContentBlockParam, dropped: DroppedFeatures): void {
  if ('cache_control' in block && block.cache_control) dropped.add('cache_control');
}

function translateMessage(raw: unknown, index: number, dropped: DroppedFeatures): OpenAIMessage[] {
  const path = ['messages', index];
  const message = read.need(raw, path, 'object') as unknown as AnthropicMessageParam;
  if (message.content === undefined || message.content === null) throw new InvalidRequest(anthropicFault.missing([...path, 'content']));
  // The newest API takes system messages mid-conversation; OpenAI keeps them in their place too.
  if (message.role === 'system') {
    const text = systemText(message.content, [...path, 'content'], dropped);
    return text === undefined ? [] : [{ role: 'system', content: text }];
  }
  if (message.role === 'assistant') return [translateAssistant(message, path, dropped)];
  // Worded as Anthropic words it: Claude Code then retries without its system message.
  if (message.role !== 'user') throw new InvalidRequest(anthropicFault.role(index));
  if (typeof message.content === 'string') return [{ role: 'user', content: message.content }];

  // Tool results become `tool` messages, which must directly follow the assistant's tool calls;
  // the rest of the user turn (text, images) follows them as one user message.
  const toolMessages: OpenAIMessage[] = [];
  const parts: OpenAIUserPart[] = [];
  blocksOf(message.content, [...path, 'content']).forEach((block, i) => {
    const at = [...path, 'content', i];
    noteCacheControl(block, dropped);
    if (block.type === 'tool_result') {
      const result = block as AnthropicToolResultBlock;
      const id = read.need(result.tool_use_id, [...at, 'tool_use_id'], 'string');
      const { text, images } = toolResultContent(result, at, dropped);
      toolMessages.push({ role: 'tool', tool_call_id: id, content: text });
      parts.push(...images);
    } else {
      const part = userPart(block, at, dropped);
      if (part) parts.push(part);
    }
  });
  const out = toolMessages;
  if (parts.length > 0) {
    const only = parts[0]!;
    const content = parts.length === 1 && only.type === 'text' ? (only as { text: string }).text : parts;
    out.push({ role: 'user', content });
  }
  return out;
}

function userPart(block: AnthropicContentBlockParam, path: Path, dropped: DroppedFeatures): OpenAIUserPart | undefined {
  switch (block.type) {
    case 'text':
      return { type: 'text', text: read.need((block as { text?: unknown }).text, [...path, 'text'], 'string') };
    case 'image':
      return imagePart(block as AnthropicImageBlock, path, dropped);
    case 'document':
      return documentPart(block as AnthropicDocumentBlock, path, dropped);
    case 'thinking':
    case 'redacted_thinking':
      dropped.add('thinking');
      return undefined;
    default:
      dropped.add(`content block ${block.type}`);
      return undefined;
  }
}

/** A media block's source: an object with a type, and the fields that type needs. */
function sourceOf(block: { source?: unknown }, path: Path): Record<string, unknown> & { type: string } {
  const source = read.need(block.source, [...path, 'source'], 'object');
  read.need(source.type, [...path, 'source', 'type'], 'string');
  return source as Record<string, unknown> & { type: string };
}

function imagePart(block: AnthropicImageBlock, path: Path, dropped: DroppedFeatures): OpenAIUserPart | undefined {
  const source = sourceOf(block, path);
  const at = [...path, 'source'];
  if (source.type === 'base64') {
    const mediaType = read.need(source.media_type, [...at, 'media_type'], 'string');
    return { type: 'image_url', image_url: { url: toDataUrl(mediaType, read.need(source.data, [...at, 'data'], 'string')) } };
  }
  if (source.type === 'url') return { type: 'image_url', image_url: { url: read.need(source.url, [...at, 'url'], 'string') } };
  dropped.add(`image ${source.type} source`);
  return undefined;
}

function documentPart(block: AnthropicDocumentBlock, path: Path, dropped: DroppedFeatures): OpenAIUserPart | undefined {
  const source = sourceOf(block, path);
  const at = [...path, 'source'];
  if (source.type === 'text') return { type: 'text', text: read.need(source.data, [...at, 'data'], 'string') };
  if (source.type === 'base64') {
    const data = toDataUrl(read.need(source.media_type, [...at, 'media_type'], 'string'), read.need(source.data, [...at, 'data'], 'string'));
    const title = read.may(block.title, [...path, 'title'], 'string');
    return { type: 'file', file: { file_data: data, filename: title ?? 'document.pdf' } };
  }
  dropped.add(`document ${source.type} source`);
  return undefined;
}

function toolResultContent(
  block: AnthropicToolResultBlock,
  path: Path,
  dropped: DroppedFeatures,
): { text: string; images: OpenAIUserPart[] } {
  const texts: string[] = [];
  const images: OpenAIUserPart[] = [];
  const content = read.content(block.content, [...path, 'content'], true);
  if (typeof content === 'string') texts.push(content);
  else if (content !== undefined) {
    blocksOf(content, [...path, 'content']).forEach((inner, i) => {
      noteCacheControl(inner, dropped);
      const at = [...path, 'content', i];
      if (inner.type === 'text') texts.push(read.need((inner as { text?: unknown }).text, [...at, 'text'], 'string'));
      else {
        // A tool message holds text only; images ride along in the user message that follows.
        const part = userPart(inner, at, dropped);
        if (part) images.push(part);
      }
    });
  }
  const text = texts.join('\n');
  // OpenAI has no error flag on tool results; say it in the text so the model still knows.
  return { text: block.is_error ? `Error: ${text}` : text, images };
}

function translateAssistant(message: AnthropicMessageParam, path: Path, dropped: DroppedFeatures): OpenAIAssistantMessage {
  const blocks = blocksOf(message.content, [...path, 'content']);
  for (const block of blocks) noteCacheControl(block, dropped);
  const { texts, toolCalls } = assistantBlocksToOpenAI(blocks, dropped, [...path, 'content']);
  const out: OpenAIAssistantMessage = { role: 'assistant', content: texts.length > 0 ? texts.join('\n') : null };
  if (toolCalls.length > 0) out.tool_calls = toolCalls;
  return out;
}

function translateTool(raw: unknown, index: number, dropped: DroppedFeatures): OpenAIFunctionTool[] {
  const path = ['tools', index];
  const tool = read.need(raw, path, 'object') as unknown as AnthropicTool;
  const type = read.may(tool.type, [...path, 'type'], 'string');
  if (type !== undefined && type !== 'custom') {
    dropped.add(`server tool ${type}`);
    return [];
  }
  // A deferred tool is found through Anthropic's tool search, which OpenAI has no equivalent of.
  if (tool.defer_loading === true) {
    dropped.add('tools with defer_loading');
    return [];
  }
  const name = read.need(tool.name, [...path, 'name'], 'string');
  if (tool.cache_control) dropped.add('cache_control');
  const schema = read.may(tool.input_schema, [...path, 'input_schema'], 'object');
  const fn: OpenAIFunctionTool['function'] = { name, parameters: schema ?? { type: 'object', properties: {} } };
  const description = read.may(tool.description, [...path, 'description'], 'string');
  if (description !== undefined) fn.description = description;
  if (read.may(tool.strict, [...path, 'strict'], 'boolean') === true) fn.strict = true;
  return [{ type: 'function', function: fn }];
}

function translateToolChoice(choice: AnthropicToolChoice): OpenAIToolChoice {
  switch (choice.type) {
    case 'any':
      return 'required';
    case 'tool':
      return { type: 'function', function: { name: read.need((choice as { name?: unknown }).name, ['tool_choice', 'name'], 'string') } };
    case 'none':
      return 'none';
    default:
      return 'auto';
  }
}
