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
  /**
   * Called when the request starts going out on a connection: at once on an idle one, or after
   * waiting for one to open or come free (which can reorder requests sent together).
   */
  onWritten?: () => void;
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

/**
 * Tells a request's onWritten when undici starts writing it to a connection (its handler's
 * onRequestStart); every other event passes through untouched.
 */
const reportWritten: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
  const written = (opts as { onWritten?: () => void }).onWritten;
  if (!written) return dispatch(opts, handler);
  return dispatch(opts, {
    onRequestStart: (controller, context) => {
      written();
      handler.onRequestStart?.(controller, context);
    },
    onRequestUpgrade: (controller, statusCode, headers, socket) => handler.onRequestUpgrade?.(controller, statusCode, headers, socket),
    onResponseStart: (controller, statusCode, headers, statusMessage) => handler.onResponseStart?.(controller, statusCode, headers, statusMessage),
    onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
    onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
    onResponseError: (controller, error) => handler.onResponseError?.(controller, error),
  });
};

/** One per gateway, so closing a gateway closes only its own connections. */
export class UpstreamClient {
  /** One agent per provider (and connection cap), each with its own pool per origin; '' for the rest. */
  private readonly agents = new Map<string, { agent: Agent; dispatcher: Dispatcher }>();

  private dispatcherFor(pool: UpstreamRequest['pool']): Dispatcher {
    const name = pool ? `${pool.name}\u0000${pool.connections}` : '';
    let entry = this.agents.get(name);
    if (!entry) {
      const agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connections: pool?.connections ?? DEFAULT_CONNECTIONS, pipelining: 1 });
      entry = { agent, dispatcher: agent.compose(reportWritten) };
      this.agents.set(name, entry);
    }
    return entry.dispatcher;
  }

  async send(req: UpstreamRequest): Promise<UpstreamResponse> {
    try {
      return await request(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: req.signal,
        dispatcher: this.dispatcherFor(req.pool),
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
        ...(req.onWritten ? { onWritten: req.onWritten } : {}),
      });
    } catch (error) {
      throw classifyFailure(error);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map(({ agent }) => agent.close()));
  }
}
