/**
 * The one HTTP client spillway uses for providers: undici with pooled keep-alive connections.
 */
import { Agent, errors as undiciErrors, request, type Dispatcher } from 'undici';
import { DEFAULT_CONNECTIONS } from '../quota/connections.js';

export interface UpstreamRequest {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: Buffer | string;
  signal?: AbortSignal;
  /** Time allowed until the response headers, and between body chunks. */
  timeoutMs: number;
  /**
   * The provider's own connection pool: at most `connections` at once (admission keeps within it,
   * see quota/connections.ts). Providers sharing an origin keep pools of their own, so each one's
   * count is exact. Absent: a shared pool per origin.
   */
  pool?: { name: string; connections: number };
}

export type UpstreamResponse = Dispatcher.ResponseData;

/** Why a request got no HTTP answer: it timed out, or the connection failed. */
export class UpstreamFailure extends Error {
  override name = 'UpstreamFailure';
  constructor(
    readonly kind: 'timeout' | 'connection',
    message: string,
  ) {
    super(message);
  }
}

export function classifyFailure(error: unknown): UpstreamFailure {
  if (error instanceof UpstreamFailure) return error;
  const message = error instanceof Error ? error.message : String(error);
  const timedOut =
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError ||
    error instanceof undiciErrors.ConnectTimeoutError;
  return new UpstreamFailure(timedOut ? 'timeout' : 'connection', message);
}

/** One per gateway, so closing a gateway closes only its own connections. */
export class UpstreamClient {
  /** One agent per provider (and connection cap), each with its own pool per origin; '' for the rest. */
  private readonly agents = new Map<string, Agent>();

  private agentFor(pool: UpstreamRequest['pool']): Agent {
    const name = pool ? `${pool.name}\u0000${pool.connections}` : '';
    let agent = this.agents.get(name);
    if (!agent) {
      agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connections: pool?.connections ?? DEFAULT_CONNECTIONS, pipelining: 1 });
      this.agents.set(name, agent);
    }
    return agent;
  }

  async send(req: UpstreamRequest): Promise<UpstreamResponse> {
    try {
      return await request(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: req.signal,
        dispatcher: this.agentFor(req.pool),
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      });
    } catch (error) {
      throw classifyFailure(error);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((agent) => agent.close()));
  }
}
