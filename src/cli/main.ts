#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, configFromEnv, loadConfigFile } from '../config/load.js';
import { watchConfig } from '../config/reload.js';
import type { Config, ConfigInput } from '../config/schema.js';
import { startGateway } from '../server/gateway.js';
import { loadSimConfig } from '../sim/config.js';
import { startSimulator } from '../sim/index.js';
import { startDemoProviders } from './demo.js';
import { demoTable, runDemo } from './demo-burst.js';
import { GROUPINGS, usageReport } from './usage.js';
import { keysCommand, type KeysAction } from './keys.js';
import { tenantsCommand, type SetOptions, type TenantsAction } from './tenants.js';
import type { UsageGrouping } from '../observe/usage-log.js';
import type { ShadowReport } from '../routing/shadow-report.js';
import { formatReplayReport, formatShadowReport } from './shadow-report.js';
import type { ReplayReport } from '../pipeline/replay.js';
import { callAdmin, canaryPath, DEFAULT_ADMIN_URL, flagPath, type AdminTarget } from './admin-client.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number (0-65535)');
  return n;
}

function fail(error: unknown): never {
  console.error(error instanceof ConfigError ? `spillway: ${error.message}` : error);
  process.exit(1);
}

function usageHint(url: string, apiKey: string, keysFromShell: boolean): string {
  return [
    `  Anthropic SDK / Claude Code:  ANTHROPIC_BASE_URL=${url} ANTHROPIC_API_KEY=${apiKey}`,
    `  OpenAI SDK / Codex:           OPENAI_BASE_URL=${url}/v1 OPENAI_API_KEY=${apiKey}`,
    `  Gemini CLI / @google/genai:   GOOGLE_GEMINI_BASE_URL=${url} GEMINI_API_KEY=${apiKey}`,
    ...(keysFromShell ? [`  (set these for the client only: exported in the shell that starts spillway, the API keys become its provider keys)`] : []),
    `  Dashboard: ${url}/    Metrics: ${url}/metrics`,
    `  Try it:  curl ${url}/v1/messages -H 'content-type: application/json' -H 'x-api-key: ${apiKey}' \\`,
    `             -d '{"model":"claude-sonnet-4-6","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}'`,
  ].join('\n');
}

/** The provider keys `configFromEnv` takes from the shell, and where each one sends requests. */
function keysFromEnvironment(env: NodeJS.ProcessEnv = process.env): Array<{ variable: string; upstream: string }> {
  const taken: Array<{ variable: string; upstream: string }> = [];
  if (env.ANTHROPIC_API_KEY) taken.push({ variable: 'ANTHROPIC_API_KEY', upstream: env.ANTHROPIC_UPSTREAM_URL ?? 'https://api.anthropic.com' });
  if (env.OPENAI_API_KEY) taken.push({ variable: 'OPENAI_API_KEY', upstream: env.OPENAI_UPSTREAM_URL ?? 'https://api.openai.com/v1' });
  return taken;
}

/**
 * Exporting ANTHROPIC_API_KEY for a client (as the banner suggests) in the shell that starts
 * spillway silently leaves demo mode; a placeholder key then makes every request fail upstream.
 */
function environmentWarning(taken: Array<{ variable: string; upstream: string }>): string {
  const names = taken.map(({ variable }) => variable);
  return [
    `  !! Demo mode is OFF: ${names.join(' and ')} ${names.length > 1 ? 'are' : 'is'} set in this shell, so spillway uses ${names.length > 1 ? 'them as real provider keys' : 'it as a real provider key'}:`,
    ...taken.map(({ variable, upstream }) => `  !!   ${variable} -> ${upstream}`),
    `  !! A placeholder key (such as "anything") is refused by the provider and every request fails.`,
    `  !! For demo mode with simulated providers, start without them:  env -u ANTHROPIC_API_KEY -u OPENAI_API_KEY npm start`,
  ].join('\n');
}

async function start(options: { config?: string; port?: number; host?: string }): Promise<void> {
  let config: Config | ConfigInput | undefined = options.config ? loadConfigFile(options.config) : configFromEnv();
  const taken = options.config ? [] : keysFromEnvironment();
  let mode = options.config ? `config ${options.config}` : `provider keys from the environment: ${taken.map(({ variable }) => variable).join(', ')}`;
  if (taken.length > 0) console.error(`spillway: not starting in demo mode, provider keys taken from the environment: ${taken.map(({ variable }) => variable).join(', ')}`);
  const closers: Array<() => Promise<void>> = [];
  if (!config) {
    const demo = await startDemoProviders();
    config = demo.config;
    mode = `demo mode: simulated providers at ${demo.simulator.url} (set ANTHROPIC_API_KEY or OPENAI_API_KEY, or pass --config, for real ones)`;
    closers.push(() => demo.simulator.close());
  }
  const gateway = await startGateway(config, { port: options.port, host: options.host });
  closers.unshift(() => gateway.close());
  if (options.config) {
    // Routes and providers follow the file (or SIGHUP) without a restart.
    const watcher = watchConfig(options.config, gateway.gateway, (message) => console.log(message));
    closers.push(async () => watcher.close());
  }
  const auth = gateway.gateway.config.server.auth.keys;
  // One write, so whoever reads the log (or a test) sees the whole banner at once.
  console.log(
    [
      `spillway listening on ${gateway.url} (${mode})`,
      ...(taken.length > 0 ? [environmentWarning(taken)] : []),
      ...(auth.length === 0 ? ['  No server.auth.keys set: listening on loopback only, any client key is accepted.'] : []),
      usageHint(gateway.url, auth.length > 0 ? '<one of server.auth.keys>' : 'anything', !options.config),
    ].join('\n'),
  );
  const stop = () => {
    Promise.all(closers.map((close) => close())).finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function sim(options: { config?: string; port?: number }): Promise<void> {
  const loaded = options.config ? loadSimConfig(options.config) : { options: { keys: [] }, port: undefined };
  const simulator = await startSimulator(loaded.options, { port: options.port ?? loaded.port ?? 4100 });
  console.log(`spillway simulator listening on ${simulator.url} (stats: ${simulator.url}/_sim/stats)`);
  process.once('SIGINT', () => simulator.close().finally(() => process.exit(0)));
  process.once('SIGTERM', () => simulator.close().finally(() => process.exit(0)));
}

/** The package's version; package.json sits two levels up from src/cli and from dist/cli alike. */
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('spillway')
  .description('An LLM gateway that plans around rate limits.')
  .version(version, '-V, --version')
  .showHelpAfterError();

program
  .command('start', { isDefault: true })
  .description('run the gateway (demo mode with simulated providers when no config and no provider keys are given)')
  .option('-c, --config <file>', 'YAML config file')
  .option('-p, --port <port>', 'port to listen on (overrides server.port)', port)
  .option('--host <host>', 'address to bind (overrides server.host)')
  .action((options) => start(options).catch(fail));

program
  .command('sim')
  .description('run the provider simulator on its own')
  .option('-c, --config <file>', 'simulator YAML config (keys and limits, latency, faults)')
  .option('-p, --port <port>', 'port to listen on', port)
  .action((options) => sim(options).catch(fail));

function usage(options: { config?: string; dataDir?: string; since: string; by?: string }): void {
  const dataDir = options.dataDir ?? (options.config ? loadConfigFile(options.config).data_dir : undefined) ?? './data';
  const by = (options.by ?? GROUPINGS.join(',')).split(',').map((name) => name.trim());
  for (const name of by) {
    if (!(GROUPINGS as readonly string[]).includes(name)) throw new InvalidArgumentError(`--by: unknown grouping "${name}" (use ${GROUPINGS.join(', ')})`);
  }
  console.log(usageReport({ dataDir, since: options.since, by: by as UsageGrouping[] }));
}

program
  .command('usage')
  .description('summaries of the usage log (requests, tokens, cost) by day, model, provider, client key and tenant')
  .option('-c, --config <file>', 'config file (its data_dir is used)')
  .option('-d, --data-dir <dir>', 'data directory holding usage.sqlite (default: ./data)')
  .option('-s, --since <span>', 'how far back: 7d, 24h, 30m or all', '30d')
  .option('-b, --by <list>', `groupings, comma-separated (${GROUPINGS.join(',')})`)
  .action((options) => {
    try {
      usage(options);
    } catch (error) {
      fail(error instanceof InvalidArgumentError || (error instanceof Error && error.message.startsWith('--')) ? new ConfigError(error.message) : error);
    }
  });

const keys = program
  .command('keys')
  .description("tenant keys at runtime, through a running gateway's admin API")
  .option('-u, --url <url>', 'the gateway (default: $SPILLWAY_URL or http://127.0.0.1:4000)')
  .option('-k, --key <key>', 'an admin key (default: $SPILLWAY_ADMIN_KEY)')
  .addOption(new Option('--admin-key <key>').hideHelp());
/** --url and --key as every admin command takes them (--admin-key, the older spelling, still works). */
function adminTarget(command: Command): AdminTarget {
  const options = command.opts<{ url?: string; key?: string; adminKey?: string }>();
  return { url: options.url ?? process.env.SPILLWAY_URL ?? DEFAULT_ADMIN_URL, key: options.key ?? options.adminKey ?? process.env.SPILLWAY_ADMIN_KEY };
}
const runKeys = (action: KeysAction) => {
  const target = adminTarget(keys);
  keysCommand(target, action).then((text) => console.log(text), (error: unknown) => fail(new ConfigError(error instanceof Error ? error.message : String(error))));
};
keys
  .command('create')
  .description('make a key for a tenant from config (shown once)')
  .requiredOption('-t, --tenant <name>', 'the tenant')
  .action((options: { tenant: string }) => runKeys({ action: 'create', tenant: options.tenant }));
keys.command('list').description('list runtime keys (ids and tenants, never the keys)').action(() => runKeys({ action: 'list' }));
keys
  .command('revoke <id>')
  .description('revoke a key: 401 within a second on every replica')
  .action((id: string) => runKeys({ action: 'revoke', id }));

const tenants = program
  .command('tenants')
  .description("tenants' limits, budgets, queues and shares, changed at runtime through a running gateway's admin API")
  .option('-u, --url <url>', 'the gateway (default: $SPILLWAY_URL or http://127.0.0.1:4000)')
  .option('-k, --key <key>', 'an admin key (default: $SPILLWAY_ADMIN_KEY)')
  .addOption(new Option('--admin-key <key>').hideHelp());
const runTenants = (action: TenantsAction) => {
  const target = adminTarget(tenants);
  tenantsCommand(target, action).then((text) => console.log(text), (error: unknown) => fail(new ConfigError(error instanceof Error ? error.message : String(error))));
};
tenants.command('list').description('every tenant: weight, priority, limits, queue, share of admissions and wait over the last minute, spend against budget').action(() => runTenants({ action: 'list' }));
tenants
  .command('set <name>')
  .description('change a tenant at once on every replica, without a restart ("config" puts a setting back to what config says)')
  .option('--rpm <n>', 'requests per minute')
  .option('--rpd <n>', 'requests per day')
  .option('--itpm <n>', 'input tokens per minute')
  .option('--otpm <n>', 'output tokens per minute')
  .option('--tpm <n>', 'tokens per minute')
  .option('--concurrency <n>', 'requests at once')
  .option('--daily-usd <usd>', 'daily budget')
  .option('--monthly-usd <usd>', 'monthly budget')
  .option('--weight <n>', 'share of a saturated pool')
  .option('--priority <class>', 'interactive or batch')
  .option('--max-wait <duration>', 'longest wait its requests may ask for, e.g. 30s')
  .action((name: string, options: SetOptions) => runTenants({ action: 'set', name, options }));

program
  .command('demo')
  .description('watch spillway at work: a 500-request burst at two simulated keys, direct and through spillway, side by side')
  .option('-n, --count <n>', 'requests in the burst', (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
    return n;
  }, 500)
  .action(async (options: { count: number }) => {
    try {
      const rows = await runDemo(options.count);
      console.log(`\n${demoTable(rows)}\n`);
      const [direct, through] = rows;
      if (direct && through) {
        console.log(
          `Direct, ${direct.result.failed} of ${options.count} requests failed after the SDK's retries; through spillway ${through.result.failed} failed, ` +
            `with ${through.upstream429} upstream 429s. Point your SDK at spillway by changing only its base URL.`,
        );
      }
      process.exit(0);
    } catch (error) {
      fail(error);
    }
  });

/** The running gateway a lever command talks to. */
function adminOptions(command: Command): Command {
  return command
    .option('-u, --url <url>', 'the gateway (any replica)', process.env.SPILLWAY_URL ?? DEFAULT_ADMIN_URL)
    .option('-k, --key <key>', 'an admin key (default: $SPILLWAY_ADMIN_KEY)', process.env.SPILLWAY_ADMIN_KEY);
}

async function lever(target: AdminTarget, method: 'GET' | 'POST', path: string, body?: unknown): Promise<void> {
  try {
    console.log(JSON.stringify(await callAdmin(target, method, path, body), null, 2));
  } catch (error) {
    console.error(`spillway: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}

adminOptions(program.command('flag <name> <state>'))
  .description('flip a kill-switch flag on or off on a running gateway (every replica obeys)')
  .action((name: string, state: string, options: AdminTarget) => {
    if (state !== 'on' && state !== 'off') fail(new ConfigError(`flag ${name}: expected "on" or "off", got "${state}"`));
    return lever(options, 'POST', flagPath(name), { on: state === 'on' });
  });

adminOptions(program.command('canary <action> <route> [share]'))
  .description('promote (next step), demote (previous step) or set (a share 0..1) the canary of a route')
  .action((action: string, route: string, share: string | undefined, options: AdminTarget) => {
    const value = Number(share);
    const body = action === 'promote' ? { promote: true } : action === 'demote' ? { demote: true } : action === 'set' && share !== undefined && value >= 0 && value <= 1 ? { share: value } : undefined;
    if (!body) {
      fail(new ConfigError(`canary: expected "promote ROUTE", "demote ROUTE" or "set ROUTE SHARE" (SHARE from 0 to 1)`));
    }
    return lever(options, 'POST', canaryPath(route), body);
  });

adminOptions(program.command('shadow').command('report'))
  .description('the shadow comparison of a route: agreement with its interval, latency and cost side by side, the worst disagreements')
  .option('-r, --route <route>', 'the route (default: every route)')
  .option('-s, --since <span>', 'how far back: 7d, 24h, 30m or all', 'all')
  .option('--json', 'print the report as JSON')
  .action(async (options: AdminTarget & { route?: string; since: string; json?: boolean }) => {
    const query = new URLSearchParams({ since: options.since, ...(options.route !== undefined ? { route: options.route } : {}) });
    try {
      const report = (await callAdmin(options, 'GET', `/admin/shadow?${query}`)) as ShadowReport;
      console.log(options.json ? JSON.stringify(report, null, 2) : formatShadowReport(report));
    } catch (error) {
      console.error(`spillway: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
  });

adminOptions(program.command('replay'))
  .description('resend captured prompts (usage.capture.prompts) to a candidate at batch priority on a running gateway, and score its answers as shadow pairs')
  .requiredOption('-c, --candidate <provider/model>', 'where to send them, e.g. vendor/vendor-large')
  .option('--from <source>', 'where the prompts come from (only "usage": the prompt capture beside the usage log)', 'usage')
  .option('-r, --route <route>', 'the route whose prompts to resend (default: every route)')
  .option('-s, --since <span>', 'how far back: 7d, 24h, 30m or all', '1d')
  .option('-n, --limit <n>', 'at most this many prompts, newest first', '200')
  .option('--concurrency <n>', 'copies in flight at once', '4')
  .option('--json', 'print the report as JSON')
  .action(async (options: AdminTarget & { candidate: string; from: string; route?: string; since: string; limit: string; concurrency: string; json?: boolean }) => {
    if (options.from !== 'usage') fail(new ConfigError(`replay --from ${options.from}: only "usage" (captured prompts) is known`));
    const body = { candidate: options.candidate, since: options.since, limit: Number(options.limit), concurrency: Number(options.concurrency), ...(options.route !== undefined ? { route: options.route } : {}) };
    try {
      const report = (await callAdmin(options, 'POST', '/admin/replay', body)) as ReplayReport;
      console.log(options.json ? JSON.stringify(report, null, 2) : formatReplayReport(report));
    } catch (error) {
      console.error(`spillway: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
  });

program.parseAsync().catch(fail);
