import type { ProviderConfig, ProviderType } from '../config/schema.js';
import type { Protocol, Surface } from '../protocol/surface.js';
import type { ObservedLimits } from '../quota/types.js';
import type { ProviderCodec } from './codec.js';

export type Headers = Record<string, string | string[] | undefined>;

/**
 * A provider type as a small declarative object: where to send a chat request, how to
 * authenticate with a key, which client headers it understands, how to read its limits, and how
 * its protocol translates to and from the pivot. Each type has a folder: src/providers/<type>/.
 */
export interface ProviderAdapter {
  type: ProviderType;
  protocol: Protocol;
  defaultBaseUrl: string;
  /** Path of the chat endpoint, appended to the base URL. */
  chatPath(model: string, stream: boolean): string;
  /** Path of the model list, or undefined when the provider has none worth proxying. */
  modelsPath?: string;
  authHeaders(key: string): Record<string, string>;
  /** Client request headers forwarded on same-protocol passthrough (lower case). */
  forwardsHeader(name: string): boolean;
  parseLimits(headers: Headers, now: number): ObservedLimits;
  /**
   * A stream's first event comes at once, before any generation (Anthropic's message_start): its
   * first-byte limit then runs to that event. Otherwise the first chunk may wait for a reasoning
   * model's thinking, and the limit runs to the response headers only.
   */
  streamStartsAtOnce: boolean;
  /**
   * The cheap authenticated call that tells whether the provider accepts a key again (a model
   * list): path appended to the base URL, and any headers it needs besides the key's.
   */
  probe: { path: string; headers?: Record<string, string> };
  /** What an error body says about waiting, for providers that put it there instead of in headers (Gemini). */
  parseErrorBody?(status: number, body: string, now: number): ObservedLimits;
  /** Translation to and from the pivot, for clients of another surface. */
  codec: ProviderCodec;
  /**
   * Where this provider serves a client surface natively (OpenAI's /responses, Gemini's own
   * generateContent), appended to the base URL; undefined when it does not, and requests of that
   * surface reach it through the pivot. `call` names the upstream model and whether the answer
   * streams, for providers that put them in the path.
   */
  nativePath?(surface: Surface, config: ProviderConfig, call?: { model: string; stream: boolean }): string | undefined;
}
