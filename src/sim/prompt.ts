/**
 * What the simulator needs to know about a prompt: its size in tokens (a deterministic estimate,
 * ceil(chars / 4) plus a fixed amount per image) and a hash that seeds the answer. The same
 * numbers feed count_tokens, usage and the input-token buckets.
 */
import { fnv1a } from './random.js';

export const IMAGE_TOKENS = 1000;

export interface PromptFacts {
  inputTokens: number;
  hash: number;
  /** Text of the tool result(s) carried by the last message, if it carries any. */
  toolResult?: string;
  /** Text of the last user message (what a tool call's arguments come from). */
  request?: string;
}

type Json = Record<string, unknown>;

class Tally {
  chars = 0;
  images = 0;
  hash = 0x811c9dc5;

  text(value: unknown): void {
    if (typeof value !== 'string') return;
    this.chars += value.length;
    this.hash = fnv1a(value, this.hash);
  }

  json(value: unknown): void {
    if (value === undefined) return;
    this.text(typeof value === 'string' ? value : JSON.stringify(value));
  }

  image(): void {
    this.images++;
    this.hash = fnv1a('\u0000image', this.hash);
  }

  facts(toolResult?: string, request?: string): PromptFacts {
    const inputTokens = Math.max(1, Math.ceil(this.chars / 4) + this.images * IMAGE_TOKENS);
    const facts: PromptFacts = { inputTokens, hash: this.hash };
    if (toolResult !== undefined) facts.toolResult = toolResult;
    if (request !== undefined) facts.request = request;
    return facts;
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// --- Anthropic -------------------------------------------------------------------------------

function anthropicBlock(t: Tally, block: unknown): void {
  if (typeof block === 'string') return t.text(block);
  if (!isObject(block)) return;
  switch (block['type']) {
    case 'text':
      return t.text(block['text']);
    case 'image':
    case 'document':
      return t.image();
    case 'tool_use':
      t.text(block['name']);
      return t.json(block['input']);
    case 'tool_result':
      return anthropicContent(t, block['content']);
    case 'thinking':
      return t.text(block['thinking']);
    case 'redacted_thinking':
      return t.text(block['data']);
    default:
      return t.json(block);
  }
}

function anthropicContent(t: Tally, content: unknown): void {
  if (typeof content === 'string') return t.text(content);
  if (Array.isArray(content)) for (const block of content) anthropicBlock(t, block);
}

function plainText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const parts: string[] = [];
  for (const block of content) {
    if (typeof block === 'string') parts.push(block);
    else if (isObject(block) && typeof block['text'] === 'string') parts.push(block['text']);
  }
  return parts.join(' ');
}

/** The conversation without system messages (which the newest APIs take between turns). */
function turns(messages: unknown[]): Json[] {
  return messages.filter((m): m is Json => isObject(m) && m['role'] !== 'system' && m['role'] !== 'developer');
}

/**
 * What the user last asked: the last text of the last user message that has one (agents put
 * their reminders first and the prompt last).
 */
function lastUserText(messages: Json[]): string | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m['role'] !== 'user') continue;
    const content = m['content'];
    if (typeof content === 'string') return content;
    if (!Array.isArray(content)) continue;
    const texts = content.filter((b): b is Json => isObject(b) && b['type'] === 'text' && typeof b['text'] === 'string');
    if (texts.length > 0) return texts.at(-1)!['text'] as string;
  }
  return undefined;
}

function anthropicToolResult(messages: unknown[]): string | undefined {
  const last = turns(messages).at(-1);
  if (!isObject(last) || last['role'] !== 'user' || !Array.isArray(last['content'])) return undefined;
  const results = last['content'].filter((b): b is Json => isObject(b) && b['type'] === 'tool_result');
  if (results.length === 0) return undefined;
  return results.map((r) => plainText(r['content'])).join(' ');
}

/** Facts of an Anthropic Messages (or count_tokens) body whose `messages` is an array. */
export function anthropicPrompt(body: Json): PromptFacts {
  const t = new Tally();
  anthropicContent(t, body['system']);
  const messages = Array.isArray(body['messages']) ? body['messages'] : [];
  for (const m of messages) if (isObject(m)) anthropicContent(t, m['content']);
  t.json(body['tools']);
  return t.facts(anthropicToolResult(messages), lastUserText(turns(messages)));
}

// --- OpenAI and Ollama -------------------------------------------------------------------------

function openaiContent(t: Tally, content: unknown): void {
  if (typeof content === 'string') return t.text(content);
  if (!Array.isArray(content)) return;
  for (const part of content) {
    if (!isObject(part)) continue;
    if (part['type'] === 'text') t.text(part['text']);
    else if (part['type'] === 'image_url' || part['type'] === 'input_audio' || part['type'] === 'file') t.image();
    else t.json(part);
  }
}

/** The tool results since the model's last turn (a user may add words after them, as agents do). */
function trailingToolResults(all: unknown[]): string | undefined {
  const messages = turns(all);
  const since = messages.slice(messages.findLastIndex((m) => m['role'] === 'assistant') + 1);
  const parts = since.filter((m) => m['role'] === 'tool').map((m) => plainText(m['content']));
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/** Facts of an OpenAI chat body (`messages` array, optional `tools`). */
export function openaiPrompt(body: Json): PromptFacts {
  const t = new Tally();
  const messages = Array.isArray(body['messages']) ? body['messages'] : [];
  for (const m of messages) {
    if (!isObject(m)) continue;
    openaiContent(t, m['content']);
    if (Array.isArray(m['tool_calls'])) {
      for (const call of m['tool_calls']) {
        const fn = isObject(call) ? call['function'] : undefined;
        if (isObject(fn)) {
          t.text(fn['name']);
          t.text(fn['arguments']);
        }
      }
    }
  }
  t.json(body['tools']);
  return t.facts(trailingToolResults(messages), lastUserText(turns(messages)));
}

/** Facts of an Ollama /api/chat body. */
export function ollamaPrompt(body: Json): PromptFacts {
  const t = new Tally();
  const messages = Array.isArray(body['messages']) ? body['messages'] : [];
  for (const m of messages) {
    if (!isObject(m)) continue;
    t.text(m['content']);
    if (Array.isArray(m['images'])) for (let i = 0; i < m['images'].length; i++) t.image();
    if (Array.isArray(m['tool_calls'])) {
      for (const call of m['tool_calls']) {
        const fn = isObject(call) ? call['function'] : undefined;
        if (isObject(fn)) {
          t.text(fn['name']);
          t.json(fn['arguments']);
        }
      }
    }
  }
  t.json(body['tools']);
  return t.facts(trailingToolResults(messages));
}

// --- Gemini ------------------------------------------------------------------------------------

/** Gemini field names arrive in lowerCamelCase or snake_case (both accepted by the REST layer). */
function field(o: Json, camel: string): unknown {
  if (camel in o) return o[camel];
  return o[camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
}

function geminiResultText(response: unknown): string {
  // By SDK convention the result sits under "output" (failures under "error"); else it is the whole object.
  if (!isObject(response)) return '';
  const output = response['output'] ?? response['error'];
  if (typeof output === 'string') return output;
  return JSON.stringify(output ?? response);
}

function geminiParts(t: Tally, parts: unknown): void {
  if (!Array.isArray(parts)) return;
  for (const part of parts) {
    if (!isObject(part)) continue;
    if (typeof part['text'] === 'string') t.text(part['text']);
    else if (field(part, 'inlineData') !== undefined || field(part, 'fileData') !== undefined) t.image();
    else if (isObject(field(part, 'functionCall'))) {
      const call = field(part, 'functionCall') as Json;
      t.text(call['name']);
      t.json(call['args']);
    } else if (isObject(field(part, 'functionResponse'))) {
      t.text(geminiResultText((field(part, 'functionResponse') as Json)['response']));
    }
  }
}

/** Text of the function results the last user turn carries, if it carries any. */
function geminiToolResult(contents: unknown[]): string | undefined {
  const last = contents[contents.length - 1];
  if (!isObject(last) || last['role'] === 'model' || !Array.isArray(last['parts'])) return undefined;
  const results = last['parts'].filter(isObject).map((p) => field(p, 'functionResponse')).filter(isObject);
  if (results.length === 0) return undefined;
  return results.map((r) => geminiResultText(r['response'])).join(' ');
}

/** Facts of a Gemini generateContent body: systemInstruction, contents, then tools (as the others). */
export function geminiPrompt(body: Json): PromptFacts {
  const t = new Tally();
  const system = field(body, 'systemInstruction');
  if (isObject(system)) geminiParts(t, system['parts']);
  const contents = Array.isArray(body['contents']) ? body['contents'] : [];
  for (const c of contents) if (isObject(c)) geminiParts(t, c['parts']);
  t.json(body['tools']);
  return t.facts(geminiToolResult(contents));
}

/** Token estimate of one embeddings input (string or token array). */
export function embeddingInputTokens(input: unknown): number {
  if (typeof input === 'string') return Math.max(1, Math.ceil(input.length / 4));
  if (Array.isArray(input)) return Math.max(1, input.length);
  return 1;
}
