/**
 * A Responses request → the pivot (OpenAI Chat Completions). Input items become chat messages:
 * consecutive `function_call` items join the assistant message before them as its `tool_calls`,
 * `function_call_output` items become `tool` messages, `instructions` the leading system message.
 * What chat cannot say (built-in tools, reasoning items, `include`, `text.verbosity`) is dropped
 * and named, for `x-spillway-dropped`. `store`, `previous_response_id` and `include` are the
 * surface's own business and never reach a provider.
 */
import { InvalidRequest, openAIFault, openAIReader, type Path } from '../../protocol/invalid.js';
import type { OpenAIAssistantMessage, OpenAIMessage, OpenAIToolCall, OpenAIUserPart } from '../../protocol/openai.js';
import type { PivotRequest } from '../../pivot/index.js';
import type { InputItem, JsonObject, ResponsesRequest } from './wire.js';

/** The fields spillway reads, checked in OpenAI's words; everything else is the provider's to judge. */
export function checkResponsesRequest(body: JsonObject): ResponsesRequest {
  const model = openAIReader.need(body.model, ['model'], 'string');
  if (model === '') throw new InvalidRequest(openAIFault.missing(['model']));
  if (typeof body.input !== 'string') {
    const items = openAIReader.may(body.input, ['input'], 'list') ?? [];
    // Nothing to answer, and no earlier response or stored prompt to go on from.
    if (items.length === 0 && body.previous_response_id == null && body.prompt == null) throw new InvalidRequest(openAIFault.missing(['input']));
    items.forEach((item, i) => openAIReader.need(item, ['input', i], 'object'));
  }
  const cap = openAIReader.may(body.max_output_tokens, ['max_output_tokens'], 'integer');
  if (cap !== undefined && cap < 1) throw new InvalidRequest(openAIFault.atLeast(['max_output_tokens'], 1, cap));
  openAIReader.may(body.previous_response_id, ['previous_response_id'], 'string');
  openAIReader.may(body.instructions, ['instructions'], 'string');
  openAIReader.may(body.tools, ['tools'], 'list');
  return body as ResponsesRequest;
}

/** The request's input as a list of items (a bare string is one user message). */
export function inputItems(input: ResponsesRequest['input']): InputItem[] {
  if (input === undefined || input === null) return [];
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: input }];
  return input;
}

/** Fields of the same name and meaning in both APIs: carried over as they are. */
const SAME_IN_CHAT = ['temperature', 'top_p', 'parallel_tool_calls', 'metadata', 'user', 'service_tier', 'prompt_cache_key', 'safety_identifier', 'top_logprobs'] as const;

/** Fields the surface itself consumes, or that have a translation below. */
const CONSUMED = new Set(['model', 'input', 'instructions', 'tools', 'tool_choice', 'max_output_tokens', 'reasoning', 'text', 'stream', 'store', 'include', 'previous_response_id', 'stream_options', ...SAME_IN_CHAT]);

export interface ToPivotResult {
  request: PivotRequest;
  /** What had no equivalent in chat, named for `x-spillway-dropped`. */
  dropped: string[];
}

/**
 * `history` is the conversation a `previous_response_id` names (its input and output items),
 * which goes before this request's input.
 */
export function responsesToPivot(body: ResponsesRequest, history: InputItem[] = []): ToPivotResult {
  const dropped = new Set<string>();
  const messages: OpenAIMessage[] = [];
  if (typeof body.instructions === 'string' && body.instructions !== '') messages.push({ role: 'system', content: body.instructions });
  const items = [...history, ...inputItems(body.input)];
  items.forEach((item, i) => addItem(messages, item, ['input', i], dropped));

  const request: PivotRequest = { model: body.model, messages };
  for (const field of SAME_IN_CHAT) if (body[field] !== undefined && body[field] !== null) (request as Record<string, unknown>)[field] = body[field];
  // Each provider's codec renames it for models that know only max_tokens.
  if (typeof body.max_output_tokens === 'number') request.max_completion_tokens = body.max_output_tokens;
  const tools = translateTools(body.tools, dropped);
  if (tools.length > 0) request.tools = tools;
  const toolChoice = translateToolChoice(body.tool_choice, dropped);
  if (toolChoice !== undefined && tools.length > 0) request.tool_choice = toolChoice;
  if (tools.length === 0) delete request.parallel_tool_calls;
  const effort = body.reasoning?.effort;
  if (typeof effort === 'string') request.reasoning_effort = effort;
  const format = body.text?.format;
  if (format && format.type === 'json_schema') {
    request.response_format = { type: 'json_schema', json_schema: { name: format.name, schema: format.schema, strict: format.strict ?? null } };
  } else if (format && format.type === 'json_object') {
    request.response_format = { type: 'json_object' };
  }
  if (body.text?.verbosity !== undefined) dropped.add('text.verbosity');
  if (Array.isArray(body.include) && body.include.length > 0) dropped.add('include');
  for (const field of Object.keys(body)) if (!CONSUMED.has(field) && body[field] !== undefined && body[field] !== null) dropped.add(field);
  if (body.stream === true) {
    request.stream = true;
    // The surface builds its usage from the pivot's usage chunk, so it always asks for one.
    request.stream_options = { include_usage: true };
  }
  return { request, dropped: [...dropped] };
}

function addItem(messages: OpenAIMessage[], item: InputItem, path: Path, dropped: Set<string>): void {
  const type = typeof item.type === 'string' ? item.type : 'message';
  switch (type) {
    case 'message':
      return addMessage(messages, item, path, dropped);
    case 'function_call':
      return addFunctionCall(messages, item, path);
    case 'function_call_output':
      messages.push({
        role: 'tool',
        tool_call_id: openAIReader.need(item.call_id, [...path, 'call_id'], 'string'),
        content: outputText(item.output),
      });
      return;
    case 'reasoning':
      // Chat has no way to send thinking back; the answer it led to is kept.
      dropped.add('reasoning items');
      return;
    default:
      dropped.add(`input items of type ${type}`);
  }
}

function addMessage(messages: OpenAIMessage[], item: InputItem, path: Path, dropped: Set<string>): void {
  const role = openAIReader.need(item.role, [...path, 'role'], 'string');
  const content = openAIReader.content(item.content, [...path, 'content']) as string | JsonObject[];
  switch (role) {
    case 'system':
    case 'developer':
      messages.push({ role, content: typeof content === 'string' ? content : textOf(content) });
      return;
    case 'assistant':
      messages.push({ role: 'assistant', content: typeof content === 'string' ? content : textOf(content) });
      return;
    case 'user':
      messages.push({ role: 'user', content: typeof content === 'string' ? content : userParts(content, dropped) });
      return;
    default:
      throw new InvalidRequest(openAIFault.value([...path, 'role'], `'${role}'. Supported values are: 'user', 'assistant', 'system', and 'developer'.`));
  }
}

/** A function call joins the assistant turn it belongs to: the message just before it, if it is one. */
function addFunctionCall(messages: OpenAIMessage[], item: InputItem, path: Path): void {
  const call: OpenAIToolCall = {
    id: openAIReader.need(item.call_id, [...path, 'call_id'], 'string'),
    type: 'function',
    function: { name: openAIReader.need(item.name, [...path, 'name'], 'string'), arguments: openAIReader.may(item.arguments, [...path, 'arguments'], 'string') ?? '' },
  };
  const last = messages.at(-1);
  if (last?.role === 'assistant') {
    const assistant = last as OpenAIAssistantMessage;
    assistant.tool_calls = [...(assistant.tool_calls ?? []), call];
    return;
  }
  messages.push({ role: 'assistant', content: null, tool_calls: [call] });
}

/** The text of text-bearing parts (input_text, output_text, refusal), joined. */
function textOf(parts: JsonObject[]): string {
  return parts
    .map((part) => (typeof part.text === 'string' ? part.text : typeof part.refusal === 'string' ? part.refusal : ''))
    .join('');
}

/** A function's output: a string, or parts whose text is joined. */
function outputText(output: unknown): string {
  if (typeof output === 'string') return output;
  if (Array.isArray(output)) return textOf(output as JsonObject[]);
  return output === undefined || output === null ? '' : JSON.stringify(output);
}

function userParts(parts: JsonObject[], dropped: Set<string>): OpenAIUserPart[] {
  const out: OpenAIUserPart[] = [];
  for (const part of parts) {
    switch (part.type) {
      case 'input_text':
      case 'output_text':
        out.push({ type: 'text', text: typeof part.text === 'string' ? part.text : '' });
        break;
      case 'input_image':
        if (typeof part.image_url === 'string') {
          const detail = part.detail === 'low' || part.detail === 'high' || part.detail === 'auto' ? part.detail : undefined;
          out.push({ type: 'image_url', image_url: { url: part.image_url, ...(detail ? { detail } : {}) } });
        } else dropped.add('input_image by file_id');
        break;
      case 'input_file':
        out.push({ type: 'file', file: { file_data: part.file_data as string | undefined, file_id: part.file_id as string | undefined, filename: part.filename as string | undefined } });
        break;
      default:
        dropped.add(`content parts of type ${String(part.type)}`);
    }
  }
  return out;
}

/** Function tools, flat in Responses, nest under `function` in chat; built-in tools are dropped and named. */
function translateTools(tools: JsonObject[] | undefined, dropped: Set<string>): PivotRequest['tools'] & object {
  const out: NonNullable<PivotRequest['tools']> = [];
  for (const tool of tools ?? []) {
    if (tool.type !== 'function') {
      dropped.add(`tools of type ${String(tool.type)}`);
      continue;
    }
    out.push({
      type: 'function',
      function: {
        name: String(tool.name),
        ...(typeof tool.description === 'string' ? { description: tool.description } : {}),
        ...(tool.parameters ? { parameters: tool.parameters as JsonObject } : {}),
        ...(typeof tool.strict === 'boolean' ? { strict: tool.strict } : {}),
      },
    });
  }
  return out;
}

function translateToolChoice(choice: ResponsesRequest['tool_choice'], dropped: Set<string>): PivotRequest['tool_choice'] {
  if (choice === undefined || choice === null) return undefined;
  if (typeof choice === 'string') return choice as PivotRequest['tool_choice'];
  if (choice.type === 'function' && typeof choice.name === 'string') return { type: 'function', function: { name: choice.name } };
  dropped.add('tool_choice');
  return undefined;
}
