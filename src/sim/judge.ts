/**
 * The simulator as a judge model: a request whose last user message is a spillway judge prompt
 * (routing/shadow-judge.ts: "spillway-judge:", then <answer_a> and <answer_b>) is answered with a
 * JSON verdict, deterministically: equivalent when the two answers are the same words after
 * normalisation (case and punctuation aside), scored by their word overlap. A real judge model
 * reads meaning; this one is exact, so a test can know what it must say.
 */

const section = (text: string, tag: string): string | undefined => {
  const match = new RegExp(`<${tag}>\\n?([\\s\\S]*?)\\n?</${tag}>`).exec(text);
  return match?.[1];
};

const normalized = (text: string): string[] => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

function overlap(a: string[], b: string[]): number {
  if (a.length === 0 && b.length === 0) return 1;
  const counts = new Map<string, number>();
  for (const w of a) counts.set(w, (counts.get(w) ?? 0) + 1);
  let common = 0;
  for (const w of b) {
    const left = counts.get(w) ?? 0;
    if (left > 0) {
      common++;
      counts.set(w, left - 1);
    }
  }
  return (2 * common) / (a.length + b.length);
}

/** The verdict's JSON text when `request` is a judge prompt; undefined otherwise. */
export function judgeVerdict(request: string | undefined): string | undefined {
  if (!request?.startsWith('spillway-judge:')) return undefined;
  const a = section(request, 'answer_a');
  const b = section(request, 'answer_b');
  if (a === undefined || b === undefined) return undefined;
  const wa = normalized(a);
  const wb = normalized(b);
  const equivalent = wa.join(' ') === wb.join(' ');
  const score = Math.round(overlap(wa, wb) * 1000) / 1000;
  const reason = equivalent ? 'Both answers say the same words.' : `The answers differ: ${wa.length} words against ${wb.length}, ${Math.round(score * 100)}% in common.`;
  return JSON.stringify({ equivalent, score, reason });
}
