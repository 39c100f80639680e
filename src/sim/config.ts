/** YAML configuration for `spillway sim --config FILE`: SimOptions in snake_case, plus `port`. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../config/load.js';
import type { SimOptions } from './options.js';

const probability = z.number().min(0).max(1);
const positive = z.number().positive();
const perDimension = { rpm: positive.optional(), rpd: positive.optional(), itpm: positive.optional(), otpm: positive.optional(), tpm: positive.optional() };

const schema = z
  .object({
    port: z.number().int().min(0).max(65535).optional(),
    keys: z
      .array(
        z
          .object({
            id: z.string().min(1),
            key: z.string().min(1),
            limits: z
              .object(perDimension)
              .strict()
              .default({}),
          })
          .strict(),
      )
      .default([]),
    window: z.enum(['minute', 'second']).optional(),
    bucket: z.object({ fraction: z.number().positive().max(1).optional(), capacity: z.object(perDimension).strict().optional() }).strict().optional(),
    rate_window: z.object({ type: z.enum(['sliding', 'fixed']), length_ms: positive }).strict().optional(),
    otpm: z.enum(['generated', 'max_tokens']).optional(),
    latency: z.object({ ttft_ms: z.number().min(0).optional(), tokens_per_second: positive.optional() }).strict().optional(),
    output_tokens: z.number().int().positive().optional(),
    /** How merged calls are answered: follow (default), drop (an item left out), garble (invalid JSON). */
    merge_answers: z.enum(['follow', 'drop', 'garble']).optional(),
    faults: z
      .object({
        overloaded: probability.optional(),
        server_error: probability.optional(),
        reset: probability.optional(),
        stall: probability.optional(),
        stall_after_headers: probability.optional(),
        mid_stream_error: probability.optional(),
        opening_error: probability.optional(),
        cut_body: probability.optional(),
        revoked_keys: z.array(z.string()).optional(),
        forbidden_models: z.record(z.string(), z.array(z.string())).optional(),
      })
      .strict()
      .optional(),
    seed: z.number().int().optional(),
  })
  .strict();

/** Drop undefined fields so the result satisfies exactOptionalPropertyTypes-style consumers. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function loadSimConfig(path: string): { options: SimOptions; port?: number } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${path}: cannot read the simulator config (${(err as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${path}: invalid YAML: ${(err as Error).message}`);
  }
  const result = schema.safeParse(raw ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new ConfigError(`${path}: invalid simulator config: ${problems.join('; ')}`);
  }
  const c = result.data;
  const ids = new Set<string>();
  for (const [i, k] of c.keys.entries()) {
    if (ids.has(k.id)) throw new ConfigError(`${path}: invalid simulator config: keys.${i}.id: duplicate id "${k.id}"`);
    ids.add(k.id);
  }
  const options: SimOptions = defined({
    keys: c.keys.map((k) => ({ id: k.id, key: k.key, limits: defined(k.limits) })),
    window: c.window,
    bucket: c.bucket && defined({ fraction: c.bucket.fraction, capacity: c.bucket.capacity && defined(c.bucket.capacity) }),
    rateWindow: c.rate_window && { type: c.rate_window.type, lengthMs: c.rate_window.length_ms },
    otpm: c.otpm,
    latency: c.latency && defined({ ttftMs: c.latency.ttft_ms, tokensPerSecond: c.latency.tokens_per_second }),
    outputTokens: c.output_tokens,
    mergeAnswers: c.merge_answers,
    faults:
      c.faults &&
      defined({
        overloaded: c.faults.overloaded,
        serverError: c.faults.server_error,
        reset: c.faults.reset,
        stall: c.faults.stall,
        stallAfterHeaders: c.faults.stall_after_headers,
        midStreamError: c.faults.mid_stream_error,
        openingError: c.faults.opening_error,
        cutBody: c.faults.cut_body,
        revokedKeys: c.faults.revoked_keys,
        forbiddenModels: c.faults.forbidden_models,
      }),
    seed: c.seed,
  });
  return c.port === undefined ? { options } : { options, port: c.port };
}
