/**
 * The semantic-cache guard. Embeddings put "sort ascending" next to "sort descending" and
 * "retry 3 times" next to "retry 5 times"; serving one answer for the other is a wrong answer,
 * not a cache hit. The guard extracts the features that flip an answer while barely moving a
 * vector, and refuses a hit unless both prompts agree on them:
 *
 * - negations (not, no, never, without, n't, except …): same count;
 * - numbers (digits, decimals, thousands separators, units, spelled-out small numbers, ordinals):
 *   same multiset;
 * - anchors, which must each appear as a word of the other prompt: capitalised names not at a
 *   sentence start, acronyms, code identifiers (camelCase, snake_case, dotted.paths, file names,
 *   --flags, `backticked` text, letter+digit names like ES2020) and "quoted" words. Containment
 *   rather than equality lets "paris" match "Paris" in a lower-cased variant;
 * - polar words (ascending/descending, increase/decrease, encrypt/decrypt, more/less …): same set;
 * - tense: past (was, did …) and future (will …) auxiliaries, so "who is" is not "who was";
 * - roles and order (roles.ts): the same words in swapped roles or order ask another question.
 */
import { compareRoles, roleStructure, type RoleStructure } from './roles.js';
import { canonicalWord, NEGATIONS, normalise, tokens } from './text.js';

export interface GuardFeatures {
  negations: number;
  numbers: string[];
  anchors: string[];
  polar: string[];
  tense: string[];
  structure: RoleStructure;
  /** Lower-cased words of the prompt (for anchor containment). */
  words: Set<string>;
}

export type GuardReason = 'negation' | 'number' | 'anchor' | 'polarity' | 'tense' | 'role' | 'argument' | 'comparison' | 'order' | 'substitution' | 'addition';
export type GuardVerdict = { pass: true } | { pass: false; reason: GuardReason };

const SMALL_NUMBERS: Record<string, number> = {
  zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17,
  eighteen: 18, nineteen: 19, twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70,
  eighty: 80, ninety: 90, dozen: 12, half: 0.5, twice: 2,
};
const MULTIPLIERS: Record<string, number> = { hundred: 100, thousand: 1000, million: 1e6, billion: 1e9 };
const ORDINALS: Record<string, number> = {
  first: 1, second: 2, third: 3, fourth: 4, fifth: 5, sixth: 6, seventh: 7, eighth: 8, ninth: 9, tenth: 10, last: -1,
};

/** Unit words and abbreviations → one spelling, so "5 kilograms" equals "5kg". */
const UNITS: Record<string, string> = {};
for (const [canonical, spellings] of Object.entries({
  '%': '% percent pct',
  kg: 'kg kilo kilos kilogram kilograms kilogramme kilogrammes',
  g: 'g gram grams gramme grammes',
  lb: 'lb lbs pound pounds',
  km: 'km kilometer kilometers kilometre kilometres',
  m: 'meter meters metre metres',
  cm: 'cm centimeter centimeters centimetre centimetres',
  mm: 'mm millimeter millimeters',
  mi: 'mi mile miles',
  ft: 'ft foot feet',
  in: 'inch inches',
  ms: 'ms millisecond milliseconds',
  s: 'sec secs second seconds',
  min: 'min mins minute minutes',
  h: 'h hr hrs hour hours',
  d: 'day days',
  wk: 'week weeks',
  mo: 'month months',
  y: 'yr yrs year years',
  kb: 'kb kilobyte kilobytes',
  mb: 'mb megabyte megabytes',
  gb: 'gb gigabyte gigabytes',
  tb: 'tb terabyte terabytes',
  usd: 'usd dollar dollars $',
  eur: 'eur euro euros €',
  gbp: 'gbp £',
  c: 'c celsius °c',
  f: 'f fahrenheit °f',
  x: 'x times',
  px: 'px pixel pixels',
  mph: 'mph',
  kmh: 'kmh kph',
  rows: 'row rows',
  items: 'item items',
  words: 'word words',
  chars: 'char chars character characters',
  lines: 'line lines',
  tokens: 'token tokens',
})) {
  for (const spelling of spellings.split(' ')) UNITS[spelling] = canonical;
}

const POLAR_PAIRS = [
  'increase decrease', 'maximum minimum', 'max min', 'largest smallest', 'biggest smallest', 'highest lowest',
  'before after', 'above below', 'ascending descending', 'enable disable', 'true false', 'encrypt decrypt',
  'encode decode', 'import export', 'upload download', 'push pull', 'open close', 'win lose', 'buy sell',
  'positive negative', 'include exclude', 'allow deny', 'accept reject', 'oldest newest', 'earliest latest',
  'hot cold', 'better worse', 'best worst', 'good bad', 'inside outside', 'sync async', 'synchronous asynchronous',
  'valid invalid', 'success failure', 'uppercase lowercase', 'benefit drawback', 'add subtract', 'multiply divide',
  'longest shortest', 'cheapest expensive', 'safe unsafe', 'legal illegal', 'possible impossible', 'agree disagree',
  'like dislike', 'rise fall', 'gain loss', 'serialize deserialize', 'compress decompress', 'install uninstall',
  'mount unmount', 'lock unlock', 'show hide', 'strong weak', 'happy sad', 'odd even', 'public private',
  'more less', 'more fewer', 'most least', 'most fewest',
];
const POLAR = new Set(POLAR_PAIRS.flatMap((pair) => pair.split(' ').map(canonicalWord)));

/** Auxiliaries that put a question in the past or the future; the present is the unmarked case. */
const TENSE: Record<string, string> = { was: 'past', were: 'past', did: 'past', had: 'past', will: 'future', shall: 'future' };

export function guardFeatures(prompt: string): GuardFeatures {
  const lower = normalise(prompt);
  const wordList = tokens(prompt);
  const words = new Set<string>(wordList);
  for (const token of lower.match(/[\p{L}\p{N}_$]+(?:[./-][\p{L}\p{N}_$]+)*/gu) ?? []) words.add(token);
  const anchors = [...new Set([...extractNames(prompt), ...extractIdentifiers(prompt), ...extractQuoted(lower)])].sort();
  for (const anchor of anchors) words.add(anchor); // a prompt always agrees with itself

  let negations = 0;
  for (const word of wordList) if (NEGATIONS.has(word)) negations += 1;

  const polar = [...new Set(wordList.map(canonicalWord).filter((word) => POLAR.has(word)))].sort();

  return {
    negations,
    numbers: extractNumbers(lower).sort(),
    anchors,
    polar,
    tense: [...new Set(wordList.flatMap((word) => TENSE[word] ?? []))].sort(),
    structure: roleStructure(lower, quantityWord),
    words,
  };
}

export function checkGuard(a: GuardFeatures, b: GuardFeatures): GuardVerdict {
  if (a.negations !== b.negations) return { pass: false, reason: 'negation' };
  if (a.numbers.join('|') !== b.numbers.join('|')) return { pass: false, reason: 'number' };
  if (a.polar.join('|') !== b.polar.join('|')) return { pass: false, reason: 'polarity' };
  if (!a.anchors.every((anchor) => b.words.has(anchor)) || !b.anchors.every((anchor) => a.words.has(anchor))) {
    return { pass: false, reason: 'anchor' };
  }
  if (a.tense.join('|') !== b.tense.join('|')) return { pass: false, reason: 'tense' };
  const roles = compareRoles(a.structure, b.structure);
  return roles === undefined ? { pass: true } : { pass: false, reason: roles };
}

/** '' for a number word, the one spelling of a unit, undefined for any other word. */
function quantityWord(token: string): string | undefined {
  if (/\d/.test(token) || [SMALL_NUMBERS, MULTIPLIERS, ORDINALS].some((table) => table[token] !== undefined)) return '';
  return UNITS[token];
}

/** Numbers with their units, as canonical strings: "5kg", "0.5", "1000usd", "#3" (ordinal). */
export function extractNumbers(lower: string): string[] {
  const out: string[] = [];
  // Digits, with an attached or following unit; a currency sign before the number counts too.
  const digitPattern = /([$€£])?(?<![\p{L}\p{N}_.])(\d+(?:,\d{3})*(?:\.\d+)?)(?:(%|°[cf])|([a-z]+)|[ \t]+([a-z$€£]+))?/gu;
  for (const match of lower.matchAll(digitPattern)) {
    const value = String(Number((match[2] ?? '').replace(/,/g, '')));
    const attached = match[4];
    if (attached && /^(st|nd|rd|th)$/.test(attached)) {
      out.push(`#${value}`);
      continue;
    }
    const unit = match[3] ?? attached ?? (match[5] !== undefined && UNITS[match[5]] !== undefined ? match[5] : undefined) ?? match[1];
    out.push(value + (unit !== undefined ? (UNITS[unit] ?? unit) : ''));
  }
  // Spelled-out numbers: "twenty five" → 25, "two hundred" → 200, "third" → #3.
  const words = lower.match(/[\p{L}\p{N}]+|%/gu) ?? [];
  let group: number | undefined;
  const flush = (unitWord: string | undefined): void => {
    if (group === undefined) return;
    const unit = unitWord !== undefined ? UNITS[unitWord] : undefined;
    out.push(String(group) + (unit ?? ''));
    group = undefined;
  };
  for (const word of words) {
    const small = SMALL_NUMBERS[word];
    const multiplier = MULTIPLIERS[word];
    if (small !== undefined) group = (group ?? 0) + small;
    else if (multiplier !== undefined && group !== undefined) group *= multiplier;
    else if (multiplier !== undefined) group = multiplier;
    else {
      flush(word);
      const ordinal = ORDINALS[word];
      if (ordinal !== undefined) out.push(`#${ordinal}`);
    }
  }
  flush(undefined);
  return out;
}

/** Capitalised words that are not the first word of a sentence, and acronyms anywhere. */
export function extractNames(prompt: string): string[] {
  const letters = prompt.replace(/[^\p{L}]/gu, '');
  const upper = letters.replace(/[^\p{Lu}]/gu, '');
  if (letters.length > 0 && upper.length / letters.length > 0.6) return []; // a SHOUTED prompt has no case signal
  const out: string[] = [];
  const pattern = /[\p{L}][\p{L}\p{N}'’-]*/gu;
  for (const match of prompt.matchAll(pattern)) {
    const word = match[0].replace(/['’]s$/u, '');
    const index = match.index ?? 0;
    if (word === 'I' || /^I['’]/u.test(word)) continue;
    const acronym = word.length >= 2 && word === word.toUpperCase() && /\p{Lu}/u.test(word);
    const innerCapital = /^\p{L}.*\p{Lu}/u.test(word) && /\p{Ll}/u.test(word);
    const capitalised = /^\p{Lu}/u.test(word);
    if (acronym || innerCapital || (capitalised && !atSentenceStart(prompt, index))) out.push(word.toLowerCase());
  }
  return out;
}

function atSentenceStart(text: string, index: number): boolean {
  const before = text.slice(0, index).replace(/[\s"'“‘(\[*#>-]+$/u, '');
  return before === '' || /[.!?:;\n]$/u.test(before) || /\n\s*(\d+[.)]|[-*•])?\s*$/u.test(text.slice(0, index));
}

/** Code-looking tokens, lower-cased. */
export function extractIdentifiers(prompt: string): string[] {
  const out: string[] = [];
  const add = (token: string): void => {
    const cleaned = token.replace(/\(\)$/, '').toLowerCase();
    if (cleaned !== '' && !/^(e\.g|i\.e|etc|vs)$/.test(cleaned)) out.push(cleaned);
  };
  for (const match of prompt.matchAll(/`([^`]+)`/g)) {
    for (const part of (match[1] ?? '').toLowerCase().match(/[\p{L}\p{N}_$]+(?:[./-][\p{L}\p{N}_$]+)*/gu) ?? []) add(part);
  }
  const patterns = [
    /\b[a-z]+[A-Z][A-Za-z0-9]*\b/g, // camelCase
    /\b[A-Z][a-z0-9]+[A-Z][A-Za-z0-9]*\b/g, // PascalCase with two humps
    /\b[A-Za-z0-9]*_[A-Za-z0-9_]+\b/g, // snake_case, __dunder__
    /\b[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+\b/g, // dotted.path, file.ext
    /(?<![\w-])--?[A-Za-z][\w-]*/g, // --flags
    /\b[A-Za-z]+\d+[A-Za-z0-9]*\b/g, // ES2020, utf8, gpt4
    /(?:\.{1,2})?\/[\w.-]+(?:\/[\w.-]+)*/g, // /paths and ./paths
  ];
  for (const pattern of patterns) for (const match of prompt.matchAll(pattern)) add(match[0]);
  return out;
}

/** The words inside "double quotes" (single quotes are too often apostrophes). */
function extractQuoted(lower: string): string[] {
  const out: string[] = [];
  for (const match of lower.matchAll(/["“]([^"”]{1,200})["”]/g)) {
    for (const word of match[1]?.match(/[\p{L}\p{N}]+/gu) ?? []) out.push(word);
  }
  return out;
}
