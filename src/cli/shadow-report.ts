/** `spillway shadow report` and `spillway replay`: the report of GET /admin/shadow (or POST /admin/replay), as text for a terminal. */
import type { ReplayReport } from '../pipeline/replay.js';
import type { ShadowReport } from '../routing/shadow-report.js';

const pct = (share: number | undefined) => (share === undefined ? '–' : `${(share * 100).toFixed(1)}%`);
const ms = (value: number) => `${Math.round(value)} ms`;
const usd = (value: number) => `$${value.toFixed(6)}`;
const signed = (text: string, value: number) => (value >= 0 ? `+${text}` : text);

export function formatShadowReport(report: ShadowReport, title = 'Shadow pairs'): string {
  const where = report.route === undefined ? 'every route' : `route ${report.route}`;
  if (report.pairs === 0) return `No ${title.toLowerCase()} for ${where} yet.`;
  const lines = [
    `${title} for ${where}: ${report.pairs}`,
    `  agreement       ${pct(report.agreement)} (${report.agreed}/${report.pairs}; 95% interval ${pct(report.interval?.[0])} – ${pct(report.interval?.[1])})`,
    `  exact matches   ${report.exactMatches}/${report.pairs}`,
    `  mean similarity ${pct(report.meanSimilarity)}`,
    `  same tool calls ${report.sameToolCalls}/${report.pairs}`,
  ];
  if (report.judge) {
    const j = report.judge;
    lines.push(
      `  judge           ${pct(j.agreement)} equivalent (${j.equivalent}/${j.judged}; 95% interval ${pct(j.interval[0])} – ${pct(j.interval[1])}), mean score ${j.meanScore.toFixed(2)}, same verdict as the scores ${pct(j.concordance)}`,
    );
  }
  if (report.latency) {
    lines.push(`  latency         primary ${ms(report.latency.primaryMeanMs)}, candidate ${ms(report.latency.candidateMeanMs)} (${signed(ms(report.latency.deltaMs), report.latency.deltaMs)})`);
  }
  if (report.cost) {
    lines.push(`  cost            primary ${usd(report.cost.primaryUsd)}, candidate ${usd(report.cost.candidateUsd)} (${signed(usd(report.cost.deltaUsd), report.cost.deltaUsd)})`);
  }
  if (report.worst.length > 0) {
    lines.push('', 'Worst disagreements:');
    for (const pair of report.worst) {
      lines.push(`  ${pair.requestId}  similarity ${pct(pair.score.similarity)}${pair.score.sameTools ? '' : ', different tool calls'}${pair.score.sameJsonShape === false ? ', different JSON shape' : ''}`);
      if (pair.judge) lines.push(`    judge: ${pair.judge.equivalent ? 'equivalent' : 'not equivalent'} (${pair.judge.score.toFixed(2)}) ${JSON.stringify(pair.judge.reason.slice(0, 120))}`);
      lines.push(`    ${pair.primary.provider}/${pair.primary.model}: ${JSON.stringify(pair.primary.text.slice(0, 120))}`);
      lines.push(`    ${pair.candidate.provider}/${pair.candidate.model}: ${JSON.stringify(pair.candidate.text.slice(0, 120))}`);
    }
  }
  return lines.join('\n');
}

export function formatReplayReport(report: ReplayReport): string {
  const head = `Replay of ${report.prompts} captured prompt${report.prompts === 1 ? '' : 's'} against ${report.candidate}${report.failed > 0 ? ` (${report.failed} without a scorable answer)` : ''}`;
  const hint = report.prompts === 0 && !report.capturing ? '\nPrompt capture is off on this gateway: set usage.capture.prompts: true in its config to record prompts to replay.' : '';
  return `${head}${hint}\n${formatShadowReport(report, 'Replayed pairs')}`;
}
