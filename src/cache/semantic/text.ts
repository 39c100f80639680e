/**
 * Word-level text normalisation shared by the built-in embedder and the guard: lower-casing,
 * contractions, stop words, a light suffix stemmer and a small synonym table. Deliberately small
 * and predictable; it only has to make paraphrases of one prompt land close together.
 */

/** Spelled-out negations are kept as words everywhere: they change the meaning. */
export const NEGATIONS = new Set([
  'not', 'no', 'never', 'without', 'except', 'none', 'nor', 'neither', 'nothing', 'nobody', 'nowhere', 'cannot', 'excluding',
]);

/** Function words and question filler that paraphrases add or drop freely. */
const STOP_WORDS = new Set(
  (
    'a an the is are was were be been being am do does did doing to of in on at by for from with as into onto ' +
    'and or but if then than so too very just also really quite some any this that these those there here ' +
    'i me my mine we us our you your yours he him his she her it its they them their ' +
    'what how which way ways please can could would will shall may might must should ' +
    'tell give let know want like need needs get got have has had ' +
    'about up out over again only own same such more most other each every all both own ' +
    'thing things something anything kindly hey hi hello thanks thank ok okay whats hows'
  ).split(' '),
);

const CONTRACTIONS: Array<[RegExp, string]> = [
  [/\bcan['’]t\b/g, 'can not'],
  [/\bwon['’]t\b/g, 'will not'],
  [/\bshan['’]t\b/g, 'shall not'],
  [/n['’]t\b/g, ' not'],
  // the same typed without the apostrophe: missing a negation would be worse than a missed hit
  [/\b(do|does|did|is|are|was|were|has|have|had|would|should|could|must|need)nt\b/g, '$1 not'],
  [/\bcant\b/g, 'can not'],
  [/\bhow many\b/g, 'number of'],
  [/['’]ll\b/g, ' will'], // the future changes the question; will is a stop word for the embedder
  [/['’](re|ve|d|m)\b/g, ''],
  [/['’]s\b/g, ''],
];

/** Groups of interchangeable words; every member maps to the first. */
const SYNONYM_GROUPS: string[][] = [
  ['quick', 'fast', 'rapid', 'speedy'],
  ['big', 'large', 'huge'],
  ['small', 'little', 'tiny'],
  ['car', 'automobile'],
  ['buy', 'purchase'],
  ['start', 'begin', 'commence'],
  ['make', 'create', 'build', 'construct'],
  ['delete', 'remove', 'erase'],
  ['explain', 'describe', 'clarify'],
  ['show', 'display'],
  ['find', 'locate'],
  ['fix', 'repair', 'resolve', 'debug'],
  ['easy', 'simple', 'straightforward'],
  ['use', 'utilize', 'utilise', 'employ'],
  ['help', 'assist'],
  ['summarize', 'summarise', 'summary'],
  ['happen', 'occur'],
  ['require', 'needed'],
  ['fetch', 'retrieve', 'obtain'],
  ['change', 'modify', 'alter'],
  ['check', 'verify'],
  ['child', 'children', 'kid', 'kids'],
  ['error', 'exception'],
  ['example', 'sample'],
  ['difference', 'differ', 'different', 'vs', 'versus', 'compare', 'comparison'],
  ['meaning', 'mean', 'definition', 'define'],
  ['write', 'code', 'implement', 'program'],
  ['reason', 'why'],
  ['translate', 'translation'],
  ['recipe', 'cook'],
  ['benefit', 'advantage', 'pro'],
  ['drawback', 'disadvantage', 'con', 'downside'],
  ['ocean', 'sea'],
  ['doctor', 'physician'],
  ['picture', 'image', 'photo'],
  ['film', 'movie'],
  ['speed', 'velocity'],
  ['job', 'occupation'],
  ['correct', 'right', 'accurate'],
  ['capital', 'capitol'],
];

export function normalise(text: string): string {
  let out = text.normalize('NFKC').toLowerCase();
  for (const [pattern, replacement] of CONTRACTIONS) out = out.replace(pattern, replacement);
  return out;
}

/** Word tokens (letters and digits; a decimal point inside a number stays). */
export function tokens(text: string): string[] {
  return normalise(text).match(/[\p{L}\p{N}]+(?:[.,][\p{N}]+)*/gu) ?? [];
}

export function isStopWord(word: string): boolean {
  return STOP_WORDS.has(word);
}

/** A light suffix stemmer: plurals, -ing, -ed, -ly, enough to merge inflections of one word. */
export function stem(word: string): string {
  if (word.length <= 3 || /\d/.test(word)) return word;
  let w = word;
  if (w.endsWith('ies') && w.length > 4) w = w.slice(0, -3) + 'y';
  else if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (/(ches|shes|xes|zes)$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(ss|us|is|ous)$/.test(w)) w = w.slice(0, -1);
  if (w.endsWith('ing') && w.length > 5) w = undouble(w.slice(0, -3));
  else if (w.endsWith('ed') && w.length > 4) w = undouble(w.slice(0, -2));
  if (w.endsWith('ly') && w.length > 5) w = w.slice(0, -2);
  return w;
}

// "running" → "runn" → "run"; "sorted" → "sort" stays.
function undouble(w: string): string {
  return w.length > 3 && w[w.length - 1] === w[w.length - 2] && !/[lsz]/.test(w[w.length - 1] ?? '') ? w.slice(0, -1) : w;
}

const SYNONYMS = new Map<string, string>();
for (const group of SYNONYM_GROUPS) {
  const head = stem(group[0] ?? '');
  for (const word of group) SYNONYMS.set(stem(word), head);
}

/** Stem, then map to the synonym group's head word. */
export function canonicalWord(word: string): string {
  const stemmed = stem(word);
  return SYNONYMS.get(stemmed) ?? stemmed;
}

/** The content words of a text, canonicalised, in order. */
export function contentWords(text: string): string[] {
  const out: string[] = [];
  for (const token of tokens(text)) {
    if (STOP_WORDS.has(token)) continue;
    out.push(canonicalWord(token));
  }
  return out;
}
