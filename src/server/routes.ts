/**
 * The HTTP surfaces: which path does what, client authentication, body limits, and turning every
 * failure into an error in the caller's own API shape.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CacheStatus, RequestRecord } from '../observe/observer.js';
import { isAdminPath, serveAdmin } from './admin.js';
import { isTrafficPath } from './admin-traffic.js';
import { ADMIN_KEYS_PATH, serveAdminKeys } from './admin-keys.js';
import { ADMIN_TENANTS_PATH, serveAdminTenants } from './admin-tenants.js';
import { answerHeaders } from '../pipeline/answer-headers.js';
import { BATCHES_PATH, serveBatches } from './batches.js';
import { writeAnswer } from './answer-writer.js';
import { serveChatCached } from '../pipeline/cached-chat.js';
import { ownerFor } from '../tenants/owner.js';
import { tenantMaxWait } from '../tenants/tenant.js';
import { GatewayError } from '../pipeline/errors.js';
import type { Surface } from '../protocol/surface.js';
import { sendError, sendJson, type Exchange } from './exchange.js';
import type { Gateway } from './gateway.js';
import { serveEmbedding } from '../pipeline/embeddings.js';
import { maxWaitOf, parseBody, parseChatRequest, parseCountTokensRequest, priorityOf } from '../pipeline/ingress.js';
import { openAIEmbeddingCall } from '../surfaces/openai-embeddings/codec.js';
import { listModels, countTokens } from './models.js';
import { readJsonBody } from './request-body.js';
import { serveResponses } from '../pipeline/responses.js';
import { RESPONSES_PATH, serveKeptResponses } from './responses.js';
import { isGeminiPath, serveGemini } from './gemini.js';

const requestIdPrefix = `req_spw_${randomBytes(6).toString('hex')}`;
let requestCounter = 0;

/** Anthropic paths answer in Anthropic's shape, OpenAI paths in OpenAI's, Gemini paths in Google's; shared paths decide by header. */
function surfaceOf(path: string, query: string, req: IncomingMessage): Surface {
  if (path === '/v1/chat/completions') return 'openai';
  if (path === RESPONSES_PATH || path.startsWith(`${RESPONSES_PATH}/`)) return 'responses';
  if (isGeminiPath(path, req.headers, query)) return 'gemini';
  if (path.startsWith('/v1/messages')) return 'anthropic';
  return req.headers['anthropic-version'] !== undefined ? 'anthropic' : 'openai';
}

/** The client's key: `x-api-key`, `Authorization: Bearer`, or Gemini's `x-goog-api-key` and `?key=`. */
function clientCredential(req: IncomingMessage, query: string): string | undefined {
  for (const name of ['x-api-key', 'x-goog-api-key']) {
    const apiKey = req.headers[name];
    if (typeof apiKey === 'string' && apiKey !== '') return apiKey;
  }
  const key = new URLSearchParams(query).get('key');
  if (key) return key;
  const authorization = req.headers.authorization;
  if (authorization?.startsWith('Bearer ')) return authorization.slice(7).trim();
  return undefined;
}

/** Open mode (no client keys) leaves the exchange's owner at '' and its tenant unset: everyone is the same client. */
function authenticate(gw: Gateway, req: IncomingMessage, exchange: Exchange, query: string): void {
  if (gw.tenants.open) return;
  const credential = clientCredential(req, query);
  if (credential === undefined) {
    throw new GatewayError('authentication', 'missing API key: send one of the gateway keys as x-api-key, Authorization: Bearer or (Gemini) x-goog-api-key');
  }
  const found = gw.tenants.identify(credential);
  if (!found) throw new GatewayError('authentication', 'invalid API key');
  exchange.tenant = found.tenant;
  exchange.trace.clientKeyId = found.keyId;
  exchange.trace.tenant = found.tenant.name;
  exchange.owner = ownerFor(gw.config, found.tenant.name, credential);
}

async function route(gw: Gateway, exchange: Exchange, method: string, path: string, query: string): Promise<void> {
  const { req } = exchange;
  if (method === 'GET' && path === '/healthz') return sendJson(exchange, 200, '{"status":"ok"}');
  if (method === 'GET' && path === '/readyz') {
    const ready = [...gw.providers.values()].some((provider) => provider.pool.snapshot(Date.now()).some((key) => key.healthy));
    return sendJson(exchange, ready ? 200 : 503, JSON.stringify({ status: ready ? 'ready' : 'no provider key in service' }));
  }
  // The dashboard and /metrics have keys of their own (admin.keys), checked in admin.ts.
  if ((method === 'GET' && isAdminPath(path)) || (method === 'POST' && isTrafficPath(path))) {
    const url = req.url ?? '/';
    return serveAdmin(gw, req, exchange.res, path, new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : ''), method);
  }
  if (path === ADMIN_KEYS_PATH || path.startsWith(`${ADMIN_KEYS_PATH}/`)) return serveAdminKeys(gw, exchange, method, path);
  if (path === ADMIN_TENANTS_PATH || path.startsWith(`${ADMIN_TENANTS_PATH}/`)) return serveAdminTenants(gw, exchange, method, path);
  // `?key=` is Gemini's way only: elsewhere a key in the URL is not asked for.
  authenticate(gw, req, exchange, exchange.surface === 'gemini' ? query : '');
  if (exchange.surface === 'gemini') return serveGemini(gw, exchange, method, path, query);
  const limit = gw.config.server.max_body_bytes;
  const maxWait = () => tenantMaxWait(exchange.tenant, maxWaitOf(req.headers, gw.config.queue.max_wait, gw.config.queue.max_wait_cap));
  const priority = () => priorityOf(req.headers, exchange.tenant?.priority);
  if (method === 'POST' && (path === '/v1/messages' || path === '/v1/chat/completions')) {
    const chat = parseChatRequest(path === '/v1/messages' ? 'anthropic' : 'openai', await readJsonBody(req, limit));
    const answer = await serveChatCached(gw, exchange, chat, priority(), maxWait());
    if (answer) await writeAnswer(exchange, answer);
    return;
  }
  if (path === RESPONSES_PATH || path.startsWith(`${RESPONSES_PATH}/`)) {
    if (method === 'POST' && path === RESPONSES_PATH) {
      const answer = await serveResponses(gw, exchange, await readJsonBody(req, limit), priority(), maxWait());
      if (answer) await writeAnswer(exchange, answer);
      return;
    }
    return serveKeptResponses(gw, exchange, method, path);
  }
  if (method === 'POST' && path === '/v1/embeddings') {
    const call = parseBody('openai', await readJsonBody(req, limit), openAIEmbeddingCall);
    const answer = await serveEmbedding(gw, exchange, call, priority(), maxWait());
    if (answer) await writeAnswer(exchange, answer);
    return;
  }
  if (method === 'POST' && path === '/v1/messages/count_tokens') {
    return countTokens(gw, exchange, parseCountTokensRequest(await readJsonBody(req, limit)));
  }
  if (path === BATCHES_PATH || path.startsWith(`${BATCHES_PATH}/`)) return serveBatches(gw, exchange, method, path);
  if (method === 'GET' && path === '/v1/models') return listModels(gw, exchange);
  throw new GatewayError('not_found', `${method} ${path} is not a spillway endpoint`);
}

/** Only chat requests are recorded: they are what limits, usage and cost are about. */
function recordOf(exchange: Exchange): RequestRecord {
  const { trace, res } = exchange;
  return {
    requestId: exchange.requestId,
    surface: exchange.surface,
    status: res.writableFinished ? res.statusCode : 499,
    stream: false,
    cache: (exchange.spillwayHeaders['x-spillway-cache'] as CacheStatus | undefined) ?? 'bypass',
    queueMs: 0,
    attempts: 0,
    durationMs: Date.now() - trace.startedAt,
    ...trace,
  };
}

export function handleRequest(gw: Gateway, req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  const search = query < 0 ? '' : url.slice(query + 1);
  const requestId = `${requestIdPrefix}${(requestCounter++).toString(36)}`;
  const abort = new AbortController();
  const exchange: Exchange = {
    req,
    res,
    requestId,
    surface: surfaceOf(path, search, req),
    owner: '',
    signal: abort.signal,
    spillwayHeaders: answerHeaders(),
    trace: { startedAt: Date.now() },
  };
  // Chat requests are traced (the paths with a model); the rest (health, metrics, the dashboard) are not.
  const spans = req.method === 'POST' ? gw.tracing?.startRequest(req.headers, `${req.method} ${path}`) : undefined;
  if (spans) exchange.spans = spans;
  res.on('close', () => {
    // The client is gone when the response closes before it finished.
    if (!res.writableFinished) abort.abort();
    if (exchange.trace.requestedModel === undefined) return;
    exchange.spans?.end(recordOf(exchange));
    try {
      gw.observer.request(recordOf(exchange));
    } catch (error) {
      // An event handler that throws would end the process; a request left unrecorded ends nothing.
      gw.log(`spillway: could not record ${requestId}: ${describeError(error)}`);
    }
  });
  route(gw, exchange, req.method ?? 'GET', path, search)
    .catch((error: unknown) => answerFailure(gw, exchange, path, error))
    .catch((error: unknown) => {
      // The last resort: the failure could not even be answered. Only this exchange ends, never the process.
      gw.log(`spillway: could not answer ${req.method} ${path}: ${describeError(error)}`);
      res.destroy();
    });
}

function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

function answerFailure(gw: Gateway, exchange: Exchange, path: string, error: unknown): void {
  const { req, res } = exchange;
  if (error instanceof GatewayError) {
    // Refused before its body was read (unauthenticated, too large): the rest is not worth reading.
    if (!req.complete) res.shouldKeepAlive = false;
    return sendError(exchange, error);
  }
  gw.log(`spillway: internal error on ${req.method} ${path}: ${describeError(error)}`);
  if (res.headersSent) res.destroy();
  else sendError(exchange, new GatewayError('upstream', 'internal gateway error'));
}
