/**
 * Captured prompts in the Redis every replica shares (`store: redis`), so a replay on any replica
 * resends what every replica captured. Bounded per route by usage.capture's max_prompts and ttl.
 */
import type { CaptureBounds, CapturedPrompt, PromptStore } from '../routing/prompt-capture.js';
import { RedisTimeline } from './redis-timeline.js';
import type { RedisStore } from './redis-store.js';

export class RedisPrompts implements PromptStore {
  private readonly timeline: RedisTimeline<CapturedPrompt>;

  constructor(store: RedisStore, bounds: CaptureBounds, log?: (message: string) => void) {
    this.timeline = new RedisTimeline(store, 'prompts', { cap: bounds.maxPrompts, ttlMs: bounds.ttlMs }, log);
  }

  add(prompt: CapturedPrompt): void {
    this.timeline.add(prompt);
  }

  list(route: string | undefined, since: number, limit: number): Promise<CapturedPrompt[]> {
    return this.timeline.list(route, since, limit);
  }

  close(): Promise<void> {
    return this.timeline.close();
  }
}
