/**
 * The body of a batch create (`{"requests": [{custom_id, params}, …]}`, up to 256 MB), parsed as it
 * arrives: each request is checked and kept as JSON text the moment its closing brace is read, so
 * neither the raw body nor its parsed tree is ever held whole, and a bad request is refused before
 * the rest of the upload is waited for.
 */
import { JSONParser } from '@streamparser/json';
import { z } from 'zod';
import type { NewRequest } from '../batch/store.js';
import { GatewayError } from '../pipeline/errors.js';
import { parseChatRequest } from '../pipeline/ingress.js';
import { JsonDepthGauge } from '../pipeline/json-depth.js';

export const MAX_BATCH_REQUESTS = 100_000;

const requestSchema = z.object({
  custom_id: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'expected 1 to 64 letters, digits, "-" or "_"'),
  params: z.record(z.string(), z.unknown()),
});

export class BatchCreateBody {
  private readonly requests: NewRequest[] = [];
  private readonly seen = new Set<string>();
  // keepStack: false drops each request from the parser's tree once handed over.
  private readonly parser = new JSONParser({ paths: ['$.requests.*'], keepStack: false });
  private readonly gauge = new JsonDepthGauge();

  constructor() {
    this.parser.onValue = ({ value, parent }) => this.add(value, Array.isArray(parent));
  }

  write(chunk: Buffer): void {
    this.gauge.write(chunk);
    try {
      this.parser.write(chunk);
    } catch (error) {
      throw asRequestError(error);
    }
  }

  /** The requests, once the whole body has been written. */
  end(): NewRequest[] {
    try {
      // The parser ends by itself after a complete JSON value; ending it again would throw.
      if (!this.parser.isEnded) this.parser.end();
    } catch (error) {
      throw asRequestError(error);
    }
    if (this.requests.length === 0) {
      throw new GatewayError('invalid_request', `requests: expected a list of 1 to ${MAX_BATCH_REQUESTS} requests in a JSON object, got none`);
    }
    return this.requests;
  }

  private add(value: unknown, inList: boolean): void {
    const i = this.requests.length;
    if (!inList) throw new GatewayError('invalid_request', 'requests: expected a list of requests');
    if (i >= MAX_BATCH_REQUESTS) throw new GatewayError('invalid_request', `requests: at most ${MAX_BATCH_REQUESTS} requests fit in one batch`);
    const parsed = requestSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new GatewayError('invalid_request', `${['requests', i, ...issue.path].join('.')}: ${issue.message}`);
    }
    const { custom_id: customId, params } = parsed.data;
    if (this.seen.has(customId)) throw new GatewayError('invalid_request', `requests.${i}.custom_id: "${customId}" is used twice; custom_id must be unique within a batch`);
    this.seen.add(customId);
    if (params.stream === true) throw new GatewayError('invalid_request', `requests.${i}.params.stream: streaming is not supported in batches`);
    const text = JSON.stringify(params);
    try {
      // The same checks an interactive request gets, now rather than hours later.
      parseChatRequest('anthropic', Buffer.from(text));
    } catch (error) {
      if (error instanceof GatewayError) throw new GatewayError('invalid_request', `requests.${i}.params.${error.message}`);
      throw error;
    }
    this.requests.push({ customId, params: text });
  }
}

/** The parser's own errors mean the body is not JSON; ours (thrown from `add`) pass through. */
function asRequestError(error: unknown): unknown {
  if (error instanceof GatewayError) return error;
  return new GatewayError('invalid_request', `The request body is not valid JSON: ${(error as Error).message}`);
}
