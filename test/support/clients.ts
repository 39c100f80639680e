/**
 * The client packages the integration tests drive: the repo's own (package.json, newest releases
 * with `^`), or, when SPILLWAY_CLIENTS_DIR names a folder with its own node_modules (as
 * `npm run test:clients-latest` makes), the ones installed there. ESM ignores NODE_PATH, so the
 * packages are imported through a module that lives in that folder.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const clientsDir = process.env.SPILLWAY_CLIENTS_DIR ? path.resolve(process.env.SPILLWAY_CLIENTS_DIR) : undefined;
const packagesRoot = clientsDir ?? repoRoot;

/** Where the client packages come from, for test names and logs. */
export const clientSource = clientsDir ? `clients from ${clientsDir}` : 'clients from package.json';

/** Imports a client package as a module of the clients folder would. */
async function importClient<T>(name: string): Promise<T> {
  if (!clientsDir) return (await import(name)) as T;
  const loader = path.join(clientsDir, 'load-client.mjs');
  if (!existsSync(loader)) writeFileSync(loader, 'export const load = (name) => import(name);\n');
  const { load } = (await import(pathToFileURL(loader).href)) as { load(name: string): Promise<T> };
  return load(name);
}

export const loadAnthropic = async (): Promise<typeof import('@anthropic-ai/sdk').default> =>
  (await importClient<typeof import('@anthropic-ai/sdk')>('@anthropic-ai/sdk')).default;
export const loadOpenAI = async (): Promise<typeof import('openai').default> => (await importClient<typeof import('openai')>('openai')).default;
export const loadAI = (): Promise<typeof import('ai')> => importClient<typeof import('ai')>('ai');
export const loadAISDKAnthropic = (): Promise<typeof import('@ai-sdk/anthropic')> => importClient<typeof import('@ai-sdk/anthropic')>('@ai-sdk/anthropic');
export const loadGenAI = (): Promise<typeof import('@google/genai')> => importClient<typeof import('@google/genai')>('@google/genai');
export const loadAISDKOpenAI = (): Promise<typeof import('@ai-sdk/openai')> => importClient<typeof import('@ai-sdk/openai')>('@ai-sdk/openai');

export const loadAgents = (): Promise<typeof import('@openai/agents')> => importClient<typeof import('@openai/agents')>('@openai/agents');

/** The Codex CLI (its native binary ships in the registry package; this is its launcher). */
export const codexBin = path.join(packagesRoot, 'node_modules', '.bin', 'codex');

/** The Claude Code binary (a native executable inside the registry package). */
export const claudeBin = path.join(packagesRoot, 'node_modules', '.bin', 'claude');

/** The installed version of a client package. */
export function clientVersion(name: string): string {
  const file = path.join(packagesRoot, 'node_modules', name, 'package.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version : 'not installed';
}
