/**
 * A tenant's settings changed at runtime (PATCH /admin/tenants/{name}, `spillway tenants set`):
 * limits, budget, weight, priority and longest wait laid over what config says, kept in the
 * shared store so every replica applies them, and surviving restarts until reset. Plain data and
 * pure functions: the patch a request asks for, the override it leaves, the tenant it makes.
 */
import { z } from 'zod';
import { parseDuration, type Limits } from '../config/schema.js';
import type { Priority } from '../quota/types.js';
import type { Tenant } from './tenant.js';

const LIMIT_NAMES = ['rpm', 'rpd', 'itpm', 'otpm', 'tpm', 'concurrency'] as const;
type LimitName = (typeof LIMIT_NAMES)[number];

/** What is kept per tenant: only the fields changed; the rest follows config. */
export interface TenantOverride {
  limits?: Partial<Record<LimitName, number>>;
  budget?: { daily_usd?: number; monthly_usd?: number };
  weight?: number;
  priority?: Priority;
  /** ms */
  max_wait?: number;
}

/** `null` drops a field's override (back to config); absent leaves it as it is. */
const positive = z.number().positive();
const maxWait = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like "120s", "500ms" or "2m", got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return ms;
});
export const tenantPatchSchema = z
  .object({
    limits: z
      .object(Object.fromEntries(LIMIT_NAMES.map((name) => [name, (name === 'concurrency' ? z.number().int().positive() : positive).nullable().optional()])) as Record<LimitName, z.ZodOptional<z.ZodNullable<z.ZodNumber>>>)
      .strict()
      .nullable()
      .optional(),
    budget: z.object({ daily_usd: positive.nullable().optional(), monthly_usd: positive.nullable().optional() }).strict().nullable().optional(),
    weight: positive.nullable().optional(),
    priority: z.enum(['interactive', 'batch']).nullable().optional(),
    max_wait: maxWait.nullable().optional(),
  })
  .strict();

export type TenantPatch = z.output<typeof tenantPatchSchema>;

function mergeLeaves<K extends string>(kept: Partial<Record<K, number>> | undefined, patch: Partial<Record<K, number | null | undefined>> | null | undefined): Partial<Record<K, number>> | undefined {
  if (patch === undefined) return kept;
  if (patch === null) return undefined;
  const out: Partial<Record<K, number>> = { ...kept };
  for (const [name, value] of Object.entries(patch) as Array<[K, number | null | undefined]>) {
    if (value === null) delete out[name];
    else if (value !== undefined) out[name] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The override after a patch: a JSON merge patch, field by field (limits and budget leaf by leaf). */
export function patchOverride(kept: TenantOverride, patch: TenantPatch): TenantOverride {
  const out: TenantOverride = {};
  const limits = mergeLeaves(kept.limits, patch.limits);
  if (limits) out.limits = limits;
  const budget = mergeLeaves(kept.budget, patch.budget);
  if (budget) out.budget = budget;
  const scalar = <K extends 'weight' | 'priority' | 'max_wait'>(name: K) => {
    const value = patch[name] === undefined ? kept[name] : (patch[name] ?? undefined);
    if (value !== undefined) out[name] = value as TenantOverride[K];
  };
  scalar('weight');
  scalar('priority');
  scalar('max_wait');
  return out;
}

/** The tenant as config makes it, with the override laid over it. */
export function withOverride(base: Tenant, override: TenantOverride | undefined): Tenant {
  if (!override) return base;
  const limits: Limits | undefined = override.limits ? { ...base.limits, ...override.limits } : base.limits;
  const daily = override.budget?.daily_usd ?? base.budget?.dailyUsd;
  const monthly = override.budget?.monthly_usd ?? base.budget?.monthlyUsd;
  return {
    ...base,
    weight: override.weight ?? base.weight,
    priority: override.priority ?? base.priority,
    maxWaitMs: override.max_wait ?? base.maxWaitMs,
    limits,
    budget: daily === undefined && monthly === undefined ? undefined : { dailyUsd: daily, monthlyUsd: monthly, timeZone: base.budget?.timeZone ?? 'UTC' },
  };
}

/** A stored override read back: whatever does not parse is left out rather than trusted. */
export function parseOverride(text: string): TenantOverride | undefined {
  try {
    const parsed = tenantPatchSchema.safeParse(JSON.parse(text));
    return parsed.success ? patchOverride({}, parsed.data) : undefined;
  } catch {
    return undefined;
  }
}

/** Where overrides are kept: SQLite in the data directory, or Redis for replicas that share it. */
export interface TenantOverrideStore {
  readAll(): Promise<Map<string, TenantOverride>>;
  read(tenant: string): Promise<TenantOverride>;
  /** An empty override deletes the entry. */
  write(tenant: string, override: TenantOverride): Promise<void>;
  close(): Promise<void>;
}
