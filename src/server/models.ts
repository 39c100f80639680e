/**
 * The model list and token counting: answered from routes and providers without admission,
 * since providers limit these endpoints separately from messages.
 */
import type { Provider } from '../providers/provider.js';
import { checkModelAccess } from '../pipeline/model-access.js';
import { findRoute, planRoute } from '../routing/plan.js';
import { mayUseModel } from '../tenants/tenant.js';
import type { Exchange } from './exchange.js';
import { sendJson } from './exchange.js';
import type { Gateway } from './gateway.js';

interface ModelEntry {
  id: string;
  created: number;
}

const CREATED = Date.parse('2025-01-01T00:00:00Z') / 1000;

/** A healthy key of the provider, for requests that need one but are not admission-controlled. */
export function anyKey(provider: Provider): string | undefined {
  const key = provider.pool.snapshot(Date.now()).find((snapshot) => snapshot.healthy);
  return key ? provider.secretOf(key.id) : undefined;
}

/** The model ids of every provider that lists them (those speaking `protocol`, if given), best effort. */
async function upstreamModels(gw: Gateway, exchange: Exchange, protocol?: string): Promise<ModelEntry[]> {
  const providers = [...gw.providers.values()].filter((p) => p.adapter.modelsPath && (protocol === undefined || p.adapter.protocol === protocol));
  const lists = await Promise.all(
    providers.map(async (provider) => {
      const key = anyKey(provider);
      if (key === undefined) return [];
      try {
        const response = await gw.upstream.send({
          url: provider.baseUrl + provider.adapter.modelsPath,
          method: 'GET',
          headers: { ...provider.adapter.authHeaders(key), 'anthropic-version': '2023-06-01' },
          timeoutMs: 10_000,
          signal: exchange.signal,
        });
        const body = (await response.body.json()) as { data?: Array<{ id?: unknown }> };
        return (body.data ?? []).flatMap((model) => (typeof model.id === 'string' ? [{ id: model.id, created: CREATED }] : []));
      } catch {
        return []; // A provider that cannot list its models still serves them; the list is a convenience.
      }
    }),
  );
  return lists.flat();
}

/**
 * The models a client may name: the routes' own names, then what the providers list (those that
 * speak `protocol`, if given; a `*` route serves any other name). A tenant limited to some models is
 * shown only those.
 */
export async function modelsFor(gw: Gateway, exchange: Exchange, protocol?: string): Promise<ModelEntry[]> {
  const named = Object.keys(gw.config.routes)
    .filter((name) => !name.includes('*'))
    .map((id) => ({ id, created: CREATED }));
  const seen = new Set<string>();
  const mayUse = (id: string) => !exchange.tenant || mayUseModel(exchange.tenant, id);
  return [...named, ...(await upstreamModels(gw, exchange, protocol))].filter((model) => mayUse(model.id) && !seen.has(model.id) && seen.add(model.id));
}

export async function listModels(gw: Gateway, exchange: Exchange): Promise<void> {
  const models = await modelsFor(gw, exchange, exchange.surface);
  if (exchange.surface === 'anthropic') {
    const data = models.map((model) => ({
      type: 'model',
      id: model.id,
      display_name: model.id,
      created_at: new Date(model.created * 1000).toISOString(),
    }));
    return sendJson(exchange, 200, JSON.stringify({ data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null }));
  }
  const data = models.map((model) => ({ id: model.id, object: 'model', created: model.created, owned_by: 'spillway' }));
  return sendJson(exchange, 200, JSON.stringify({ object: 'list', data }));
}

/** count_tokens: the Anthropic provider's own count when the route reaches one, else spillway's estimate. */
export async function countTokens(gw: Gateway, exchange: Exchange, body: Record<string, unknown>): Promise<void> {
  const model = body.model as string;
  checkModelAccess(exchange, model);
  const route = findRoute(gw.config.routes, model);
  const target = route && planRoute(route, model).find((c) => gw.providers.get(c.provider)!.adapter.protocol === 'anthropic');
  const provider = target && gw.providers.get(target.provider)!;
  const key = provider && anyKey(provider);
  if (target && provider && key !== undefined) {
    const response = await gw.upstream.send({
      url: `${provider.baseUrl}/v1/messages/count_tokens`,
      method: 'POST',
      headers: {
        ...provider.adapter.authHeaders(key),
        'anthropic-version': String(exchange.req.headers['anthropic-version'] ?? '2023-06-01'),
        ...(exchange.req.headers['anthropic-beta'] ? { 'anthropic-beta': String(exchange.req.headers['anthropic-beta']) } : {}),
        'content-type': 'application/json',
      },
      body: JSON.stringify({ ...body, model: target.model }),
      timeoutMs: 30_000,
      signal: exchange.signal,
    });
    return sendJson(exchange, response.statusCode, await response.body.text());
  }
  const inputTokens = gw.estimator.estimateInput(model, body);
  return sendJson(exchange, 200, JSON.stringify({ input_tokens: inputTokens }));
}
