/**
 * Semantic-cache precision and recall on the labelled pairs (test/fixtures/semantic/), at several
 * similarity thresholds, overall and per class (the rule that made each pair), for the built-in
 * embedder and, when configured, an OpenAI-compatible embedding model:
 *   SPILLWAY_BENCH_EMBEDDINGS_URL=http://127.0.0.1:11434/v1 SPILLWAY_BENCH_EMBEDDINGS_MODEL=nomic-embed-text \
 *   [SPILLWAY_BENCH_EMBEDDINGS_KEY=…] npm run bench:semantic
 * A false hit is a must_not_hit pair served; recall is the share of should_hit pairs served.
 * The suggested threshold has no false hit, nor has the threshold MARGIN below it (prompts outside
 * the set sit a little closer or further than those in it), and the best recall; on a tie the
 * highest such threshold, since a wrong answer costs more than a miss.
 */
import type { Embedder } from '../src/cache/semantic/embedder.js';
import { HashedEmbedder } from '../src/cache/semantic/hashed-embedder.js';
import { OpenAIEmbedder } from '../src/cache/semantic/openai-embedder.js';
import { DEFAULT_SIMILARITY_THRESHOLD } from '../src/cache/semantic/semantic-cache.js';
import { allPairs, hits, judge, type JudgedPair } from '../test/fixtures/semantic/labelled.js';

const SWEEP = Array.from({ length: 20 }, (_, i) => Number((0.6 + 0.02 * i).toFixed(2)));
const MARGIN = 0.04;
const COLUMNS = [0.7, 0.8, 0.86, 0.9, 0.92, 0.94, 0.96];

const percent = (part: number, whole: number): string => (whole === 0 ? '  -  ' : `${((100 * part) / whole).toFixed(1)}%`.padStart(6));

function score(judged: JudgedPair[], threshold: number): { served: number; falseHits: number; should: number; mustNot: number } {
  let served = 0;
  let falseHits = 0;
  for (const pair of judged) {
    if (!hits(pair, threshold)) continue;
    if (pair.label === 'should_hit') served += 1;
    else falseHits += 1;
  }
  const should = judged.filter((pair) => pair.label === 'should_hit').length;
  return { served, falseHits, should, mustNot: judged.length - should };
}

function report(name: string, judged: JudgedPair[]): void {
  console.log(`\n## ${name}: ${judged.length} pairs`);
  console.log('threshold  precision  recall   false hits');
  let best: { threshold: number; recall: number } | undefined;
  for (const threshold of SWEEP) {
    const { served, falseHits, should, mustNot } = score(judged, threshold);
    console.log(`  ${threshold.toFixed(2)}      ${percent(served, served + falseHits)}   ${percent(served, should)}   ${falseHits}/${mustNot}`);
    const safe = falseHits === 0 && score(judged, threshold - MARGIN).falseHits === 0;
    if (safe && (!best || served / should >= best.recall)) best = { threshold, recall: served / should };
  }
  console.log(
    best
      ? `suggested threshold ${best.threshold.toFixed(2)}: no false hit down to ${(best.threshold - MARGIN).toFixed(2)}, recall ${(100 * best.recall).toFixed(1)}%`
      : `every threshold has a false hit within ${MARGIN} below it`,
  );

  console.log(`\nper class, pairs served (false hits for must_not_hit, recall for should_hit):`);
  console.log(`${'class'.padEnd(36)} ${COLUMNS.map((t) => t.toFixed(2).padStart(7)).join(' ')}`);
  const classes = [...new Set(judged.map((pair) => `${pair.label}/${pair.kind}`))].sort();
  for (const name of classes) {
    const members = judged.filter((pair) => `${pair.label}/${pair.kind}` === name);
    const cells = COLUMNS.map((t) => `${members.filter((pair) => hits(pair, t)).length}/${members.length}`.padStart(7));
    console.log(`${name.padEnd(36)} ${cells.join(' ')}`);
  }
  const refusals = new Map<string, number>();
  for (const pair of judged) if (pair.label === 'must_not_hit' && pair.refused) refusals.set(pair.refused, (refusals.get(pair.refused) ?? 0) + 1);
  console.log(`guard refusals on must_not_hit pairs: ${[...refusals].sort((x, y) => y[1] - x[1]).map(([reason, n]) => `${reason} ${n}`).join(', ')}`);
}

const embedders: Array<[string, Embedder]> = [['built-in embedder', new HashedEmbedder()]];
const url = process.env['SPILLWAY_BENCH_EMBEDDINGS_URL'];
const model = process.env['SPILLWAY_BENCH_EMBEDDINGS_MODEL'];
if (url && model) {
  embedders.push([`${model} at ${url}`, new OpenAIEmbedder({ baseUrl: url, model, apiKey: process.env['SPILLWAY_BENCH_EMBEDDINGS_KEY'], timeoutMs: 60_000 })]);
} else {
  console.log('(set SPILLWAY_BENCH_EMBEDDINGS_URL and SPILLWAY_BENCH_EMBEDDINGS_MODEL to measure an OpenAI-compatible embedding model too)');
}
console.log(`default threshold: ${DEFAULT_SIMILARITY_THRESHOLD}`);
const pairs = allPairs();
for (const [name, embedder] of embedders) report(name, await judge(embedder, pairs));
