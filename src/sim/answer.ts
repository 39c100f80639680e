/**
 * Deterministic answers: the same prompt always gets the same answer. Text is words from a small
 * vocabulary, one word = one output token, so usage is easy to predict. When a tool should be
 * called, the call's input is built from the tool's JSON schema; like a real model, it calls the
 * tool the request names and passes a path the request mentions, so an agent's tool round trip
 * (read this file, then answer) works.
 */
import { judgeVerdict } from './judge.js';
import { fnv1a, seededRandom } from './random.js';

const VOCABULARY = (
  'the a river stone light quiet signal harbor window paper orbit meadow copper lantern ' +
  'north echo garden thread velvet summit canyon ember glacier island marble needle ocean ' +
  'pepper quartz ribbon saddle timber umbrella valley willow yonder zephyr amber bridge ' +
  'candle delta falcon granite hollow ivory jasper kettle ladder mosaic nectar olive prism ' +
  'raven silver tundra violet walnut cobalt dune fjord grove'
).split(' ');

export interface ToolOffer {
  name: string;
  /** JSON schema of the tool's input (Anthropic input_schema / OpenAI parameters). */
  schema: unknown;
  /** What the user asked (the last user message's text): path-like arguments are taken from it. */
  request?: string;
}

/** The tool whose name the request mentions, else the first named one. */
export function preferredTool<T>(tools: T[], nameOf: (tool: T) => unknown, request: string | undefined): T | undefined {
  const named = tools.filter((tool) => typeof nameOf(tool) === 'string');
  const words = new Set((request ?? '').split(/[^A-Za-z0-9_]+/).filter(Boolean));
  return named.find((tool) => words.has(nameOf(tool) as string)) ?? named[0];
}

/** The first absolute file path in a text, if any. */
export function pathIn(text: string | undefined): string | undefined {
  return /(?:^|\s|["'`(])(\/[\w.\-/]+)/.exec(text ?? '')?.[1]?.replace(/[.]+$/, '');
}

export interface AnswerRequest {
  hash: number;
  /** Cap on output tokens; Infinity when the request sets none. */
  maxTokens: number;
  /** Fixed answer length (SimOptions.outputTokens); derived from the hash when absent. */
  fixedLength?: number;
  /** Call this tool instead of answering in prose. */
  tool?: ToolOffer;
  /** Say a few words before a tool call (Anthropic style); OpenAI/Ollama calls come bare. */
  preamble?: boolean;
  /** The tool result the last message carries; the answer quotes it. */
  toolResult?: string;
  /** The last user message: a judge prompt there is answered with a verdict (sim/judge.ts). */
  request?: string;
}

export interface ToolCall {
  name: string;
  input: Record<string, unknown>;
  json: string;
  tokens: number;
}

export interface Answer {
  /** Text tokens; the text is `words.join(' ')`. */
  words: string[];
  tool?: ToolCall;
  outputTokens: number;
  stop: 'end' | 'max_tokens' | 'tool';
}

export function answerLength(hash: number): number {
  return 12 + (hash % 37);
}

function proseWords(hash: number, count: number): string[] {
  const next = seededRandom(hash);
  const words: string[] = [];
  for (let i = 0; i < count; i++) words.push(VOCABULARY[Math.floor(next() * VOCABULARY.length)]!);
  return words;
}

function capped(words: string[], maxTokens: number): Answer {
  if (words.length > maxTokens) return { words: words.slice(0, maxTokens), outputTokens: maxTokens, stop: 'max_tokens' };
  return { words, outputTokens: words.length, stop: 'end' };
}

export function composeAnswer(req: AnswerRequest): Answer {
  const verdict = req.tool ? undefined : judgeVerdict(req.request);
  // Split on spaces only, so joining the words back gives the JSON text exactly.
  if (verdict !== undefined) return capped(verdict.split(' '), req.maxTokens);
  if (req.tool) {
    const input = sampleInput(req.tool.schema, fnv1a(req.tool.name, req.hash), 0, pathIn(req.tool.request));
    const json = JSON.stringify(input);
    const tokens = Math.max(1, Math.ceil((req.tool.name.length + json.length) / 4));
    const words = req.preamble ? ['Calling', `${req.tool.name}.`] : [];
    if (words.length + tokens <= req.maxTokens) {
      return { words, tool: { name: req.tool.name, input, json, tokens }, outputTokens: words.length + tokens, stop: 'tool' };
    }
    // The call does not fit in max_tokens: the model is cut off while still talking.
    return capped([...words, ...proseWords(req.hash, req.maxTokens)], req.maxTokens);
  }
  const length = req.fixedLength ?? answerLength(req.hash);
  const words: string[] = [];
  if (req.toolResult !== undefined) {
    words.push('Tool', 'result:');
    for (const w of req.toolResult.split(/\s+/)) if (w !== '' && words.length < 26) words.push(w);
  }
  if (words.length < length) words.push(...proseWords(req.hash, length - words.length));
  return capped(req.fixedLength === undefined ? words : words.slice(0, length), req.maxTokens);
}

/** Group words into stream deltas of 1-3 words (each later group starts with its space). */
export function textPieces(words: string[]): string[] {
  const pieces: string[] = [];
  let i = 0;
  let size = 1;
  while (i < words.length) {
    const group = words.slice(i, i + size).join(' ');
    pieces.push(i === 0 ? group : ` ${group}`);
    i += size;
    size = (size % 3) + 1;
  }
  return pieces;
}

/** Split a JSON text into `count` fragments (fewer if it is shorter), concatenating back to it. */
export function splitText(text: string, count: number): string[] {
  const n = Math.max(1, Math.min(count, text.length));
  const size = Math.ceil(text.length / n);
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
  return parts.length > 0 ? parts : [''];
}

type Schema = Record<string, unknown>;

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sampleValue(schema: unknown, name: string, hash: number, depth: number, path?: string): unknown {
  if (!isSchema(schema)) return VOCABULARY[hash % VOCABULARY.length];
  if ('const' in schema) return schema['const'];
  if (Array.isArray(schema['enum']) && schema['enum'].length > 0) return schema['enum'][0];
  const variants = schema['anyOf'] ?? schema['oneOf'];
  if (Array.isArray(variants) && variants.length > 0) return sampleValue(variants[0], name, hash, depth);
  const type = Array.isArray(schema['type']) ? schema['type'][0] : schema['type'];
  switch (type) {
    case 'integer':
    case 'number': {
      const min = typeof schema['minimum'] === 'number' ? schema['minimum'] : 1;
      const max = typeof schema['maximum'] === 'number' ? schema['maximum'] : min + 99;
      const value = min + (hash % (Math.floor(max - min) + 1));
      return type === 'integer' ? Math.ceil(value) : value;
    }
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'array':
      return depth > 4 ? [] : [sampleValue(schema['items'], name, fnv1a('0', hash), depth + 1)];
    case 'object':
      return depth > 4 ? {} : sampleInput(schema, hash, depth + 1);
    default:
      if (path !== undefined && /path|file/i.test(name)) return path;
      return `${name}-${VOCABULARY[hash % VOCABULARY.length]}`;
  }
}

/** A deterministic input object with a value for every property the schema declares. */
export function sampleInput(schema: unknown, hash: number, depth = 0, path?: string): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  if (!isSchema(schema) || !isSchema(schema['properties'])) return input;
  const required = Array.isArray(schema['required']) ? new Set(schema['required']) : undefined;
  for (const [name, prop] of Object.entries(schema['properties'])) {
    // With a path to read, a real model leaves optional knobs (offset, limit, pages) alone.
    if (path !== undefined && required && !required.has(name)) continue;
    input[name] = sampleValue(prop, name, fnv1a(name, hash), depth, path);
  }
  return input;
}
