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
  /** Connections at most to this origin at once (the provider's `connections`; admission keeps within it). */
  connections?: number;
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
  /** One agent per connection cap: each keeps its own pool per origin. */
  private readonly agents = new Map<number, Agent>();

  private agentFor(connections: number): Agent {
    let agent = this.agents.get(connections);
    if (!agent) {
      agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connections, pipelining: 1 });
      this.agents.set(connections, agent);
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
        dispatcher: this.agentFor(req.connections ?? DEFAULT_CONNECTIONS),
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
