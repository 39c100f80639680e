/**
 * `spillway demo`: the SKU-500 scenario a newcomer can watch in about a minute. 500 requests fired
 * at once with the official Anthropic SDK (default retries) at two simulated keys: once straight at
 * the provider, once through spillway, side by side, each against its own simulator so neither
 * steals the other's quota. The simulators run in processes of their own, as providers do (see
 * spawn.ts). Then a table: succeeded, failed, upstream 429s, makespan.
 */
import cliProgress from 'cli-progress';
import { fireBurst, minimumMakespanMs, SKU_LATENCY, SKU_OUTPUT_TOKENS, SKU_REQUEST_MS, SKU_SCENARIOS, type BurstResult } from '../sim/burst.js';
import type { SimKey } from '../sim/index.js';
import { startGateway } from '../server/gateway.js';
import { spawnSimulator } from './spawn.js';

/** The per-minute SKU-500 scenario, as in bench/sku500.ts. */
const RPM = SKU_SCENARIOS.find((scenario) => scenario.window === 'minute')!.rpm;

export interface DemoRow {
  path: 'direct' | 'spillway';
  result: BurstResult;
  upstream: number;
  upstream429: number;
  minimumMs: number;
}

function demoKeys(): SimKey[] {
  return [1, 2].map((n) => ({ id: `key-${n}`, key: `sk-sim-demo-${n}`, limits: { rpm: RPM, itpm: 2_000_000, otpm: 400_000 } }));
}

export async function runDemo(count: number, out: NodeJS.WriteStream = process.stdout): Promise<DemoRow[]> {
  const keys = demoKeys();
  const simulator = () => spawnSimulator({ keys, window: 'minute', latency: SKU_LATENCY, outputTokens: SKU_OUTPUT_TOKENS });
  const [simDirect, simGateway] = await Promise.all([simulator(), simulator()]);
  const gateway = await startGateway(
    {
      providers: { anthropic: { type: 'anthropic', base_url: simGateway.url, keys } },
      routes: { '*': { targets: [{ provider: 'anthropic' }] } },
      usage: { enabled: false },
      cache: { exact: { enabled: false }, semantic: { enabled: false } },
    },
    { port: 0, quiet: true },
  );
  out.write(
    `\nspillway demo: ${count} requests at once with the Anthropic SDK (default: 2 retries) at two keys of ${RPM} requests/minute each.\n` +
      `Left alone, the burst overruns the limits and the SDK's retries give up; through spillway, every request waits for room.\n` +
      `Dashboard while it runs: ${gateway.url}/\n\n`,
  );
  // Bars on a terminal; a progress line every two seconds when the output is a pipe or a log.
  const bars = out.isTTY
    ? new cliProgress.MultiBar(
        { format: ' {name} |{bar}| {value}/{total}  ok {ok}  failed {failed}  {seconds}s', hideCursor: true, clearOnComplete: false, barsize: 40, stream: out },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
  const progress = new Map<DemoRow['path'], { ok: number; failed: number }>();
  const plain = bars
    ? undefined
    : setInterval(() => {
        const parts = [...progress].map(([path, p]) => `${path} ${p.ok + p.failed}/${count} (ok ${p.ok}, failed ${p.failed})`);
        out.write(`  ${seconds()}s  ${parts.join('   ')}\n`);
      }, 2_000);
  const run = async (path: DemoRow['path'], baseURL: string, apiKeys: string[]): Promise<BurstResult> => {
    const bar = bars?.create(count, 0, { name: path.padEnd(8), ok: 0, failed: 0, seconds: '0.0' });
    const p = { ok: 0, failed: 0 };
    progress.set(path, p);
    const ticker = bar ? setInterval(() => bar.update({ seconds: seconds() }), 200) : undefined;
    try {
      const result = await fireBurst({
        baseURL,
        apiKeys,
        count,
        maxTokens: SKU_OUTPUT_TOKENS,
        onSettled: (success) => {
          if (success) p.ok += 1;
          else p.failed += 1;
          bar?.increment({ ok: p.ok, failed: p.failed, seconds: seconds() });
        },
      });
      if (!bar) out.write(`  ${path}: done in ${(result.makespanMs / 1000).toFixed(1)} s\n`);
      return result;
    } finally {
      clearInterval(ticker);
    }
  };
  try {
    const [direct, through] = await Promise.all([
      run('direct', simDirect.url, keys.map((key) => key.key)),
      run('spillway', gateway.url, ['demo-client']),
    ]);
    bars?.stop();
    const runs = [
      ['direct', direct, simDirect],
      ['spillway', through, simGateway],
    ] as const;
    return await Promise.all(
      runs.map(async ([path, result, sim]) => {
        const stats = (await sim.stats()).total;
        return {
          path,
          result,
          upstream: stats.requests,
          upstream429: stats.rateLimited,
          minimumMs: minimumMakespanMs(keys, 'minute', { ok: count, inputTokens: stats.inputTokens, outputTokens: stats.outputTokens }) + SKU_REQUEST_MS,
        };
      }),
    );
  } finally {
    bars?.stop();
    clearInterval(plain);
    await gateway.close();
    await Promise.all([simDirect.stop(), simGateway.stop()]);
  }
}

export function demoTable(rows: DemoRow[]): string {
  const header = ['', 'succeeded', 'failed', 'upstream 429s', 'makespan', 'least possible'];
  const body = rows.map((row) => [
    row.path,
    String(row.result.succeeded),
    String(row.result.failed),
    `${row.upstream429} of ${row.upstream} (${((100 * row.upstream429) / Math.max(1, row.upstream)).toFixed(1)}%)`,
    `${(row.result.makespanMs / 1000).toFixed(1)} s`,
    `${(row.minimumMs / 1000).toFixed(1)} s`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('   ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('   '), ...body.map(line)].join('\n');
}
