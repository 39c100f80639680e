/**
 * Responses spillway produced and keeps (`store` not false), so a follow-up naming one in
 * `previous_response_id` continues its conversation on any provider, and `GET /v1/responses/{id}`
 * finds it. A kept response belongs to the client key that made it: another's id is not found.
 */
import { inputItems } from './request.js';
import type { InputItem, ResponseObject, ResponsesRequest } from './wire.js';

export interface KeptResponse {
  /** Hash of the client credential that made it ('' in open mode). */
  owner: string;
  response: ResponseObject;
  /** The whole conversation up to and including this response's output, as input items. */
  items: InputItem[];
}

export interface ResponseKeeper {
  get(id: string, owner: string, now: number): Promise<KeptResponse | undefined>;
  put(kept: KeptResponse, now: number): Promise<void>;
  /** Whether there was one to delete. */
  delete(id: string, owner: string, now: number): Promise<boolean>;
  close?(): void | Promise<void>;
}

/** The conversation a new response ends: what came before, this request's input, its output. */
export function conversationOf(history: InputItem[], request: ResponsesRequest, response: ResponseObject): InputItem[] {
  return [...history, ...inputItems(request.input), ...(response.output as unknown as InputItem[])];
}

/** The in-process keeper: a map with expiry, swept as it is used. */
export class MemoryResponseKeeper implements ResponseKeeper {
  private readonly entries = new Map<string, { kept: KeptResponse; expiresAt: number }>();
  constructor(private readonly ttlMs: number) {}

  async get(id: string, owner: string, now: number): Promise<KeptResponse | undefined> {
    const entry = this.entries.get(id);
    if (!entry || entry.expiresAt <= now) {
      if (entry) this.entries.delete(id);
      return undefined;
    }
    return entry.kept.owner === owner ? entry.kept : undefined;
  }

  async put(kept: KeptResponse, now: number): Promise<void> {
    this.sweep(now);
    this.entries.set(kept.response.id, { kept, expiresAt: now + this.ttlMs });
  }

  async delete(id: string, owner: string, now: number): Promise<boolean> {
    const kept = await this.get(id, owner, now);
    if (!kept) return false;
    this.entries.delete(id);
    return true;
  }

  private sweep(now: number): void {
    // Map order is insertion order, and every entry lives equally long: the oldest expire first.
    for (const [id, entry] of this.entries) {
      if (entry.expiresAt > now) break;
      this.entries.delete(id);
    }
  }
}
