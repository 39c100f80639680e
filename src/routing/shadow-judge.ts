/**
 * The judge of a shadow pair: a model asked whether the primary's and the candidate's answers to
 * one request are equivalent, answering a JSON verdict. The prompt and the reading of the verdict
 * are pure; pipeline/shadow.ts sends the prompt at batch priority. The sections are delimited by
 * tags so a model (and the simulator, src/sim/judge.ts) can tell the two answers apart.
 */
import type { Said } from './shadow-score.js';

/** First words of every judge prompt (the simulator recognises a judge request by them). */
export const JUDGE_MARK = 'spillway-judge:';
/** How much of the request and of each answer the judge is shown. */
const SHOWN_CHARS = 4000;

export interface Verdict {
  equivalent: boolean;
  score: number;
  reason: string;
}

/** An answer as text, its tool calls after it as `[tool name {arguments}]`. */
export function sayAsText(said: Said): string {
  return [said.text, ...said.tools.map((tool) => `[tool ${tool.name} ${JSON.stringify(tool.input)}]`)].filter(Boolean).join('\n');
}

/** What the client asked: its messages as JSON, the end kept when long (the last turn matters most). */
export function askedIn(body: Record<string, unknown>): string {
  const text = JSON.stringify(body.messages ?? body.input ?? body.contents ?? '');
  return text.length > SHOWN_CHARS ? `…${text.slice(-SHOWN_CHARS)}` : text;
}

export function judgePrompt(asked: string, primary: Said, candidate: Said): string {
  const cut = (text: string) => (text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS)}…` : text);
  return [
    `${JUDGE_MARK} Two assistants answered the same request. Decide whether answer A and answer B are equivalent:`,
    'the same facts, the same decisions and the same tool calls, whatever the wording.',
    'Reply with only a JSON object, no prose around it: {"equivalent": true or false, "score": a number from 0 (unrelated) to 1 (same), "reason": "one short sentence"}.',
    '',
    '<request>',
    asked,
    '</request>',
    '<answer_a>',
    cut(sayAsText(primary)),
    '</answer_a>',
    '<answer_b>',
    cut(sayAsText(candidate)),
    '</answer_b>',
  ].join('\n');
}

/** The verdict in a judge's answer: the first JSON object in it, when it has the three fields. */
export function parseVerdict(text: string): Verdict | undefined {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(start, end + 1));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { equivalent, score, reason } = parsed as Record<string, unknown>;
  if (typeof equivalent !== 'boolean') return undefined;
  const number = typeof score === 'number' && Number.isFinite(score) ? Math.min(1, Math.max(0, score)) : equivalent ? 1 : 0;
  return { equivalent, score: number, reason: typeof reason === 'string' ? reason.slice(0, 300) : '' };
}
