import { z } from 'zod';

/** "120s", "1.5m", "250ms", "1h" or a bare number of milliseconds → milliseconds. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return value >= 0 ? value : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!match) return undefined;
  const unit = match[2] ?? 'ms';
  const scale = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Number(match[1]) * scale;
}

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like "120s", "500ms" or "2m", got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return ms;
});

const positive = z.number().positive();

export const limitsSchema = z
  .object({
    rpm: positive.optional(),
    rpd: positive.optional(),
    itpm: positive.optional(),
    otpm: positive.optional(),
    tpm: positive.optional(),
    concurrency: z.number().int().positive().optional(),
  })
  .strict();

export const providerKeySchema = z
  .object({
    id: z.string().min(1).optional(),
    key: z.string().min(1, 'the key is empty (is its ${VAR} set?)'),
    limits: limitsSchema.optional(),
  })
  .strict();

export const providerTypes = ['anthropic', 'openai', 'gemini', 'ollama'] as const;

export const providerSchema = z
  .object({
    type: z.enum(providerTypes),
    base_url: z.string().url().optional(),
    keys: z.array(providerKeySchema).optional(),
    /** Limits for a provider without keys (a local model) and the default for keys without their own. */
    limits: limitsSchema.optional(),
    /** Per attempt: until the response headers, and between body chunks (default 600s). */
    timeout: duration.optional(),
    /**
     * Per attempt: until the answer's first byte (a stream's first event where the provider sends
     * one at once, else its headers); a stall past it is retried on another key or provider while
     * the client has seen nothing (default 60s). A non-streamed answer comes whole, so its limit
     * grows by max_tokens at a floor of 10 tokens/s.
     */
    first_byte_timeout: duration.optional(),
    /** Upstream connections at once to this provider from one gateway; requests beyond wait in the admission queue (default 512). */
    connections: z.number().int().positive().optional(),
    headers: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export const targetSchema = z
  .object({
    provider: z.string().min(1),
    /** The upstream model name; the client's model name when absent. */
    model: z.string().min(1).optional(),
    weight: z.number().nonnegative().optional(),
  })
  .strict();

/** A step of quota tiering: use `model` while at least `min_remaining` (0..1) of the quota is left. */
export const tierSchema = z
  .object({
    model: z.string().min(1),
    /** The provider for this tier; the route's first target's when absent. */
    provider: z.string().min(1).optional(),
    min_remaining: z.number().min(0).max(1).default(0),
  })
  .strict();

/** Conditions of a rule; all stated ones must hold. */
export const ruleWhenSchema = z
  .object({
    min_input_tokens: z.number().int().nonnegative().optional(),
    max_input_tokens: z.number().int().nonnegative().optional(),
    has_tools: z.boolean().optional(),
    has_thinking: z.boolean().optional(),
    /** Header name → exact value, e.g. { x-spillway-tier: simple }. */
    header: z.record(z.string(), z.string()).optional(),
    /** Claude Code's small background requests (see routing/features.ts for the definition). */
    claude_code_background: z.boolean().optional(),
  })
  .strict();

export const ruleSchema = z.object({ when: ruleWhenSchema, target: targetSchema }).strict();

export const routeSchema = z
  .object({
    strategy: z.enum(['spill', 'weighted']).default('spill'),
    targets: z.array(targetSchema).min(1),
    fallback: z.array(targetSchema).default([]),
    /** Step the first target's model down as its provider's quota drains; highest min_remaining first. */
    tiers: z.array(tierSchema).default([]),
    /** Evaluated in order before the targets; the first match sends the request to its target. */
    rules: z.array(ruleSchema).default([]),
  })
  .strict();

export const storeSchema = z
  .object({
    type: z.enum(['memory', 'redis', 'redis-cluster']).default('memory'),
    url: z.string().default('redis://127.0.0.1:6379'),
    /** redis-cluster: seed nodes (`redis://host:port`); the others are discovered from them. */
    nodes: z.array(z.string().url()).min(1).optional(),
    /** Key prefix in Redis, so several gateways can share one server. */
    prefix: z.string().default('spillway:'),
    /** How many replicas share the limits; used to split them when Redis is unreachable. */
    replicas: z.number().int().positive().optional(),
  })
  .strict()
  .refine((store) => store.type !== 'redis-cluster' || store.nodes !== undefined, {
    message: 'store.type redis-cluster needs store.nodes: the cluster\'s seed nodes, e.g. ["redis://10.0.0.1:7000"]',
    path: ['nodes'],
  });

/** OpenTelemetry traces (OTLP over HTTP); off unless otlp_endpoint is set. */
export const telemetrySchema = z
  .object({
    /** The collector, e.g. http://otel-collector:4318 (the /v1/traces path is added when missing). */
    otlp_endpoint: z.string().url().optional(),
    /** Share of new traces kept; a client's traceparent decides for the traces it continues. */
    sample_ratio: z.number().min(0).max(1).default(1),
    service_name: z.string().min(1).default('spillway'),
    /** Put prompt text in spans (gen_ai.input.messages). Off: spans carry no prompt or answer text. */
    capture_content: z.boolean().default(false),
  })
  .strict();

export type TelemetryConfig = z.infer<typeof telemetrySchema>;

/** 1 MiB: a long answer of a few hundred thousand characters, streamed. */
const DEFAULT_MAX_ENTRY_BYTES = 1024 * 1024;

export const cacheSchema = z
  .object({
    /**
     * Who shares cached answers, remembered failures and requests in flight: each client key keeps
     * its own (`client`, the default: no client is answered with, or can probe, another's prompts),
     * or every client shares them (`shared`, for a gateway whose clients are one team).
     */
    scope: z.enum(['client', 'shared']).default('client'),
    exact: z
      .object({
        enabled: z.boolean().default(true),
        ttl: duration.default(6 * 3_600_000),
        max_bytes: z.number().int().positive().default(64 * 1024 * 1024),
        /** Answers to temperature > 0 requests vary by design; caching them is a choice. */
        cache_nonzero_temperature: z.boolean().default(false),
        /** An answer larger than this on the wire is streamed through without being recorded for the cache. */
        max_entry_bytes: z.number().int().positive().default(DEFAULT_MAX_ENTRY_BYTES),
      })
      .strict()
      .default({ enabled: true, ttl: 6 * 3_600_000, max_bytes: 64 * 1024 * 1024, cache_nonzero_temperature: false, max_entry_bytes: DEFAULT_MAX_ENTRY_BYTES }),
    semantic: z
      .object({
        enabled: z.boolean().default(true),
        threshold: z.number().min(0).max(1).default(0.96),
        multi_turn: z.boolean().default(false),
        embedder: z
          .discriminatedUnion('type', [
            z.object({ type: z.literal('builtin') }).strict(),
            z.object({ type: z.literal('openai'), base_url: z.string().url(), key: z.string().optional(), model: z.string().min(1) }).strict(),
          ])
          .default({ type: 'builtin' }),
      })
      .strict()
      .default({ enabled: true, threshold: 0.96, multi_turn: false, embedder: { type: 'builtin' } }),
    negative: z
      .object({ enabled: z.boolean().default(true), ttl: duration.default(600_000) })
      .strict()
      .default({ enabled: true, ttl: 600_000 }),
  })
  .strict();

export const alertsSchema = z
  .object({
    webhooks: z
      .array(
        z
          .object({
            url: z.string().url(),
            format: z.enum(['slack', 'json']).default('json'),
            /** Signs each POST: x-spillway-signature (see src/observe/webhook.ts). */
            secret: z.string().min(1).optional(),
          })
          .strict(),
      )
      .default([]),
    rpm_utilisation: z.number().min(0).max(1).default(0.8),
    daily_utilisation: z.number().min(0).max(1).default(0.9),
    upstream_429_per_minute: z.number().nonnegative().default(3),
    queue_depth: z.number().int().positive().default(1000),
    fallback_rate: z.number().min(0).max(1).default(0.2),
    /** How often conditions are evaluated. */
    interval: duration.default(10_000),
  })
  .strict();

/**
 * 10 minutes: the official SDKs' own timeout; a request held longer in the queue has been given
 * up on by its client, and only holds memory and a socket.
 */
const DEFAULT_MAX_WAIT_CAP_MS = 600_000;

/** USD per million tokens. */
export const priceSchema = z.object({ input: z.number().nonnegative(), output: z.number().nonnegative() }).strict();

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(4000),
        auth: z.object({ keys: z.array(z.string().min(1)).default([]) }).strict().default({ keys: [] }),
        max_body_bytes: z.number().int().positive().default(32 * 1024 * 1024),
        /**
         * Clients that stall are cut off (408): the request line and headers must arrive within
         * `headers`, the whole request, body included, within `body`. Answers may take as long as they take.
         */
        timeouts: z
          .object({ headers: duration.default(30_000), body: duration.default(120_000) })
          .strict()
          .refine((t) => t.headers > 0 && t.body >= t.headers, 'headers must be above 0 and body at least as long as headers')
          .default({ headers: 30_000, body: 120_000 }),
        /** Connections one client address may hold open at once; more are refused at once. 0: no cap. */
        max_connections_per_client: z.number().int().nonnegative().default(1000),
      })
      .strict()
      .default({
        host: '127.0.0.1',
        port: 4000,
        auth: { keys: [] },
        max_body_bytes: 32 * 1024 * 1024,
        timeouts: { headers: 30_000, body: 120_000 },
        max_connections_per_client: 1000,
      }),
    providers: z.record(z.string(), providerSchema).refine((p) => Object.keys(p).length > 0, 'at least one provider is needed'),
    routes: z.record(z.string(), routeSchema).default({}),
    queue: z
      .object({
        max_wait: duration.default(120_000),
        max_depth: z.number().int().positive().default(10_000),
        /** The longest wait a client may ask for (x-spillway-max-wait); longer asks are cut to it. */
        max_wait_cap: duration.default(DEFAULT_MAX_WAIT_CAP_MS),
      })
      .strict()
      .default({ max_wait: 120_000, max_depth: 10_000, max_wait_cap: DEFAULT_MAX_WAIT_CAP_MS }),
    store: storeSchema.default({ type: 'memory', url: 'redis://127.0.0.1:6379', prefix: 'spillway:' }),
    /** Durable data (usage log, batch jobs) lives here, in SQLite. */
    data_dir: z.string().default('./data'),
    cache: cacheSchema.default(cacheSchema.parse({})),
    alerts: alertsSchema.default(alertsSchema.parse({})),
    usage: z.object({ enabled: z.boolean().default(true) }).strict().default({ enabled: true }),
    telemetry: telemetrySchema.default(telemetrySchema.parse({})),
    /** The Message Batches API served by spillway itself; jobs in <data_dir>/batches.sqlite. */
    batches: z
      .object({
        enabled: z.boolean().default(true),
        /** POSTed the batch object when a batch ends (x-spillway-batch-webhook overrides it per batch). */
        webhook: z.string().url().optional(),
        /** Signs each batch webhook POST: x-spillway-signature (see src/observe/webhook.ts). */
        webhook_secret: z.string().min(1).optional(),
        /**
         * Hosts a client may name in x-spillway-batch-webhook (exact host names, or `*.example.com`
         * for subdomains); none by default, so a client cannot make spillway POST to arbitrary URLs.
         */
        webhook_hosts: z.array(z.string().min(1)).default([]),
        /** Batch requests in flight at once; admission paces them to the keys, interactive traffic first. */
        concurrency: z.number().int().positive().default(256),
      })
      .strict()
      .default({ enabled: true, concurrency: 256, webhook_hosts: [] }),
    /** Overrides of the built-in price table, by model name. */
    prices: z.record(z.string(), priceSchema).default({}),
    /** Keys for the dashboard and admin endpoints; server.auth.keys when absent. */
    admin: z.object({ keys: z.array(z.string().min(1)).default([]) }).strict().default({ keys: [] }),
    /** A key the provider refused rests and is probed: at once, then after `first_probe`, doubling up to `max_probe`. */
    key_rest: z
      .object({ first_probe: duration.default(30_000), max_probe: duration.default(600_000) })
      .strict()
      .default({ first_probe: 30_000, max_probe: 600_000 }),
    retry: z
      .object({
        max_attempts: z.number().int().min(1).default(4),
        /** Retries allowed as a share of requests over the last minute, so an outage does not multiply load. */
        budget_ratio: z.number().min(0).max(1).default(0.2),
        /** Retries always allowed per second whatever the ratio: at low traffic a burst of faults still gets its retries. */
        min_per_second: z.number().min(0).default(5),
      })
      .strict()
      .default({ max_attempts: 4, budget_ratio: 0.2, min_per_second: 5 }),
  })
  .strict()
  .superRefine((config, ctx) => {
    for (const [name, route] of Object.entries(config.routes)) {
      const lists: Array<[Array<string | number>, Array<{ provider?: string }>]> = [
        [['targets'], route.targets],
        [['fallback'], route.fallback],
        [['tiers'], route.tiers],
        ...route.rules.map((rule, i): [Array<string | number>, Array<{ provider?: string }>] => [['rules', i, 'target'], [rule.target]]),
      ];
      for (const [list, targets] of lists) {
        targets.forEach((target, i) => {
          if (target.provider !== undefined && !(target.provider in config.providers)) {
            ctx.addIssue({
              code: 'custom',
              path: ['routes', name, ...list, ...(list[0] === 'rules' ? [] : [i]), 'provider'],
              message: `unknown provider "${target.provider}" (known: ${Object.keys(config.providers).join(', ')})`,
            });
          }
        });
      }
    }
    for (const [name, provider] of Object.entries(config.providers)) {
      if (provider.type !== 'ollama' && (!provider.keys || provider.keys.length === 0)) {
        ctx.addIssue({ code: 'custom', path: ['providers', name, 'keys'], message: `a ${provider.type} provider needs at least one key` });
      }
      const ids = new Set<string>();
      provider.keys?.forEach((key, i) => {
        if (key.id && ids.has(key.id)) {
          ctx.addIssue({ code: 'custom', path: ['providers', name, 'keys', i, 'id'], message: `duplicate key id "${key.id}"` });
        }
        if (key.id) ids.add(key.id);
      });
    }
  });

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type Limits = z.output<typeof limitsSchema>;
export type ProviderConfig = z.output<typeof providerSchema>;
export type ProviderType = (typeof providerTypes)[number];
export type RouteConfig = z.output<typeof routeSchema>;
export type TargetConfig = z.output<typeof targetSchema>;
export type TierConfig = z.output<typeof tierSchema>;
export type RuleConfig = z.output<typeof ruleSchema>;
export type RuleWhen = z.output<typeof ruleWhenSchema>;
