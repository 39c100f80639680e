/**
 * Memory for a large batch create: the gateway runs as its own process; one batch body of
 * BATCH_MB megabytes is uploaded, and the gateway's peak RSS (VmHWM) over its idle RSS is printed
 * against the body size. A body buffered whole costs several times its size (bytes, string, parsed
 * tree, texts); parsed as it arrives, about the size of the stored request texts.
 *
 *   npm run bench:batch-upload        (BATCH_MB=200 to change)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { startSimulator } from '../src/sim/index.js';

const BATCH_MB = Number(process.env.BATCH_MB ?? 100);
const KEY = 'sk-sim-bench';

function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)![1]) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);

async function main(): Promise<void> {
  const sim = await startSimulator({ keys: [{ id: 'bench', key: KEY, limits: { rpm: 1_000_000 } }], latency: { ttftMs: 60_000 } });
  const dir = mkdtempSync(join(tmpdir(), 'spillway-bench-batch-'));
  const config = join(dir, 'spillway.yaml');
  writeFileSync(
    config,
    stringify({
      data_dir: dir,
      server: { port: 0 },
      // One request at a time against a slow simulator: the runner's own work stays out of the figure.
      batches: { concurrency: 1 },
      providers: { anthropic: { type: 'anthropic', base_url: sim.url, keys: [{ id: 'bench', key: KEY }] } },
      routes: { '*': { targets: [{ provider: 'anthropic' }] } },
    }),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
  });
  try {
    const content = 'lorem ipsum dolor sit amet '.repeat(180);
    const one = (i: number) => JSON.stringify({ custom_id: `r-${i}`, params: { model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: `${i} ${content}` }] } });
    const lines: string[] = [];
    let size = 0;
    for (let i = 0; size < BATCH_MB * 1024 * 1024; i++) {
      lines.push(one(i));
      size += lines.at(-1)!.length + 1;
    }
    const body = Buffer.from(`{"requests":[${lines.join(',')}]}`);
    await sleep(500);
    const idle = memory(child.pid!);
    const started = performance.now();
    const response = await fetch(`${url}/v1/messages/batches`, { method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body });
    const answer = (await response.json()) as { id?: string; request_counts?: { processing: number } };
    const seconds = (performance.now() - started) / 1000;
    const after = memory(child.pid!);
    if (response.status !== 200) throw new Error(`create answered ${response.status}: ${JSON.stringify(answer)}`);
    const growth = after.peak - idle.rss;
    console.log(`batch create: ${lines.length} requests, ${mb(body.length)} MB body, created in ${seconds.toFixed(1)} s`);
    console.log(`gateway RSS: idle ${mb(idle.rss)} MB, peak ${mb(after.peak)} MB: +${mb(growth)} MB, ${(growth / body.length).toFixed(2)}× the body`);
  } finally {
    child.kill('SIGTERM');
    await sim.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
