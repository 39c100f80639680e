/**
 * The SKU-500 benchmarks' command line: `--scenario minute|second|tenth` (repeatable; default all)
 * and `--runs N` (default 1): each chosen scenario runs N times through spillway, each run printed.
 */
import { parseArgs } from 'node:util';
import { SKU_SCENARIOS, type SkuScenario } from '../src/sim/burst.js';

export function skuArgs(): { scenarios: SkuScenario[]; runs: number } {
  const { values } = parseArgs({ options: { scenario: { type: 'string', multiple: true }, runs: { type: 'string', default: '1' } } });
  const wanted = values.scenario ?? SKU_SCENARIOS.map((s) => s.id);
  const scenarios = SKU_SCENARIOS.filter((s) => wanted.includes(s.id));
  const unknown = wanted.filter((id) => !SKU_SCENARIOS.some((s) => s.id === id));
  const runs = Number(values.runs);
  if (unknown.length > 0 || !Number.isInteger(runs) || runs < 1) {
    console.error(`usage: --scenario ${SKU_SCENARIOS.map((s) => s.id).join('|')} (repeatable) --runs N`);
    process.exit(2);
  }
  return { scenarios, runs };
}
