/**
 * Kept responses in the Redis every replica shares (`store: redis`), so a follow-up naming a
 * `previous_response_id` finds it whichever replica answers. One JSON string per response, with
 * its TTL; Redis evicts them itself.
 */
import type { KeptResponse, ResponseKeeper } from '../surfaces/openai-responses/kept.js';
import type { RedisStore } from './redis-store.js';

export class RedisResponseKeeper implements ResponseKeeper {
  constructor(
    private readonly store: RedisStore,
    private readonly ttlMs: number,
  ) {
    store.retain();
  }

  private key(id: string): string {
    return this.store.key('response', id);
  }

  async get(id: string, owner: string): Promise<KeptResponse | undefined> {
    const text = await this.store.client.get(this.key(id));
    if (text === null) return undefined;
    const kept = JSON.parse(text) as KeptResponse;
    return kept.owner === owner ? kept : undefined;
  }

  async put(kept: KeptResponse): Promise<void> {
    await this.store.client.set(this.key(kept.response.id), JSON.stringify(kept), 'PX', this.ttlMs);
  }

  async delete(id: string, owner: string): Promise<boolean> {
    if (!(await this.get(id, owner))) return false;
    return (await this.store.client.del(this.key(id))) > 0;
  }

  async close(): Promise<void> {
    await this.store.release();
  }
}
