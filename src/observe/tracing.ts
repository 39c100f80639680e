/**
 * OpenTelemetry traces of client requests (`telemetry:` in the config; off without an endpoint):
 * one span per request, continuing the client's `traceparent`, with children for the queue wait,
 * cache lookups, translation and each upstream attempt, exported over OTLP/HTTP. Attributes follow
 * the GenAI semantic conventions plus spillway's own; prompt and answer text only with
 * `capture_content`. The request path holds a RequestSpans and never sees the SDK.
 */
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type TextMapGetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import type { IncomingHttpHeaders } from 'node:http';
import type { TelemetryConfig } from '../config/schema.js';
import type { RequestRecord } from './observer.js';

/** `gen_ai.system` given as a provider protocol, in the semantic conventions' well-known values. */
function withSystem(attributes: Attributes): Attributes {
  return attributes['gen_ai.system'] === 'gemini' ? { ...attributes, 'gen_ai.system': 'gcp.gemini' } : attributes;
}

const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** One child span in flight (an upstream attempt). */
export interface ChildSpan {
  /** `traceparent` (and `tracestate`) naming this span, for the upstream request. */
  headers(): Record<string, string>;
  end(attributes?: Attributes, failed?: string): void;
}

/** The spans of one client request. */
export interface RequestSpans {
  readonly captureContent: boolean;
  /** A finished step (queue wait, cache lookup, translation) as a child span. */
  step(name: string, startMs: number, endMs: number, attributes?: Attributes): void;
  /** A step that runs now (an upstream attempt). */
  start(name: string, attributes: Attributes, startMs?: number): ChildSpan;
  /** Attributes known before the end (the prompt with capture_content). */
  set(attributes: Attributes): void;
  /** The request is over: its record gives the attributes. */
  end(record: RequestRecord): void;
}

export class Tracing {
  private readonly provider: BasicTracerProvider;
  private readonly propagator = new W3CTraceContextPropagator();
  private readonly captureContent: boolean;

  constructor(config: TelemetryConfig & { otlp_endpoint: string }) {
    this.captureContent = config.capture_content;
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': config.service_name }),
      // A sampled-out client trace stays out; a new one is kept at the configured ratio.
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sample_ratio) }),
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(config.otlp_endpoint) }), { scheduledDelayMillis: 1000 })],
    });
  }

  /** The spans of a request that arrived now with these headers. */
  startRequest(headers: IncomingHttpHeaders, name: string): RequestSpans {
    const tracer = this.provider.getTracer('spillway');
    const parent = this.propagator.extract(ROOT_CONTEXT, headers, headerGetter);
    const root = tracer.startSpan(name, { kind: SpanKind.SERVER }, parent);
    const inside: Context = trace.setSpan(parent, root);
    const propagator = this.propagator;
    return {
      captureContent: this.captureContent,
      step(stepName, startMs, endMs, attributes) {
        tracer.startSpan(stepName, { startTime: startMs, ...(attributes ? { attributes } : {}) }, inside).end(endMs);
      },
      start(stepName, attributes, startMs) {
        const span: Span = tracer.startSpan(stepName, { kind: SpanKind.CLIENT, attributes: withSystem(attributes), ...(startMs !== undefined ? { startTime: startMs } : {}) }, inside);
        return {
          headers() {
            const carrier: Record<string, string> = {};
            propagator.inject(trace.setSpan(context.active(), span), carrier, { set: (c, k, v) => (c[k] = v) });
            return carrier;
          },
          end(more, failed) {
            if (more) span.setAttributes(more);
            if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: failed });
            span.end();
          },
        };
      },
      set(attributes) {
        root.setAttributes(withSystem(attributes));
      },
      end(record) {
        root.setAttributes(requestAttributes(record));
        if (record.status >= 500) root.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${record.status}` });
        root.end(record.startedAt + record.durationMs);
      },
    };
  }

  /** Sends what is buffered and stops. */
  async close(): Promise<void> {
    await this.provider.shutdown().catch(() => undefined);
  }
}

/** An endpoint given as the collector's base (`http://collector:4318`) gets the traces path. */
function tracesUrl(endpoint: string): string {
  const trimmed = endpoint.replace(/\/+$/, '');
  return trimmed.endsWith('/v1/traces') ? trimmed : `${trimmed}/v1/traces`;
}

/** The GenAI semantic-convention attributes of a finished request, and spillway's own. */
export function requestAttributes(record: RequestRecord): Attributes {
  const out: Attributes = {
    'gen_ai.operation.name': 'chat',
    'http.response.status_code': record.status,
    'spillway.queue_ms': Math.round(record.queueMs),
    'spillway.attempts': record.attempts,
    'spillway.cache': record.cache,
    'spillway.surface': record.surface,
    'spillway.request_id': record.requestId,
  };
  if (record.provider) out['spillway.provider'] = record.provider;
  if (record.requestedModel) out['gen_ai.request.model'] = record.requestedModel;
  if (record.model) out['gen_ai.response.model'] = record.model;
  if (record.inputTokens !== undefined) out['gen_ai.usage.input_tokens'] = record.inputTokens;
  if (record.outputTokens !== undefined) out['gen_ai.usage.output_tokens'] = record.outputTokens;
  if (record.finishReasons && record.finishReasons.length > 0) out['gen_ai.response.finish_reasons'] = record.finishReasons;
  if (record.clientKeyId) out['spillway.tenant'] = record.clientKeyId;
  if (record.keyId) out['spillway.key_id'] = record.keyId;
  if (record.rejected) out['spillway.rejected'] = record.rejected;
  return out;
}

/** Tracing as configured, or undefined when it is off. */
export function createTracing(config: TelemetryConfig): Tracing | undefined {
  if (!config.otlp_endpoint || config.sample_ratio <= 0) return undefined;
  return new Tracing({ ...config, otlp_endpoint: config.otlp_endpoint });
}
