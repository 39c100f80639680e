/**
 * Prompt capture for `spillway replay` (config `usage.capture`, off by default): each answered
 * chat request's body, up to `max_bytes`, with what its answer said, kept for `ttl` and at most
 * `max_prompts` per route, beside the usage log (store/sqlite-prompts.ts) or in the Redis that
 * replicas share (store/redis-prompts.ts). Adding never waits on the store.
 */
import type { ChatSurface } from '../protocol/surface.js';
import type { Said } from './shadow-score.js';

export interface CapturedPrompt {
  route: string;
  /** When the request arrived (epoch ms). */
  at: number;
  requestId: string;
  surface: ChatSurface;
  /** The request body as the pipeline saw it (JSON text). */
  body: string;
  /** What answered it and what it said. */
  answer: { provider: string; model: string; latencyMs: number; costUsd: number | undefined; said: Said };
}

export interface CaptureBounds {
  maxBytes: number;
  ttlMs: number;
  maxPrompts: number;
}

export interface PromptStore {
  /** Buffered: written a moment later, in a batch. */
  add(prompt: CapturedPrompt): void;
  /** A route's prompts (every route's when undefined) since `since`, newest first, none past the TTL. */
  list(route: string | undefined, since: number, limit: number): Promise<CapturedPrompt[]>;
  close(): Promise<void>;
}

/** Whether a body may be kept: within max_bytes. */
export const fitsCapture = (body: string, bounds: CaptureBounds): boolean => Buffer.byteLength(body) <= bounds.maxBytes;
