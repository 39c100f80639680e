/**
 * Gemini's API as a client surface (@google/genai, Gemini CLI): `/v1beta|v1/models/{model}:{method}`
 * for generateContent, streamGenerateContent (SSE with `alt=sse`, else a JSON array), countTokens,
 * embedContent and batchEmbedContents, and the model list. Requests are translated to the pivot at
 * this edge and served by the same pipeline as every chat request (quota, routes, cache, metrics);
 * answers are translated back (src/surfaces/gemini/). A target that is a Gemini provider gets the
 * client's own bytes instead (ChatRequest.native), and its answer reaches the client as it came.
 */
import { bodyOf, type Answer } from '../pipeline/answer.js';
import { serveChatCached } from '../pipeline/cached-chat.js';
import { serveMergeable } from '../merge/window.js';
import { serveEmbedding } from '../pipeline/embeddings.js';
import { GatewayError } from '../pipeline/errors.js';
import { maxWaitOf, parseBody, priorityOf, type ChatRequest } from '../pipeline/ingress.js';
import { SseParser } from '../protocol/sse.js';
import { checkModelAccess } from '../pipeline/model-access.js';
import type { Priority } from '../quota/queue.js';
import { findRoute, planRoute } from '../routing/plan.js';
import { tenantMaxWait } from '../tenants/tenant.js';
import type { PivotStreamSink } from '../surfaces/codec.js';
import { pivotErrorToGemini, PivotToGeminiStream, type GeminiStreamMode } from '../surfaces/gemini/answer.js';
import { geminiSurface } from '../surfaces/gemini/codec.js';
import { geminiEmbeddingCall, GeminiRequestFault } from '../surfaces/gemini/embeddings.js';
import type { PivotAnswer } from '../pivot/index.js';
import { writeAnswer } from './answer-writer.js';
import { sendJson, type Exchange } from './exchange.js';
import type { Gateway } from './gateway.js';
import { readJsonBody } from './request-body.js';
import { restreamed, sseAsJsonArray } from './gemini-stream.js';
import { anyKey, modelsFor } from './models.js';

type Json = Record<string, unknown>;

/** `/v1beta/…` always; `/v1/models…` when the caller speaks Gemini (its key header or `?key=`, or a `:method`). */
export function isGeminiPath(path: string, headers: Record<string, unknown>, query: string): boolean {
  if (path.startsWith('/v1beta/')) return true;
  if (!path.startsWith('/v1/models')) return false;
  return path.includes(':') || headers['x-goog-api-key'] !== undefined || new URLSearchParams(query).has('key');
}

/** `/v1beta/models/gemini-2.5-flash:generateContent` → the model and the method (none for a GET of one model). */
function callOf(path: string): { model: string; method: string | undefined } | undefined {
  const match = /^\/v1(?:beta)?\/models\/(.+)$/.exec(path);
  if (!match) return undefined;
  const rest = match[1]!;
  const colon = rest.lastIndexOf(':');
  try {
    return colon < 0 ? { model: decodeURIComponent(rest), method: undefined } : { model: decodeURIComponent(rest.slice(0, colon)), method: rest.slice(colon + 1) };
  } catch {
    return undefined;
  }
}

/** Gemini's own faults are 400 INVALID_ARGUMENT with the field in the message. */
function geminiBody(raw: Buffer, read: (body: Json) => Json = (body) => body): Json {
  return parseBody('gemini', raw, (body) => {
    try {
      return read(body);
    } catch (error) {
      if (error instanceof GeminiRequestFault) throw new GatewayError('invalid_request', error.message);
      throw error;
    }
  });
}

/** generationConfig's numbers that spillway reads, and the proto type Google names in its error. */
const CONFIG_NUMBERS: Record<string, { field: string; type: 'TYPE_INT32' | 'TYPE_FLOAT' }> = {
  maxOutputTokens: { field: 'max_output_tokens', type: 'TYPE_INT32' },
  topK: { field: 'top_k', type: 'TYPE_INT32' },
  temperature: { field: 'temperature', type: 'TYPE_FLOAT' },
  topP: { field: 'top_p', type: 'TYPE_FLOAT' },
};

/** What a generate call needs before spillway reads it, faulted in Google's words. */
function needContents(body: Json): Json {
  if (!Array.isArray(body.contents) || body.contents.length === 0) throw new GeminiRequestFault('* GenerateContentRequest.contents: contents is not specified');
  body.contents.forEach((content: unknown, i) => {
    const parts = content !== null && typeof content === 'object' ? (content as Json).parts : undefined;
    if (!Array.isArray(parts) || parts.length === 0) throw new GeminiRequestFault(`* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.`);
  });
  const config = body.generationConfig;
  if (config !== null && typeof config === 'object') {
    for (const [name, { field, type }] of Object.entries(CONFIG_NUMBERS)) {
      const value = (config as Json)[name];
      const fits = typeof value === 'number' && (type === 'TYPE_FLOAT' || Number.isInteger(value));
      if (value != null && !fits) throw new GeminiRequestFault(`Invalid value at 'generation_config.${field}' (${type}), ${JSON.stringify(value)}`);
    }
  }
  return body;
}

function retryAfterMs(headers: Answer['headers']): number | undefined {
  const seconds = Number(headers['retry-after']);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}

/**
 * A Gemini provider's own answer (or refusal), as it came: only a stream the client asked for as
 * one JSON array is re-framed, its chunks' JSON untouched (spillway always asks for SSE upstream).
 */
function asItCame(answer: Answer, mode: GeminiStreamMode | 'unary'): Answer {
  if (answer.status !== 200 || mode !== 'array') return answer;
  const headers: Answer['headers'] = { ...answer.headers, 'content-type': 'application/json; charset=UTF-8' };
  delete headers['content-length'];
  return { ...answer, headers, body: sseAsJsonArray(answer.body) };
}

/** A pivot answer (OpenAI chat, whole or streamed, or an error) as Gemini's. */
async function asGemini(answer: Answer, model: string, mode: GeminiStreamMode | 'unary'): Promise<Answer> {
  if (answer.native) return asItCame(answer, mode);
  const keep = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => name === 'retry-after' || name.endsWith('request-id')));
  if (answer.status !== 200) {
    const text = (await bodyOf(answer)).toString('utf8');
    return { ...answer, headers: { ...keep, 'content-type': 'application/json; charset=UTF-8' }, body: Buffer.from(pivotErrorToGemini(answer.status, text, retryAfterMs(answer.headers))) };
  }
  const now = Date.now();
  if (mode === 'unary') {
    const completion = JSON.parse((await bodyOf(answer)).toString('utf8')) as PivotAnswer;
    const body = JSON.stringify(geminiSurface.fromPivot(completion, { requestedModel: model, now }));
    return { ...answer, headers: { ...keep, 'content-type': 'application/json; charset=UTF-8' }, body: Buffer.from(body) };
  }
  // The codec streams SSE (`alt=sse`, what the SDK and the CLI ask for); without it Gemini sends one JSON array.
  const sink = mode === 'sse' ? geminiSurface.streamFromPivot({ requestedModel: model, now, body: {} }) : new PivotToGeminiStream({ model, mode });
  const contentType = mode === 'sse' ? 'text/event-stream' : 'application/json; charset=UTF-8';
  return { ...answer, headers: { ...keep, 'content-type': contentType }, body: translatedStream(answer.body, sink) };
}

function translatedStream(body: Answer['body'], stream: PivotStreamSink): AsyncIterable<string> {
  const parser = new SseParser();
  return restreamed(
    body,
    (chunk) => parser.push(chunk).map((event) => stream.push(event)).join(''),
    () => parser.end().map((event) => stream.push(event)).join('') + stream.end(),
  );
}

async function generate(gw: Gateway, exchange: Exchange, model: string, mode: GeminiStreamMode | 'unary'): Promise<void> {
  const { req } = exchange;
  const raw = await readJsonBody(req, gw.config.server.max_body_bytes);
  const body = geminiBody(raw, needContents);
  const stream = mode !== 'unary';
  const { request, dropped } = geminiSurface.toPivot(body, { model });
  // Gemini names the stream in its URL; the pivot in its body, usage asked for (the answer carries usageMetadata).
  if (stream) Object.assign(request, { stream: true, stream_options: { include_usage: true } });
  const chat: ChatRequest = {
    surface: 'openai',
    model,
    stream,
    maxTokens: request.max_completion_tokens ?? undefined,
    body: request,
    raw: Buffer.from(JSON.stringify(request)),
    // The pivot is spillway's: an OpenAI-compatible provider gets it through its codec (top_k, reasoning_effort as its model takes them).
    translated: true,
    native: { surface: 'gemini', body, raw },
  };
  const [priority, maxWait] = admissionOf(gw, exchange);
  const answer = await serveMergeable(gw, exchange, chat, priority, maxWait, (wait) => serveChatCached(gw, exchange, chat, priority, wait));
  if (!answer) return;
  // A Gemini provider got the client's own request: nothing of it was dropped.
  const further = exchange.spillwayHeaders['x-spillway-dropped'];
  const all = [...(answer.native ? [] : dropped), ...(typeof further === 'string' ? further.split(', ') : [])];
  if (all.length > 0) exchange.spillwayHeaders['x-spillway-dropped'] = [...new Set(all)].join(', ').slice(0, 512);
  await writeAnswer(exchange, await asGemini(answer, model, mode));
}

/**
 * countTokens, `{contents}` or `{generateContentRequest}`: a Gemini provider's own count when the
 * route reaches one (the client's bytes, the route's model in the URL), else spillway's estimate
 * of the prompt (the same one admission uses).
 */
async function countTokens(gw: Gateway, exchange: Exchange, model: string): Promise<void> {
  checkModelAccess(exchange, model);
  const raw = await readJsonBody(exchange.req, gw.config.server.max_body_bytes);
  const body = geminiBody(raw);
  const route = findRoute(gw.config.routes, model);
  const target = route && planRoute(route, model).find((c) => gw.providers.get(c.provider)?.adapter.protocol === 'gemini');
  const provider = target && gw.providers.get(target.provider);
  const key = provider && anyKey(provider);
  if (target && provider && key !== undefined) {
    const response = await gw.upstream.send({
      url: `${provider.baseUrl}/v1beta/models/${encodeURIComponent(target.model.replace(/^models\//, ''))}:countTokens`,
      method: 'POST',
      headers: { ...provider.config.headers, ...provider.adapter.authHeaders(key), 'content-type': 'application/json' },
      body: raw,
      timeoutMs: 30_000,
      signal: exchange.signal,
    });
    return sendJson(exchange, response.statusCode, await response.body.text());
  }
  const inner = typeof body.generateContentRequest === 'object' && body.generateContentRequest !== null ? (body.generateContentRequest as Json) : body;
  const { request } = geminiSurface.toPivot(inner, { model });
  const totalTokens = gw.estimator.estimateInput(model, request);
  sendJson(exchange, 200, JSON.stringify({ totalTokens, promptTokensDetails: [{ modality: 'TEXT', tokenCount: totalTokens }] }));
}

async function embed(gw: Gateway, exchange: Exchange, model: string, batch: boolean): Promise<void> {
  const { req } = exchange;
  const raw = await readJsonBody(req, gw.config.server.max_body_bytes);
  let call;
  try {
    call = parseBody('gemini', raw, (body) => geminiEmbeddingCall(body, model, batch, raw));
  } catch (error) {
    throw error instanceof GeminiRequestFault ? new GatewayError('invalid_request', error.message) : error;
  }
  const answer = await serveEmbedding(gw, exchange, call, ...admissionOf(gw, exchange));
  if (answer) await writeAnswer(exchange, answer);
}

/** Priority and longest wait: the caller's headers, within its tenant's default and cap, as on every surface. */
function admissionOf(gw: Gateway, exchange: Exchange): [Priority, number] {
  const { headers } = exchange.req;
  return [priorityOf(headers, exchange.tenant?.priority), tenantMaxWait(exchange.tenant, maxWaitOf(headers, gw.config.queue.max_wait, gw.config.queue.max_wait_cap))];
}

const GENERATE_METHODS = ['generateContent', 'streamGenerateContent', 'countTokens'];

function modelResource(id: string): Json {
  const embedding = /embed/i.test(id);
  return {
    name: `models/${id}`,
    version: '001',
    displayName: id,
    description: `${id} through spillway`,
    inputTokenLimit: 1_048_576,
    outputTokenLimit: embedding ? 1 : 65_536,
    supportedGenerationMethods: embedding ? ['embedContent', 'batchEmbedContents'] : GENERATE_METHODS,
  };
}

/** The models clients may name; no provider lists Gemini models here, so every provider's count (any route can translate). */
async function listModels(gw: Gateway, exchange: Exchange): Promise<void> {
  const models = (await modelsFor(gw, exchange)).map((model) => modelResource(model.id));
  sendJson(exchange, 200, JSON.stringify({ models }));
}

export async function serveGemini(gw: Gateway, exchange: Exchange, method: string, path: string, query: string): Promise<void> {
  if (method === 'GET' && /^\/v1(beta)?\/models\/?$/.test(path)) return listModels(gw, exchange);
  const call = callOf(path);
  const model = call?.model.replace(/^models\//, '');
  if (call && model && method === 'GET' && call.method === undefined) {
    checkModelAccess(exchange, model);
    if (!findRoute(gw.config.routes, model)) throw new GatewayError('not_found', `models/${model} is not found for API version ${path.startsWith('/v1beta') ? 'v1beta' : 'v1'}`);
    return sendJson(exchange, 200, JSON.stringify(modelResource(model)));
  }
  if (call && model && method === 'POST') {
    switch (call.method) {
      case 'generateContent':
        return generate(gw, exchange, model, 'unary');
      case 'streamGenerateContent':
        return generate(gw, exchange, model, new URLSearchParams(query).get('alt') === 'sse' ? 'sse' : 'array');
      case 'countTokens':
        return countTokens(gw, exchange, model);
      case 'embedContent':
      case 'batchEmbedContents':
        return embed(gw, exchange, model, call.method === 'batchEmbedContents');
    }
  }
  throw new GatewayError('not_found', `${method} ${path} is not a Gemini method spillway serves`);
}
