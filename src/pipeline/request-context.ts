import type { IncomingHttpHeaders } from 'node:http';
import type { RequestRecord } from '../observe/observer.js';
import type { RequestSpans } from '../observe/tracing.js';
import type { Surface } from '../protocol/surface.js';
import type { Tenant } from '../tenants/tenant.js';

/**
 * One request as the request path sees it: no socket. The HTTP server's Exchange adds the
 * socket; a batch request is one of these and nothing more.
 */
export interface RequestContext {
  /** The client's headers, and its URL (the query is passed on to a provider of the same protocol). */
  req: { headers: IncomingHttpHeaders; url?: string };
  requestId: string;
  surface: Surface;
  /**
   * Who the request acts for: its tenant from `tenants:`, or an opaque, stable hash of a
   * server.auth.keys credential (tenants/owner.ts), '' while the gateway has no client keys.
   * Batches and kept responses are scoped by it.
   */
  owner: string;
  /** The tenant its client key belongs to; undefined while the gateway has no client keys. */
  tenant?: Tenant;
  /** Fires when the client goes away before the answer is complete. */
  signal: AbortSignal;
  /** The `x-spillway-*` headers to put on the answer (header-safe: answer-headers.ts); filled in along the way. */
  spillwayHeaders: Record<string, string>;
  /** What the observer is told when the request ends; filled in along the way. */
  trace: Partial<RequestRecord> & { startedAt: number };
  /** Its OpenTelemetry spans, with `telemetry.otlp_endpoint` set. */
  spans?: RequestSpans;
}

/** Note the moment the answer's first byte goes out. */
export function markFirstByte(context: RequestContext): void {
  context.trace.ttfbMs ??= Date.now() - context.trace.startedAt;
}
