/**
 * The Message Batches API (wire-facts §3.3), served by spillway itself over whatever provider and
 * route each request's model resolves to. Jobs live in the batch store; batch/runner.ts drains them.
 *
 * Every batch belongs to the tenant whose key created it (`exchange.owner`, tenants/owner.ts): a
 * tenant lists and reaches only its own, and another tenant's batch answers exactly like an unknown id.
 */
import { drained } from './backpressure.js';
import type { BatchService } from '../batch/runner.js';
import { BATCH_LIFETIME_MS, newBatchId, page, resultLine, type BatchRecord } from '../batch/shape.js';
import { webhookRefusal } from '../batch/webhook-hosts.js';
import { BatchCreateBody } from './batch-create.js';
import { GatewayError } from '../pipeline/errors.js';
import { sendJson, type Exchange } from './exchange.js';
import type { Gateway } from './gateway.js';
import { receiveBody } from './request-body.js';

export const BATCHES_PATH = '/v1/messages/batches';

/** Upstream allows 256 MB batch bodies, more than a single message. */
const MAX_BATCH_BYTES = 256 * 1024 * 1024;

/** Request headers that shape what the provider does, kept with the batch and sent with each request. */
const REPLAYED_HEADERS = ['anthropic-version', 'anthropic-beta'];

function header(exchange: Exchange, name: string): string | undefined {
  const value = exchange.req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** results_url must be absolute: the SDK fetches it as given. */
function baseUrlOf(exchange: Exchange): string {
  const host = header(exchange, 'x-forwarded-host') ?? header(exchange, 'host') ?? '127.0.0.1';
  const proto = header(exchange, 'x-forwarded-proto') === 'https' ? 'https' : 'http';
  return `${proto}://${host}`;
}

/** The client's webhook if it names an allowed host, else the operator's default (trusted as configured). */
function webhookOf(exchange: Exchange, service: BatchService, allowedHosts: readonly string[]): string | undefined {
  const asked = header(exchange, 'x-spillway-batch-webhook');
  if (asked === undefined) return service.defaultWebhook;
  const refusal = webhookRefusal(asked, allowedHosts);
  if (refusal !== undefined) throw new GatewayError('invalid_request', `x-spillway-batch-webhook: ${refusal}`);
  return asked;
}

async function create(service: BatchService, exchange: Exchange, limit: number, allowedHosts: readonly string[]): Promise<void> {
  // The webhook is judged before a byte of the body is read.
  const webhook = webhookOf(exchange, service, allowedHosts);
  const body = new BatchCreateBody();
  await receiveBody(exchange.req, limit, (chunk) => body.write(chunk));
  const requests = body.end();
  const headers: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = header(exchange, name);
    if (value !== undefined) headers[name] = value;
  }
  headers['anthropic-version'] ??= '2023-06-01';
  const now = Date.now();
  const batch = {
    id: newBatchId(),
    owner: exchange.owner,
    processingStatus: 'in_progress' as const,
    total: requests.length,
    createdAt: now,
    expiresAt: now + BATCH_LIFETIME_MS,
    endedAt: null,
    cancelInitiatedAt: null,
    webhookUrl: webhook ?? null,
    webhookSentAt: null,
    headers,
  };
  const store = service.store();
  await store.createBatch(batch, requests);
  service.wake();
  const stored = await store.getBatch(batch.id);
  sendJson(exchange, 200, JSON.stringify(await service.object(stored!, baseUrlOf(exchange))));
}

function listLimit(query: URLSearchParams): number {
  const raw = query.get('limit');
  if (raw === null) return 20;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new GatewayError('invalid_request', 'limit: expected an integer from 1 to 1000');
  return limit;
}

async function list(service: BatchService, exchange: Exchange, query: URLSearchParams): Promise<void> {
  const { batches, hasMore } = await service.store().listBatches({
    owner: exchange.owner,
    limit: listLimit(query),
    beforeId: query.get('before_id') ?? undefined,
    afterId: query.get('after_id') ?? undefined,
  });
  const base = baseUrlOf(exchange);
  const data = await Promise.all(batches.map((batch) => service.object(batch, base)));
  sendJson(exchange, 200, JSON.stringify(page(data, hasMore)));
}

async function results(service: BatchService, exchange: Exchange, id: string): Promise<void> {
  const batch = await ownBatch(service, exchange, id);
  if (batch.processingStatus !== 'ended') throw new GatewayError('invalid_request', `message batch ${id} is still processing; results are available once it has ended`);
  const { res } = exchange;
  res.writeHead(200, { 'content-type': 'application/x-jsonl', ...exchange.spillwayHeaders });
  // Written line by line as read, so a 100,000-request batch is never held in memory whole.
  for await (const { customId, result } of service.store().results(id)) {
    if (!res.write(resultLine(customId, JSON.parse(result) as unknown))) await drained(res);
    if (res.destroyed) return;
  }
  res.end();
}

function notFound(id: string): GatewayError {
  return new GatewayError('not_found', `message batch ${id} not found`);
}

/** The caller's batch `id`. Another client's is not found, like an unknown id: its existence must not show. */
async function ownBatch(service: BatchService, exchange: Exchange, id: string): Promise<BatchRecord> {
  const batch = await service.store().getBatch(id);
  if (!batch || batch.owner !== exchange.owner) throw notFound(id);
  return batch;
}

/**
 * While the batch store is out of reach (Redis down) the endpoints answer 503 overloaded_error,
 * which the SDKs retry, rather than a 500 or a stale answer; interactive traffic is unaffected.
 */
export async function serveBatches(
  gw: Gateway,
  exchange: Exchange,
  method: string,
  path: string,
): Promise<void> {
  const service = gw.batches;
  if (!service) throw new GatewayError('not_found', 'message batches are disabled on this gateway (batches.enabled)');
  const unavailable = () => new GatewayError('overloaded', 'the batch store is unreachable right now; retry shortly');
  if (service.store().degraded) throw unavailable();
  try {
    return await route(service, gw, exchange, method, path);
  } catch (error) {
    if (!(error instanceof GatewayError) && service.store().degraded) throw unavailable();
    throw error;
  }
}

async function route(
  service: BatchService,
  gw: Gateway,
  exchange: Exchange,
  method: string,
  path: string,
): Promise<void> {
  const url = exchange.req.url ?? '';
  const query = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
  const rest = path.slice(BATCHES_PATH.length).replace(/\/$/, '');
  if (rest === '') {
    if (method === 'POST') return create(service, exchange, Math.max(gw.config.server.max_body_bytes, MAX_BATCH_BYTES), gw.config.batches.webhook_hosts);
    if (method === 'GET') return list(service, exchange, query);
  }
  const match = /^\/([A-Za-z0-9_-]+)(\/results|\/cancel)?$/.exec(rest);
  if (match) {
    const [, id, action] = match as unknown as [string, string, string | undefined];
    const store = service.store();
    if (action === '/results' && method === 'GET') return results(service, exchange, id);
    if (action === '/cancel' && method === 'POST') {
      await ownBatch(service, exchange, id);
      if (!(await service.cancel(id))) throw notFound(id);
      return sendJson(exchange, 200, JSON.stringify(await service.object((await store.getBatch(id))!, baseUrlOf(exchange))));
    }
    if (action === undefined && method === 'GET') {
      const batch = await ownBatch(service, exchange, id);
      return sendJson(exchange, 200, JSON.stringify(await service.object(batch, baseUrlOf(exchange))));
    }
    if (action === undefined && method === 'DELETE') {
      const batch = await ownBatch(service, exchange, id);
      if (batch.processingStatus !== 'ended') {
        throw new GatewayError('invalid_request', `message batch ${id} is still processing; cancel it and wait for it to end before deleting it`);
      }
      await store.deleteBatch(id);
      return sendJson(exchange, 200, JSON.stringify({ id, type: 'message_batch_deleted' }));
    }
  }
  throw new GatewayError('not_found', `${method} ${path} is not a spillway endpoint`);
}
