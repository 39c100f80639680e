/**
 * Who does what to whom in a prompt. "Advantages of X over Y" and "advantages of Y over X" share
 * every word and embed alike, yet ask opposite questions. The roles are read from structure, not
 * from example sentences: a prompt is cut into clauses (at punctuation) and each clause into
 * segments, one per role marker (a preposition such as from/to/into/over/than/vs/by/of/in); a
 * content word's role is the marker that opens its segment ("" before any). Two prompts ask the
 * same question only if
 *
 * - every content word they share plays the same roles in both (catches swapped entities and
 *   swapped source/target: "from A to B" against "from B to A");
 * - the arguments of the directional markers are the same words (catches "convert X to Y" against
 *   "convert X to Z", "translate into L" against "into M");
 * - the comparison of a "than" is the same ("faster than" against "slower than", "more … than"
 *   against "less … than");
 * - shared words that sit in one segment in both prompts come in the same order (catches
 *   subject/object swaps: "why does the cat chase the dog" against "… the dog chase the cat");
 * - their content words are not one sequence with some words, or one stretch of words, replaced
 *   by others (an edit that keeps the question's frame asks another thing: a unit, a language, a
 *   comparative, a date, a topic), nor one of them the other plus a further demand.
 *
 * Clause order is free: "In Python, how do I read a file?" and "How do I read a file in Python?"
 * keep every role. Precision comes first: a paraphrase that also moves roles is a miss, not a risk.
 */
import { canonicalWord, isStopWord, NEGATIONS } from './text.js';

/** Markers whose argument is part of the question itself: its source, target, standard or rival. */
const DIRECTIONAL = new Set([
  'from', 'to', 'into', 'onto', 'toward', 'towards', 'than', 'over', 'vs', 'versus', 'against', 'per', 'before', 'after', 'instead', 'by', 'as',
]);
/** Markers that only attach a phrase (where, of what, for whom); roles still count, arguments may vary. */
const ATTACHING = new Set(['of', 'in', 'for', 'on', 'with', 'about', 'at', 'between', 'within', 'under', 'through', 'via', 'among', 'using']);
/** Words that turn a comparative around: "more expensive than" against "less expensive than". */
const DEGREE = new Set(['more', 'less', 'fewer', 'lesser', 'most', 'least', 'fewest']);

export interface RoleStructure {
  /** Content word → the roles it plays (sorted, deduplicated). */
  roles: Map<string, string[]>;
  /** Directional marker → its arguments' content words (sorted). */
  arguments: Map<string, string[]>;
  /** "degree comparative" before each "than" (sorted). */
  comparisons: string[];
  /** Content word → the segment of its only occurrence and its position (absent for repeated words). */
  places: Map<string, { segment: number; position: number }>;
  /** Content words in order, across clauses; numbers left out (compared as such), units in one spelling. */
  sequence: string[];
}

export type RoleVerdict = 'role' | 'argument' | 'comparison' | 'order' | 'substitution' | 'addition' | undefined;

/** Word tokens plus clause punctuation, of a prompt already through the shared normalisation. */
function rawTokens(normalised: string): string[] {
  return normalised.match(/[\p{L}\p{N}]+(?:[.,]\p{N}+)*|[.!?;:,\n()]/gu) ?? [];
}

const isClauseBreak = (token: string): boolean => /^[.!?;:,\n()]$/u.test(token);

/** "to" before a verb ("how to sort", "want to learn") opens no argument: it follows a function word. */
function isInfinitive(tokens: string[], i: number): boolean {
  const before = tokens[i - 1];
  return before === undefined || isClauseBreak(before) || (isStopWord(before) && !NEGATIONS.has(before));
}

/**
 * `normalised` is the prompt through text.ts's normalise (the guard has it already).
 * `quantityWord` gives a number word ("5", "five") as '' (left out of the sequence: numbers are
 * compared with their units elsewhere) and a unit in one spelling ("kilograms" → "kg").
 */
export function roleStructure(normalised: string, quantityWord: (token: string) => string | undefined = () => undefined): RoleStructure {
  const tokens = rawTokens(normalised);
  const roles = new Map<string, Set<string>>();
  const args = new Map<string, string[]>();
  const comparisons: string[] = [];
  const seen = new Map<string, { segment: number; position: number } | null>();
  const sequence: string[] = [];
  let role = '';
  let segment = 0;
  let position = 0;
  tokens.forEach((token, i) => {
    if (isClauseBreak(token)) {
      role = '';
      segment += 1;
      return;
    }
    const marker = (DIRECTIONAL.has(token) || ATTACHING.has(token)) && !(token === 'to' && isInfinitive(tokens, i));
    if (marker) {
      role = token;
      segment += 1;
      if (token === 'than') comparisons.push(comparisonBefore(tokens, i));
      return;
    }
    if (isStopWord(token) || NEGATIONS.has(token)) return;
    const quantity = quantityWord(token);
    const word = quantity || canonicalWord(token);
    if (quantity !== '') sequence.push(word);
    const wordRoles = roles.get(word) ?? new Set<string>();
    wordRoles.add(role);
    roles.set(word, wordRoles);
    if (DIRECTIONAL.has(role)) args.set(role, (args.get(role) ?? []).concat(word));
    seen.set(word, seen.has(word) ? null : { segment, position: position++ });
  });
  const places = new Map<string, { segment: number; position: number }>();
  for (const [word, place] of seen) if (place) places.set(word, place);
  return {
    roles: new Map([...roles].map(([word, set]) => [word, [...set].sort()])),
    arguments: new Map([...args].map(([marker, words]) => [marker, words.sort()])),
    comparisons: comparisons.sort(),
    places,
    sequence,
  };
}

/** The comparative a "than" completes, with its degree word if any: "faster", "less expensive". */
function comparisonBefore(tokens: string[], i: number): string {
  const word = tokens[i - 1];
  if (word === undefined || isClauseBreak(word)) return '';
  const degree = tokens[i - 2];
  return degree !== undefined && DEGREE.has(degree) ? `${degree} ${canonicalWord(word)}` : canonicalWord(word);
}

export function compareRoles(a: RoleStructure, b: RoleStructure): RoleVerdict {
  for (const [word, rolesA] of a.roles) {
    const rolesB = b.roles.get(word);
    if (rolesB !== undefined && rolesA.join('|') !== rolesB.join('|')) return 'role';
  }
  const markers = new Set([...a.arguments.keys(), ...b.arguments.keys()]);
  for (const marker of markers) {
    if ((a.arguments.get(marker) ?? []).join('|') !== (b.arguments.get(marker) ?? []).join('|')) return 'argument';
  }
  if (a.comparisons.join('|') !== b.comparisons.join('|')) return 'comparison';
  if (orderDiffers(a, b)) return 'order';
  if (wordsReplaced(a.sequence, b.sequence) || spanReplaced(a.sequence, b.sequence)) return 'substitution';
  if (demandAdded(a.sequence, b.sequence) || demandAdded(b.sequence, a.sequence)) return 'addition';
  return undefined;
}

/** Two shared words in one segment of each prompt, in opposite orders. */
function orderDiffers(a: RoleStructure, b: RoleStructure): boolean {
  // Group the shared words by the pair of segments they sit in; within a group, the order in a
  // must be the order in b. Sorting keeps this linear-ish for long prompts.
  const groups = new Map<string, Array<{ inA: number; inB: number }>>();
  for (const [word, placeA] of a.places) {
    const placeB = b.places.get(word);
    if (!placeB) continue;
    const key = `${placeA.segment}:${placeB.segment}`;
    const group = groups.get(key) ?? [];
    group.push({ inA: placeA.position, inB: placeB.position });
    groups.set(key, group);
  }
  for (const group of groups.values()) {
    group.sort((x, y) => x.inA - y.inA);
    for (let i = 1; i < group.length; i++) if ((group[i] as { inB: number }).inB < (group[i - 1] as { inB: number }).inB) return true;
  }
  return false;
}

/**
 * The longer prompt keeps every content word of the shorter and adds two or more: a further demand
 * ("… and unit tests"), which a long shared prompt hides from the similarity.
 */
function demandAdded(shorter: string[], longer: string[]): boolean {
  const kept = new Set(longer);
  if (!shorter.every((word) => kept.has(word))) return false;
  const had = new Set(shorter);
  return new Set(longer.filter((word) => !had.has(word))).size >= 2;
}

/** One stretch of words replaced by other words, the rest kept: the same frame asking about another thing. */
function spanReplaced(a: string[], b: string[]): boolean {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let end = 0;
  while (end < a.length - start && end < b.length - start && a[a.length - 1 - end] === b[b.length - 1 - end]) end += 1;
  const [middleA, middleB] = [a.slice(start, a.length - end), b.slice(start, b.length - end)];
  if (start + end === 0 || middleA.length === 0 || middleB.length === 0) return false;
  const inB = new Set(middleB);
  return !middleA.some((word) => inB.has(word));
}

/** The same sequence with some words replaced in place by words the other prompt lacks. */
function wordsReplaced(a: string[], b: string[]): boolean {
  if (a.length !== b.length || a.length < 2) return false;
  const [inA, inB] = [new Set(a), new Set(b)];
  let replaced = 0;
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i] as string, b[i] as string];
    if (x === y) continue;
    if (inB.has(x) || inA.has(y)) return false; // a moved word: order and roles judge that
    replaced += 1;
  }
  return replaced > 0 && replaced < a.length;
}
