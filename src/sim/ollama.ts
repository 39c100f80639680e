/** The Ollama surface: /api/chat (NDJSON stream by default), /api/embed and /api/tags. No auth, no limits. */
import { composeAnswer, textPieces, type ToolOffer } from './answer.js';
import { CREATED_AT_MS, OLLAMA_MODELS } from './catalog.js';
import { embed } from './embedding.js';
import { embeddingInputTokens, ollamaPrompt } from './prompt.js';
import type { ErrorKind, ErrorReply, Frame, ParseResult, Surface } from './surface.js';

type Json = Record<string, unknown>;

const STATUS: Record<ErrorKind, number> = { invalid_request: 400, authentication: 401, permission: 403, not_found: 404, overloaded: 503, server: 500 };

function errorReply(status: number, message: string): ErrorReply {
  return { status, body: JSON.stringify({ error: message }) };
}

export const ollamaSurface: Surface = {
  requestIdHeader: 'x-request-id',
  credential: () => null,
  error: (kind, message) => errorReply(STATUS[kind], message),
  unauthorized: () => errorReply(401, 'unauthorized'),
  rateLimited: () => errorReply(429, 'too many requests'),
  limitHeaders: () => ({}),
  midStreamError: () => `${JSON.stringify({ error: 'an error was encountered while running the model: unexpected EOF' })}\n`,
};

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function chooseTool(body: Json, hasToolResult: boolean): ToolOffer | undefined {
  if (hasToolResult || !Array.isArray(body['tools'])) return undefined;
  for (const t of body['tools']) {
    const fn = isObject(t) ? t['function'] : undefined;
    if (isObject(fn) && typeof fn['name'] === 'string') return { name: fn['name'], schema: fn['parameters'] };
  }
  return undefined;
}

export function parseOllamaChat(body: Json): ParseResult {
  if (typeof body['model'] !== 'string' || body['model'] === '') return errorReply(400, 'model is required');
  if (body['messages'] !== undefined && !Array.isArray(body['messages'])) return errorReply(400, 'messages must be an array');
  const facts = ollamaPrompt(body);
  const tool = chooseTool(body, facts.toolResult !== undefined);
  const options = isObject(body['options']) ? body['options'] : {};
  const numPredict = typeof options['num_predict'] === 'number' && options['num_predict'] > 0 ? options['num_predict'] : Infinity;
  const model = body['model'];
  const stream = body['stream'] !== false;
  return {
    model,
    stream,
    demand: { inputTokens: facts.inputTokens, generates: true, maxTokens: numPredict === Infinity ? 0 : numPredict },
    reply(ctx) {
      const answer = composeAnswer({ hash: facts.hash, maxTokens: numPredict, fixedLength: ctx.fixedLength, tool, toolResult: facts.toolResult });
      const createdAt = new Date(ctx.now).toISOString();
      const text = answer.words.join(' ');
      const message: Json = { role: 'assistant', content: stream ? '' : text };
      const toolCalls = answer.tool && [{ function: { name: answer.tool.name, arguments: answer.tool.input } }];
      const stats = {
        done: true,
        done_reason: answer.stop === 'max_tokens' ? 'length' : 'stop',
        total_duration: 1_000_000 * (1 + answer.outputTokens),
        load_duration: 1_000_000,
        prompt_eval_count: facts.inputTokens,
        prompt_eval_duration: 100_000 * facts.inputTokens,
        eval_count: answer.outputTokens,
        eval_duration: 1_000_000 * answer.outputTokens,
      };
      if (!stream) {
        if (toolCalls) message['tool_calls'] = toolCalls;
        const body = JSON.stringify({ model, created_at: createdAt, message, ...stats });
        return { contentType: 'application/json; charset=utf-8', frames: [{ text: body, tokens: answer.outputTokens }], outputTokens: answer.outputTokens, firstDelta: 0 };
      }
      const frames: Frame[] = [];
      const line = (msg: Json, tokens: number): void => {
        frames.push({ text: `${JSON.stringify({ model, created_at: createdAt, message: msg, done: false })}\n`, tokens });
      };
      if (toolCalls) line({ role: 'assistant', content: '', tool_calls: toolCalls }, answer.outputTokens);
      else for (const piece of textPieces(answer.words)) line({ role: 'assistant', content: piece }, piece.trim().split(' ').length);
      frames.push({ text: `${JSON.stringify({ model, created_at: createdAt, message, ...stats })}\n`, tokens: 0 });
      return { contentType: 'application/x-ndjson', frames, outputTokens: answer.outputTokens, firstDelta: 0 };
    },
  };
}

export function ollamaTags(): string {
  const modifiedAt = new Date(CREATED_AT_MS).toISOString();
  return JSON.stringify({
    models: OLLAMA_MODELS.map((name) => ({
      name,
      model: name,
      modified_at: modifiedAt,
      size: 2_019_393_189,
      digest: 'a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72',
      details: { format: 'gguf', family: name.split(':')[0], parameter_size: '3.2B', quantization_level: 'Q4_K_M' },
    })),
  });
}

/** `POST /api/embed {model, input: string | string[], dimensions?}` → `{model, embeddings, prompt_eval_count}`. */
export function parseOllamaEmbed(body: Json): ParseResult {
  if (typeof body['model'] !== 'string' || body['model'] === '') return errorReply(400, 'model is required');
  const input = body['input'];
  const texts = typeof input === 'string' ? [input] : Array.isArray(input) && input.every((x) => typeof x === 'string') ? (input as string[]) : undefined;
  if (!texts) return errorReply(400, 'invalid input type');
  const dimensions = typeof body['dimensions'] === 'number' && body['dimensions'] > 0 ? body['dimensions'] : 768;
  let inputTokens = 0;
  for (const text of texts) inputTokens += embeddingInputTokens(text);
  const model = body['model'];
  return {
    model,
    stream: false,
    demand: { inputTokens, generates: false, maxTokens: 0 },
    reply() {
      const embeddings = texts.map((text) => Array.from(embed(text, dimensions)));
      const text = JSON.stringify({ model, embeddings, total_duration: 1_000_000, load_duration: 0, prompt_eval_count: inputTokens });
      return { contentType: 'application/json; charset=utf-8', frames: [{ text, tokens: 0 }], outputTokens: 0, firstDelta: 0 };
    },
  };
}
