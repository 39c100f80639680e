/**
 * How alike a shadow pair is: the primary's answer (what the client got) and the candidate's
 * answer to the same request. Pure, over the stored answer shape (cache/entry.ts) of either
 * surface.
 */
import type { CacheEntry } from '../cache/entry.js';

/** What an answer said, surface aside: its text and its tool calls. */
export interface Said {
  text: string;
  tools: Array<{ name: string; input: unknown }>;
}

export interface PairScore {
  exact: boolean;
  /** Word overlap of the normalized texts (Dice coefficient), 0..1. */
  similarity: number;
  /** The same tools called, in the same order, with the same arguments. */
  sameTools: boolean;
  /** Both answers valid JSON of the same shape; undefined when JSON was not asked for. */
  sameJsonShape: boolean | undefined;
  /** The verdict: exact, or similar enough with the same tool calls and JSON shape. */
  agree: boolean;
}

/** Texts at least this alike (with the same tool calls) count as agreeing. */
export const AGREEING_SIMILARITY = 0.8;

function parseArguments(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export function saidIn(entry: CacheEntry): Said {
  // Embedding answers say no text (shadows compare chat answers).
  if (entry.surface === 'embedding' || entry.surface === 'native') return { text: '', tools: [] };
  if (entry.surface === 'anthropic') {
    const blocks = entry.message.content;
    return {
      text: blocks.filter((b) => b.type === 'text').map((b) => String(b.text ?? '')).join(''),
      tools: blocks.filter((b) => b.type === 'tool_use').map((b) => ({ name: String(b.name ?? ''), input: b.input })),
    };
  }
  const message = entry.message.choices[0]?.message;
  return {
    text: typeof message?.content === 'string' ? message.content : '',
    tools: (message?.tool_calls ?? []).map((call) => ({ name: call.function.name, input: parseArguments(call.function.arguments) })),
  };
}

/** Lower case, words only: "Hello, World!" and "hello world" are the same text. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

export function similarity(a: string, b: string): number {
  const wa = words(a);
  const wb = words(b);
  if (wa.length === 0 && wb.length === 0) return 1;
  const counts = new Map<string, number>();
  for (const w of wa) counts.set(w, (counts.get(w) ?? 0) + 1);
  let common = 0;
  for (const w of wb) {
    const left = counts.get(w) ?? 0;
    if (left > 0) {
      common += 1;
      counts.set(w, left - 1);
    }
  }
  return (2 * common) / (wa.length + wb.length);
}

/** Keys and value types, recursively; array items by the shape of the first. */
export function jsonShape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [jsonShape(value[0])];
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, jsonShape((value as Record<string, unknown>)[key])]));
  }
  return value === null ? 'null' : typeof value;
}

function shapeOf(text: string): string | undefined {
  try {
    return JSON.stringify(jsonShape(JSON.parse(text)));
  } catch {
    return undefined;
  }
}

const canonical = (value: unknown): string => JSON.stringify(sortKeys(value));

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]));
  }
  return value;
}

/** Whether the request asked for JSON: OpenAI's response_format json_object / json_schema. */
export function asksForJson(body: Record<string, unknown>): boolean {
  const format = body.response_format as { type?: unknown } | undefined;
  return format?.type === 'json_object' || format?.type === 'json_schema';
}

export function scorePair(primary: Said, candidate: Said, jsonAsked: boolean): PairScore {
  const sameTools =
    primary.tools.length === candidate.tools.length &&
    primary.tools.every((tool, i) => tool.name === candidate.tools[i]!.name && canonical(tool.input) === canonical(candidate.tools[i]!.input));
  const exact = sameTools && primary.text === candidate.text;
  const similar = similarity(primary.text, candidate.text);
  let sameJsonShape: boolean | undefined;
  if (jsonAsked) {
    const shape = shapeOf(primary.text);
    sameJsonShape = shape !== undefined && shape === shapeOf(candidate.text);
  }
  return { exact, similarity: similar, sameTools, sameJsonShape, agree: exact || (similar >= AGREEING_SIMILARITY && sameTools && sameJsonShape !== false) };
}
