/**
 * Ollama native chat API (POST /api/chat): wire types and translators to and from the pivot.
 * Ollama tool calls carry argument objects and no id:
 * ids are invented from the response's timestamp and position, so they are stable.
 */
import type {
  JsonObject,
  OpenAIChatCompletion,
  OpenAIChatRequest,
  OpenAIFunctionTool,
  OpenAIToolCall,
  OpenAIUserPart,
} from '../../protocol/openai.js';
import { DroppedFeatures } from '../../protocol/dropped.js';
import { checkOpenAIRequest } from '../../protocol/openai-check.js';
import { inventToolCallId, stableId } from '../../protocol/ids.js';
import { parseDataUrl } from '../../protocol/media.js';
import { parseArguments } from '../../protocol/tool-arguments.js';

export interface OllamaToolCall {
  id?: string;
  function: { index?: number; name: string; arguments: JsonObject };
}

export interface OllamaMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  images?: string[];
  tool_calls?: OllamaToolCall[];
  /** Newer Ollama: the tool a `tool` message answers. */
  tool_name?: string;
  thinking?: string;
}

export interface OllamaChatRequest {
  model: string;
  messages: OllamaMessage[];
  tools?: OpenAIFunctionTool[];
  format?: 'json' | JsonObject;
  options?: { temperature?: number; top_p?: number; top_k?: number; num_predict?: number; stop?: string[]; seed?: number };
  stream: boolean;
  keep_alive?: string | number;
}

export interface OllamaChatResponse {
  model: string;
  created_at: string;
  message?: OllamaMessage;
  done: boolean;
  done_reason?: string;
  prompt_eval_count?: number;
  eval_count?: number;
  total_duration?: number;
  error?: string;
}

// ---- requests ----

export function openAIToOllamaRequest(req: OpenAIChatRequest, options: { model?: string } = {}): { request: OllamaChatRequest; dropped: string[] } {
  checkOpenAIRequest(req);
  const dropped = new DroppedFeatures();
  const toolNames = new Map<string, string>(); // tool_call_id → function name, for tool messages
  const messages: OllamaMessage[] = [];
  for (const message of req.messages) {
    switch (message.role) {
      case 'system':
      case 'developer':
        messages.push({ role: 'system', content: plainText(message.content) });
        break;
      case 'user':
        messages.push(userMessage(message.content, dropped));
        break;
      case 'assistant': {
        const out: OllamaMessage = { role: 'assistant', content: plainText(message.content ?? '') };
        if (message.tool_calls?.length) {
          out.tool_calls = message.tool_calls.map((call) => {
            toolNames.set(call.id, call.function.name);
            return { function: { name: call.function.name, arguments: parseArguments(call.function.arguments, dropped) } };
          });
        }
        messages.push(out);
        break;
      }
      case 'tool': {
        const out: OllamaMessage = { role: 'tool', content: plainText(message.content) };
        const name = toolNames.get(message.tool_call_id);
        if (name) out.tool_name = name;
        messages.push(out);
        break;
      }
      default:
        dropped.add(`message role ${message.role}`);
    }
  }
  const request: OllamaChatRequest = { model: options.model ?? req.model, messages, stream: req.stream === true };
  const tools = (req.tools ?? []).filter((tool): tool is OpenAIFunctionTool => tool.type === 'function');
  if (tools.length < (req.tools ?? []).length) dropped.add('non-function tools');
  if (tools.length > 0) request.tools = tools;
  if (req.tool_choice != null) dropped.add('tool_choice'); // Ollama cannot force or forbid tools
  const opts: NonNullable<OllamaChatRequest['options']> = {};
  if (req.temperature != null) opts.temperature = req.temperature;
  if (req.top_p != null) opts.top_p = req.top_p;
  if (typeof req.top_k === 'number') opts.top_k = req.top_k;
  const maxTokens = req.max_completion_tokens ?? req.max_tokens;
  if (maxTokens != null) opts.num_predict = maxTokens;
  if (req.stop != null) opts.stop = typeof req.stop === 'string' ? [req.stop] : req.stop;
  if (req.seed != null) opts.seed = req.seed;
  if (Object.keys(opts).length > 0) request.options = opts;
  if (req.response_format?.type === 'json_object') request.format = 'json';
  else if (req.response_format?.type === 'json_schema') request.format = req.response_format.json_schema.schema ?? 'json';
  return { request, dropped: dropped.list() };
}


function plainText(content: string | Array<{ type: string; text?: string }>): string {
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' ? part.text ?? '' : '')).join('');
}

function userMessage(content: string | OpenAIUserPart[], dropped: DroppedFeatures): OllamaMessage {
  if (typeof content === 'string') return { role: 'user', content };
  const texts: string[] = [];
  const images: string[] = [];
  for (const part of content) {
    if (part.type === 'text') texts.push((part as { text: string }).text);
    else if (part.type === 'image_url') {
      const inline = parseDataUrl((part as { image_url: { url: string } }).image_url.url);
      // Ollama takes base64 only; fetching remote images is not a translator's job.
      if (inline) images.push(inline.base64);
      else dropped.add('image URL (Ollama needs base64)');
    } else dropped.add(`content part ${part.type}`);
  }
  const out: OllamaMessage = { role: 'user', content: texts.join('\n') };
  if (images.length > 0) out.images = images;
  return out;
}

// ---- responses ----

export interface FromOllamaOptions {
  /** The model name the client requested. */
  model: string;
  /** Current time in ms, for `created`. */
  now: number;
}

export function ollamaToolCallsToOpenAI(calls: OllamaToolCall[], seed: string, firstIndex = 0): OpenAIToolCall[] {
  return calls.map((call, i) => ({
    id: call.id ?? inventToolCallId(seed, firstIndex + i),
    type: 'function',
    function: { name: call.function.name, arguments: JSON.stringify(call.function.arguments ?? {}) },
  }));
}

/** Ollama says "stop" even when it called tools. */
export function ollamaFinishReason(doneReason: string | undefined, calledTools: boolean): 'stop' | 'length' | 'tool_calls' {
  if (calledTools) return 'tool_calls';
  return doneReason === 'length' ? 'length' : 'stop';
}

export function ollamaToOpenAIResponse(resp: OllamaChatResponse, options: FromOllamaOptions): OpenAIChatCompletion {
  const calls = ollamaToolCallsToOpenAI(resp.message?.tool_calls ?? [], resp.created_at);
  const content = resp.message?.content ?? '';
  const prompt = resp.prompt_eval_count ?? 0;
  const completion = resp.eval_count ?? 0;
  const message: OpenAIChatCompletion['choices'][number]['message'] = { role: 'assistant', content: content.length > 0 || calls.length === 0 ? content : null, refusal: null };
  if (calls.length > 0) message.tool_calls = calls;
  return {
    id: stableId('chatcmpl-', `${resp.model}@${resp.created_at}`),
    object: 'chat.completion',
    created: Math.floor(options.now / 1000),
    model: options.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: ollamaFinishReason(resp.done_reason, calls.length > 0) }],
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
  };
}

