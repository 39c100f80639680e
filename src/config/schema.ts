import { z } from 'zod';

/** "120s", "1.5m", "250ms", "1h", "7d" or a bare number of milliseconds → milliseconds. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return value >= 0 ? value : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!match) return undefined;
  const unit = match[2] ?? 'ms';
  const scale = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : unit === 'h' ? 3_600_000 : 86_400_000;
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

/**
 * How the provider counts its per-minute limits: a continuously refilled bucket (default), or per
 * window of `length` (sliding: any span of that length; fixed: windows aligned to multiples of it),
 * a per-minute limit N allowing N × length / 60 s per window.
 */
export const windowSchema = z
  .object({
    type: z.enum(['bucket', 'sliding', 'fixed']),
    length: duration
      .refine((ms) => ms > 0, 'the window length must be positive')
      .default(60_000),
  })
  .strict();

export const providerKeySchema = z
  .object({
    id: z.string().min(1).optional(),
    key: z.string().min(1, 'the key is empty (is its ${VAR} set?)'),
    limits: limitsSchema.optional(),
    /** The key's own window; the provider's when absent. */
    window: windowSchema.optional(),
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
    /** How its per-minute limits are counted (see windowSchema); default: a bucket. */
    window: windowSchema.optional(),
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
    /**
     * type openai: whether the provider serves POST /responses itself (native: Responses requests
     * pass through untouched) or only chat completions (chat: they are translated). Default native
     * for OpenAI's own base URL, chat for any other.
     */
    responses: z.enum(['native', 'chat']).optional(),
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

/** Figures of a canary's candidate, compared with its primary's over `window`, that send its share back to 0. */
export const rollbackSchema = z
  .object({
    /** The candidate's error rate may exceed the primary's by at most this much (0.05: five points). */
    error_rate: z.number().min(0).max(1).optional(),
    /** The candidate's p95 latency may be at most this many times the primary's. */
    p95_latency_ratio: z.number().positive().optional(),
    /** The route's shadow agreement rate may not fall below this. */
    shadow_agreement_below: z.number().min(0).max(1).optional(),
    /** Candidate attempts in the window before any figure counts. */
    min_requests: z.number().int().positive().default(50),
    window: duration.default(300_000),
  })
  .strict();

/** Part of a route's traffic sent to a candidate target instead, stepped up by promotion. */
export const canarySchema = z
  .object({
    target: targetSchema,
    /** The share at start; promote, demote and set change it at run time (shared across replicas). */
    share: z.number().min(0).max(1).default(0),
    steps: z.array(z.number().min(0).max(1)).min(1).default([0.1, 0.3, 0.7, 1]),
    /** What keeps one side: each tenant (client key), each user (metadata.user_id, user, x-spillway-user) or each request. */
    by: z.enum(['tenant', 'user', 'request']).default('user'),
    rollback_when: rollbackSchema.optional(),
  })
  .strict();

/** A share of a route's successful requests sent again to a candidate after the client has its answer, and the two answers compared. */
export const shadowSchema = z
  .object({
    target: targetSchema,
    share: z.number().min(0).max(1).default(0.1),
    /** A model that grades each pair's equivalence (a JSON verdict), asked at batch priority. */
    judge: z.object({ provider: z.string().min(1), model: z.string().min(1) }).strict().optional(),
  })
  .strict();

/** A named switch that, while on, sends a route's traffic (every route for "*") to one target only. */
export const flagSchema = z
  .object({
    route: z.string().min(1).default('*'),
    force: targetSchema,
    /** The state at start when no one has flipped it (flips are shared across replicas). */
    on: z.boolean().default(false),
  })
  .strict();

/**
 * Prompt merging for batch work: up to `max` small independent requests at batch priority (and
 * Message Batches) with the same model, system prompt and parameters share one upstream call.
 */
export const mergeSchema = z
  .object({
    max: z.number().int().min(2).max(50).default(5),
    /** Requests estimated at this many input tokens or more are sent alone. */
    max_input_tokens: z.number().int().positive().default(400),
    /** How long an interactive-path batch-priority request waits for others to merge with (never past its deadline). */
    window: duration.default(20),
  })
  .strict();

export const routeSchema = z
  .object({
    strategy: z.enum(['spill', 'weighted']).default('spill'),
    targets: z.array(targetSchema).min(1),
    fallback: z.array(targetSchema).default([]),
    /** Step the first target's model down as its provider's quota drains; highest min_remaining first. */
    tiers: z.array(tierSchema).default([]),
    /** Evaluated in order before the targets; the first match sends the request to its target. */
    rules: z.array(ruleSchema).default([]),
    canary: canarySchema.optional(),
    shadow: shadowSchema.optional(),
    merge: mergeSchema.optional(),
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
    /** A Redis command slower than this counts as Redis being down (the replica serves on its share). */
    command_timeout: duration.optional(),
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
        /** Key fenced code blocks (JavaScript, Python) by their syntax tree: formatting and comments do not split entries (cache/code-normalizer.ts). */
        normalize_code: z.boolean().default(false),
      })
      .strict()
      .default({ enabled: true, ttl: 6 * 3_600_000, max_bytes: 64 * 1024 * 1024, cache_nonzero_temperature: false, max_entry_bytes: DEFAULT_MAX_ENTRY_BYTES, normalize_code: false }),
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
/** A team sharing the pool: its client keys, its share of a saturated pool, its own ceiling and budget (src/tenants/). */
export const tenantSchema = z
  .object({
    keys: z.array(z.string().min(1, 'the key is empty (is its ${VAR} set?)')).default([]),
    /** Its share of admissions while the pool is saturated, against other tenants' weights. */
    weight: positive.default(1),
    /** The priority of its requests without x-spillway-priority. */
    priority: z.enum(['interactive', 'batch']).default('interactive'),
    /** Its own ceiling, whatever room the pool has. */
    limits: limitsSchema.optional(),
    budget: z
      .object({ daily_usd: positive.optional(), monthly_usd: positive.optional(), time_zone: z.string().default('UTC') })
      .strict()
      .optional(),
    /** Model names (globs with `*`) it may ask for; all routes when absent. */
    models: z.array(z.string().min(1)).optional(),
    /** The longest wait its requests may ask for (x-spillway-max-wait), below queue.max_wait_cap. */
    max_wait: duration.optional(),
  })
  .strict();

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
    flags: z.record(z.string(), flagSchema).default({}),
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
    usage: z
      .object({
        enabled: z.boolean().default(true),
        /**
         * Prompt capture for `spillway replay`: off by default. When on, each answered chat
         * request's body (up to max_bytes; larger ones are not kept) and what its answer said are
         * kept beside the usage log (SQLite in data_dir, or Redis with `store: redis`) for `ttl`,
         * at most max_prompts per route.
         */
        capture: z
          .object({
            prompts: z.boolean().default(false),
            max_bytes: z.number().int().positive().default(65_536),
            ttl: duration.default(7 * 86_400_000),
            max_prompts: z.number().int().positive().default(10_000),
          })
          .strict()
          .default({ prompts: false, max_bytes: 65_536, ttl: 7 * 86_400_000, max_prompts: 10_000 }),
      })
      .strict()
      .default({ enabled: true, capture: { prompts: false, max_bytes: 65_536, ttl: 7 * 86_400_000, max_prompts: 10_000 } }),
    /**
     * The day ahead (src/forecast/): each pool's demand forecast once a minute, daily caps (rpd,
     * tenants' daily budgets) projected to their reset at midnight in `time_zone`, batch paced and
     * tiers stepped down earlier when a cap would run out before it.
     */
    forecast: z
      .object({
        enabled: z.boolean().default(true),
        time_zone: z
          .string()
          .refine((zone) => {
            try {
              new Intl.DateTimeFormat('en-US', { timeZone: zone });
              return true;
            } catch {
              return false;
            }
          }, 'expected an IANA time zone such as "UTC" or "America/Los_Angeles"')
          .default('UTC'),
        interval: duration.default(60_000),
      })
      .strict()
      .default({ enabled: true, time_zone: 'UTC', interval: 60_000 }),
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
    /** Responses kept for `previous_response_id` and GET /v1/responses/{id} (those sent with store: false are not). */
    responses: z
      .object({
        /** durable: <data_dir>/responses.sqlite, or Redis with store: redis; memory: lost on restart. */
        keep: z.enum(['durable', 'memory']).default('durable'),
        ttl: duration.default(30 * 24 * 3600_000),
      })
      .strict()
      .default({ keep: 'durable', ttl: 30 * 24 * 3600_000 }),
    /** Overrides of the built-in price table, by model name. */
    prices: z.record(z.string(), priceSchema).default({}),
    /** Teams sharing the pool, by name (src/tenants/); each key of server.auth.keys is a tenant of its own. */
    tenants: z.record(z.string(), tenantSchema).default({}),
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
    const owners = new Map<string, string>(config.server.auth.keys.map((key) => [key, 'server.auth.keys']));
    for (const [name, tenant] of Object.entries(config.tenants)) {
      tenant.keys.forEach((key, i) => {
        const other = owners.get(key);
        if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['tenants', name, 'keys', i], message: `this key is also one of ${other}: a key belongs to one tenant` });
        owners.set(key, `tenants.${name}.keys`);
      });
    }
    // Admin access falls back to server.auth.keys; with neither it would be open to every tenant.
    if (Object.keys(config.tenants).length > 0 && config.admin.keys.length === 0 && config.server.auth.keys.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['admin', 'keys'], message: 'tenants need admin.keys: the dashboard, /metrics and the admin API would otherwise be open to every tenant' });
    }
    for (const [name, route] of Object.entries(config.routes)) {
      const lists: Array<[Array<string | number>, Array<{ provider?: string }>]> = [
        [['targets'], route.targets],
        [['fallback'], route.fallback],
        [['tiers'], route.tiers],
        ...route.rules.map((rule, i): [Array<string | number>, Array<{ provider?: string }>] => [['rules', i, 'target'], [rule.target]]),
        ...(route.canary ? [[['canary', 'target'], [route.canary.target]] as [Array<string | number>, Array<{ provider?: string }>]] : []),
        ...(route.shadow ? [[['shadow', 'target'], [route.shadow.target]] as [Array<string | number>, Array<{ provider?: string }>]] : []),
        ...(route.shadow?.judge ? [[['shadow', 'judge'], [route.shadow.judge]] as [Array<string | number>, Array<{ provider?: string }>]] : []),
      ];
      for (const [list, targets] of lists) {
        targets.forEach((target, i) => {
          if (target.provider !== undefined && !(target.provider in config.providers)) {
            ctx.addIssue({
              code: 'custom',
              path: ['routes', name, ...list, ...(list[0] === 'rules' || list[0] === 'canary' || list[0] === 'shadow' ? [] : [i]), 'provider'],
              message: `unknown provider "${target.provider}" (known: ${Object.keys(config.providers).join(', ')})`,
            });
          }
        });
      }
    }
    for (const [name, flag] of Object.entries(config.flags)) {
      if (!(flag.force.provider in config.providers)) {
        ctx.addIssue({ code: 'custom', path: ['flags', name, 'force', 'provider'], message: `unknown provider "${flag.force.provider}" (known: ${Object.keys(config.providers).join(', ')})` });
      }
      if (flag.route !== '*' && !(flag.route in config.routes)) {
        ctx.addIssue({ code: 'custom', path: ['flags', name, 'route'], message: `unknown route "${flag.route}" ("*" for every route)` });
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
export type WindowConfig = z.output<typeof windowSchema>;
export type ProviderConfig = z.output<typeof providerSchema>;
export type ProviderType = (typeof providerTypes)[number];
export type RouteConfig = z.output<typeof routeSchema>;
export type TargetConfig = z.output<typeof targetSchema>;
export type TierConfig = z.output<typeof tierSchema>;
export type RuleConfig = z.output<typeof ruleSchema>;
export type RuleWhen = z.output<typeof ruleWhenSchema>;
export type CanaryConfig = z.output<typeof canarySchema>;
export type ShadowConfig = z.output<typeof shadowSchema>;
export type FlagConfig = z.output<typeof flagSchema>;
export type RollbackConfig = z.output<typeof rollbackSchema>;
export type TenantConfig = z.output<typeof tenantSchema>;
