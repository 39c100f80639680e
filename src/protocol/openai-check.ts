/**
 * What the translators from OpenAI Chat Completions (to Anthropic, Gemini, Ollama) read, checked
 * once as OpenAI checks it: a field of the wrong kind is an InvalidRequest in OpenAI's words (with
 * `param` and `code`), never a TypeError in a translator. Fields no translator reads are not
 * looked at; null counts as absent.
 */
import { openAIReader as read, type Path } from './invalid.js';
import type { OpenAIChatRequest } from './openai.js';

export function checkOpenAIRequest(req: OpenAIChatRequest): void {
  read.may(req.n, ['n'], 'integer');
  read.need(req.messages, ['messages'], 'list').forEach((message, i) => checkMessage(message, ['messages', i]));
  read.may(req.temperature, ['temperature'], 'number');
  read.may(req.top_p, ['top_p'], 'number');
  read.may(req.seed, ['seed'], 'integer');
  if (typeof req.stop !== 'string') (read.may(req.stop, ['stop'], 'list') ?? []).forEach((stop, i) => read.need(stop, ['stop', i], 'string'));
  read.may(req.user, ['user'], 'string');
  read.may(req.safety_identifier, ['safety_identifier'], 'string');
  read.may(req.parallel_tool_calls, ['parallel_tool_calls'], 'boolean');
  (read.may(req.tools, ['tools'], 'list') ?? []).forEach((tool, i) => checkTool(tool, ['tools', i]));
  checkToolChoice(req.tool_choice);
  const format = read.may(req.response_format, ['response_format'], 'object');
  if (format?.type === 'json_schema') read.need(format.json_schema, ['response_format', 'json_schema'], 'object');
}

function checkMessage(raw: unknown, path: Path): void {
  const message = read.need(raw, path, 'object');
  const role = read.need(message.role, [...path, 'role'], 'string');
  const content = [...path, 'content'];
  switch (role) {
    case 'system':
    case 'developer':
    case 'user':
      checkParts(read.content(message.content, content), content);
      return;
    case 'tool':
      read.need(message.tool_call_id, [...path, 'tool_call_id'], 'string');
      checkParts(read.content(message.content, content), content);
      return;
    case 'assistant':
      checkParts(read.content(message.content, content, true), content);
      read.may(message.refusal, [...path, 'refusal'], 'string');
      (read.may(message.tool_calls, [...path, 'tool_calls'], 'list') ?? []).forEach((call, i) => checkToolCall(call, [...path, 'tool_calls', i]));
      return;
    // other roles are dropped by the translators, unread
  }
}

function checkParts(content: string | unknown[] | undefined, path: Path): void {
  if (content === undefined || typeof content === 'string') return;
  content.forEach((raw, i) => {
    const at = [...path, i];
    const part = read.need(raw, at, 'object');
    switch (read.need(part.type, [...at, 'type'], 'string')) {
      case 'text':
        read.need(part.text, [...at, 'text'], 'string');
        return;
      case 'refusal':
        read.need(part.refusal, [...at, 'refusal'], 'string');
        return;
      case 'image_url':
        read.need(read.need(part.image_url, [...at, 'image_url'], 'object').url, [...at, 'image_url', 'url'], 'string');
        return;
      case 'file': {
        const file = read.need(part.file, [...at, 'file'], 'object');
        read.may(file.file_data, [...at, 'file', 'file_data'], 'string');
        read.may(file.filename, [...at, 'file', 'filename'], 'string');
        return;
      }
    }
  });
}

function checkToolCall(raw: unknown, path: Path): void {
  const call = read.need(raw, path, 'object');
  read.need(call.id, [...path, 'id'], 'string');
  const fn = read.need(call.function, [...path, 'function'], 'object');
  read.need(fn.name, [...path, 'function', 'name'], 'string');
  read.may(fn.arguments, [...path, 'function', 'arguments'], 'string');
}

function checkTool(raw: unknown, path: Path): void {
  const tool = read.need(raw, path, 'object');
  if (read.need(tool.type, [...path, 'type'], 'string') !== 'function') return;
  const fn = read.need(tool.function, [...path, 'function'], 'object');
  read.need(fn.name, [...path, 'function', 'name'], 'string');
  read.may(fn.description, [...path, 'function', 'description'], 'string');
  read.may(fn.parameters, [...path, 'function', 'parameters'], 'object');
}

function checkToolChoice(choice: unknown): void {
  if (choice === undefined || choice === null || typeof choice === 'string') return;
  const object = read.need(choice, ['tool_choice'], 'object');
  if (read.need(object.type, ['tool_choice', 'type'], 'string') === 'function') {
    read.need(read.need(object.function, ['tool_choice', 'function'], 'object').name, ['tool_choice', 'function', 'name'], 'string');
  }
}
