/**
 * Which providers requests are using. A hot reload replaces a changed provider for the next
 * requests only; the requests already holding the old one finish on it, and its pool (timers, its
 * hold on the Redis connection) is closed when the last of them lets go.
 */
import type { Provider } from './provider.js';

export class ProviderLeases {
  private readonly holders = new Map<Provider, number>();
  private readonly retiring = new Map<Provider, () => void>();

  /** The caller holds these providers until it calls the returned release (once; more calls do nothing). */
  hold(providers: Iterable<Provider>): () => void {
    const held = new Set(providers);
    for (const provider of held) this.holders.set(provider, (this.holders.get(provider) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const provider of held) this.letGo(provider);
    };
  }

  /** Runs `close` once no request holds the provider: now if none does. */
  retire(provider: Provider, close: () => void): void {
    if (this.holders.has(provider)) this.retiring.set(provider, close);
    else close();
  }

  /** How many requests hold the provider now. */
  holding(provider: Provider): number {
    return this.holders.get(provider) ?? 0;
  }

  private letGo(provider: Provider): void {
    const left = (this.holders.get(provider) ?? 1) - 1;
    if (left > 0) {
      this.holders.set(provider, left);
      return;
    }
    this.holders.delete(provider);
    const close = this.retiring.get(provider);
    this.retiring.delete(provider);
    close?.();
  }
}
