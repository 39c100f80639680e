/**
 * Request faults worded as each provider words them, so clients that react to the wording (Claude
 * Code retries without a mid-conversation system message only when a 400 reads like Anthropic's)
 * behave as they would against the provider itself.
 *
 * Anthropic validates with pydantic: `messages.1.role: Input should be 'user' or 'assistant'`,
 * `max_tokens: Field required`, paths joined with dots. OpenAI names the parameter in brackets and
 * gives `param` and `code`: `Missing required parameter: 'messages[2].tool_call_id'.`
 */

export interface Fault {
  message: string;
  /** OpenAI's `param` (null on Anthropic, whose message carries the path). */
  param: string | null;
  /** OpenAI's `code`. */
  code: string | null;
}

/** A request spillway cannot read where it has to: answered 400 in the caller's shape. */
export class InvalidRequest extends Error {
  override name = 'InvalidRequest';
  constructor(readonly fault: Fault) {
    super(fault.message);
  }
}

export type Path = ReadonlyArray<string | number>;

export type JsonKind = 'string' | 'integer' | 'number' | 'boolean' | 'list' | 'object';

/** What a value is, in the words of both providers' messages. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a decimal';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'boolean') return 'a boolean';
  return `a ${typeof value}`;
}

const ANTHROPIC_KIND: Record<JsonKind, string> = {
  string: 'a valid string',
  integer: 'a valid integer',
  number: 'a valid number',
  boolean: 'a valid boolean',
  list: 'a valid list',
  object: 'a valid dictionary',
};

const OPENAI_KIND: Record<JsonKind, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a decimal',
  boolean: 'a boolean',
  list: 'an array',
  object: 'an object',
};

export const anthropicFault = {
  path: (path: Path): string => path.join('.'),
  missing: (path: Path): Fault => ({ message: `${path.join('.')}: Field required`, param: null, code: null }),
  type: (path: Path, kind: JsonKind, _value?: unknown): Fault => ({ message: `${path.join('.')}: Input should be ${ANTHROPIC_KIND[kind]}`, param: null, code: null }),
  atLeast: (path: Path, min: number): Fault => ({ message: `${path.join('.')}: Input should be greater than or equal to ${min}`, param: null, code: null }),
  /** The wording Claude Code looks for before it retries without its system message. */
  role: (index: number): Fault => ({ message: `messages.${index}.role: Input should be 'user' or 'assistant'`, param: null, code: null }),
  other: (path: Path, message: string): Fault => ({ message: `${path.join('.')}: ${message}`, param: null, code: null }),
};

/** `messages[3].content[0].text`, as OpenAI writes parameter paths. */
function openAIPath(path: Path): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`)).join('');
}

export const openAIFault = {
  path: openAIPath,
  missing: (path: Path): Fault => ({ message: `Missing required parameter: '${openAIPath(path)}'.`, param: openAIPath(path), code: 'missing_required_parameter' }),
  type: (path: Path, kind: JsonKind, value?: unknown): Fault => ({
    message: `Invalid type for '${openAIPath(path)}': expected ${OPENAI_KIND[kind]}, but got ${kindOf(value)} instead.`,
    param: openAIPath(path),
    code: 'invalid_type',
  }),
  atLeast: (path: Path, min: number, value: unknown): Fault => ({
    message: `Invalid '${openAIPath(path)}': integer below minimum value. Expected a value >= ${min}, but got ${String(value)} instead.`,
    param: openAIPath(path),
    code: 'integer_below_min_value',
  }),
  emptyArray: (path: Path): Fault => ({
    message: `Invalid '${openAIPath(path)}': empty array. Expected an array with minimum length 1, but got an empty array instead.`,
    param: openAIPath(path),
    code: 'empty_array',
  }),
  value: (path: Path, message: string): Fault => ({ message: `Invalid value for '${openAIPath(path)}': ${message}`, param: openAIPath(path), code: 'invalid_value' }),
};

/** Whether a value is of a JSON kind (a list is not an object here, nor null). */
function isKind(value: unknown, kind: JsonKind): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'list':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
  }
}

interface KindType {
  string: string;
  integer: number;
  number: number;
  boolean: boolean;
  list: unknown[];
  object: Record<string, unknown>;
}

/** The wording of one provider, as used by `Reader`. */
export interface Wording {
  missing(path: Path): Fault;
  type(path: Path, kind: JsonKind, value?: unknown): Fault;
}

/**
 * Reads the fields a translation needs, in one provider's wording: a field of the wrong kind is an
 * InvalidRequest, never a TypeError further on. Null counts as absent, as both providers take it.
 */
export class Reader {
  constructor(private readonly wording: Wording) {}

  need<K extends JsonKind>(value: unknown, path: Path, kind: K): KindType[K] {
    if (value === undefined || value === null) throw new InvalidRequest(this.wording.missing(path));
    return this.check(value, path, kind);
  }

  may<K extends JsonKind>(value: unknown, path: Path, kind: K): KindType[K] | undefined {
    if (value === undefined || value === null) return undefined;
    return this.check(value, path, kind);
  }

  /** A string or a list (of blocks or parts): message content and system prompts. */
  content(value: unknown, path: Path, optional = false): string | unknown[] | undefined {
    if ((value === undefined || value === null) && optional) return undefined;
    if (typeof value === 'string') return value;
    return this.need(value, path, 'list');
  }

  private check<K extends JsonKind>(value: unknown, path: Path, kind: K): KindType[K] {
    if (!isKind(value, kind)) throw new InvalidRequest(this.wording.type(path, kind, value));
    return value as KindType[K];
  }
}

export const anthropicReader = new Reader(anthropicFault);
export const openAIReader = new Reader(openAIFault);
