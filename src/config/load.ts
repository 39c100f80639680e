import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config, type ConfigInput } from './schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Replace `${VAR}` (and `${VAR:-default}`) in every string of a parsed document. */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, missing: string[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      missing.push(name);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((item) => interpolateEnv(item, env, missing));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, missing)]));
  }
  return value;
}

function formatIssues(source: string, error: z.ZodError, missingVars: string[]): string {
  const lines = error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    return `  - ${path}: ${issue.message}`;
  });
  const hint = missingVars.length > 0 ? `\n  (environment variables not set: ${[...new Set(missingVars)].join(', ')})` : '';
  return `invalid config in ${source}:\n${lines.join('\n')}${hint}`;
}

/** Validate an already-parsed config object; `source` names it in error messages. */
export function parseConfig(input: ConfigInput | unknown, source = 'config', env: NodeJS.ProcessEnv = process.env): Config {
  const missing: string[] = [];
  const interpolated = interpolateEnv(input, env, missing);
  const result = configSchema.safeParse(interpolated);
  if (!result.success) throw new ConfigError(formatIssues(source, result.error, missing));
  return result.data;
}

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(error as Error).message}`);
  }
  return parseConfig(document ?? {}, path, env);
}

/**
 * With no config file: proxy to the real providers whose keys are in the environment, or return
 * undefined (the caller then starts demo mode).
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config | undefined {
  const providers: NonNullable<ConfigInput['providers']> = {};
  if (env.ANTHROPIC_API_KEY) {
    providers.anthropic = {
      type: 'anthropic',
      base_url: env.ANTHROPIC_UPSTREAM_URL ?? 'https://api.anthropic.com',
      keys: [{ id: 'env', key: env.ANTHROPIC_API_KEY }],
    };
  }
  if (env.OPENAI_API_KEY) {
    providers.openai = {
      type: 'openai',
      base_url: env.OPENAI_UPSTREAM_URL ?? 'https://api.openai.com/v1',
      keys: [{ id: 'env', key: env.OPENAI_API_KEY }],
    };
  }
  const names = Object.keys(providers);
  if (names.length === 0) return undefined;
  const routes: NonNullable<ConfigInput['routes']> = {};
  if (providers.anthropic && providers.openai) routes['claude-*'] = { targets: [{ provider: 'anthropic' }] };
  routes['*'] = { targets: [{ provider: providers.openai ? 'openai' : 'anthropic' }] };
  return parseConfig({ providers, routes }, 'environment', {});
}
