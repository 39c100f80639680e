/**
 * The one HTTP client spillway uses for providers: undici with pooled keep-alive connections.
 */
import { Agent, errors as undiciErrors, request, type Dispatcher } from 'undici';

export interface UpstreamRequest {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: Buffer | string;
  signal?: AbortSignal;
  /** Time allowed until the response headers, and between body chunks. */
  timeoutMs: number;
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
  private readonly agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connections: 512, pipelining: 1 });

  async send(req: UpstreamRequest): Promise<UpstreamResponse> {
    try {
      return await request(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: req.signal,
        dispatcher: this.agent,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      });
    } catch (error) {
      throw classifyFailure(error);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
