/**
 * Prompt merging, side by side in one run: the same Message Batch of N short classification
 * prompts through two gateways in front of one simulated key limited to RPM requests a minute
 * (per-second bucket), one route with `merge: { max: 5 }` and one without. Printed: upstream calls,
 * time until the batch ended, tokens the provider counted, and the ratios; then the same with a
 * model that breaks the merged structure (every merged call fails, every request is sent alone).
 * Timing is noisy on a loaded machine; the call counts are exact.
 *
 *   npm run bench:merge        (N=100 RPM=1200 to change)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { startGateway } from '../src/server/gateway.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';

const N = Number(process.env.N ?? 100);
const RPM = Number(process.env.RPM ?? 1200);
const KEY = 'sk-sim-merge';
const SYSTEM = 'Classify the sentiment of the review as positive, negative or neutral. Answer with one word.';

async function run(sim: Simulator, merge: boolean, label: string): Promise<{ calls: number; ms: number; tokens: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-bench-merge-'));
  const gateway = await startGateway(
    {
      data_dir: dir,
      usage: { enabled: false },
      providers: { anthropic: { type: 'anthropic', base_url: sim.url, keys: [{ id: 'k', key: KEY, limits: { rpm: RPM } }] } },
      routes: { '*': { targets: [{ provider: 'anthropic' }], ...(merge ? { merge: { max: 5, max_input_tokens: 400 } } : {}) } },
    },
    { port: 0, quiet: true },
  );
  try {
    const client = new Anthropic({ baseURL: gateway.url, apiKey: 'bench', maxRetries: 0 });
    sim.resetStats();
    const started = Date.now();
    const batch = await client.messages.batches.create({
      requests: Array.from({ length: N }, (_, i) => ({
        custom_id: `r${i}`,
        params: { model: 'claude-haiku-4-5', max_tokens: 100, system: SYSTEM, messages: [{ role: 'user' as const, content: `Review ${i}: ${i % 3 ? 'lovely staff' : 'cold soup'}.` }] },
      })),
    });
    while ((await client.messages.batches.retrieve(batch.id)).processing_status !== 'ended') await new Promise((r) => setTimeout(r, 20));
    const ms = Date.now() - started;
    let ok = 0;
    for await (const line of await client.messages.batches.results(batch.id)) if (line.result.type === 'succeeded') ok++;
    const { requests, inputTokens, outputTokens, rateLimited } = sim.stats().total;
    console.log(`${label.padEnd(34)} ${String(ok).padStart(4)}/${N} answered  ${String(requests).padStart(4)} upstream calls  ${String(rateLimited).padStart(3)} upstream 429s  ${String(ms).padStart(6)} ms  ${inputTokens + outputTokens} tokens`);
    return { calls: requests, ms, tokens: inputTokens + outputTokens };
  } finally {
    await gateway.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const sim = await startSimulator({ keys: [{ id: 'k', key: KEY, limits: { rpm: RPM } }], window: 'second' });
  try {
    console.log(`prompt merging: a batch of ${N} classification prompts, one key at ${RPM} rpm (per-second bucket)\n`);
    const alone = await run(sim, false, 'merge off');
    const merged = await run(sim, true, 'merge { max: 5 }');
    sim.setOptions({ mergeAnswers: 'drop' });
    const broken = await run(sim, true, 'merge { max: 5 }, model drops items');
    console.log(
      `\nmerged / alone: calls ${(merged.calls / alone.calls).toFixed(2)}x, time ${(merged.ms / alone.ms).toFixed(2)}x, tokens ${(merged.tokens / alone.tokens).toFixed(2)}x` +
        `\nbroken / alone: calls ${(broken.calls / alone.calls).toFixed(2)}x (every request still answered alone)`,
    );
  } finally {
    await sim.close();
  }
}

await main();
