/**
 * Code-aware cache keys (issue 17): with `cache.exact.normalize_code`, fenced code blocks are keyed
 * by their syntax tree (tree-sitter, WebAssembly grammars from the npm packages).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { codeNormalizer, type CodeNormalizer } from '../../src/cache/code-normalizer.js';
import { exactKey, type KeyInput } from '../../src/cache/key.js';

let normalize: CodeNormalizer;
before(async () => {
  normalize = await codeNormalizer();
});

const prompt = (code: string, lang = 'js') => `Why does this return NaN?\n\n\`\`\`${lang}\n${code}\n\`\`\`\n\nPlease explain briefly.`;

const compact = `function total(items) { // sum the prices
  return items.reduce((sum, item) => sum + item.price, 0); }`;
const spread = `/**
 * Adds up the prices.
 */
function total(items) {
    return items.reduce(
        (sum, item) => sum + item.price,
        0,
    );
}`.replace(',\n    );', '\n    );');

function keyOf(text: string, withNormalizer = true): string {
  const input: KeyInput = {
    surface: 'anthropic',
    scope: 'owner',
    plan: 'anthropic/claude-sonnet-4-5',
    body: { max_tokens: 256, temperature: 0, messages: [{ role: 'user', content: [{ type: 'text', text: text }] }] },
    ...(withNormalizer ? { normalizeText: normalize } : {}),
  };
  return exactKey(input);
}

describe('code-aware cache keys', () => {
  it('the same function in two formattings and with different comments is one key', () => {
    assert.equal(keyOf(prompt(compact)), keyOf(prompt(spread)));
  });

  it('a changed identifier or literal is another key', () => {
    const key = keyOf(prompt(compact));
    assert.notEqual(keyOf(prompt(compact.replace('item.price', 'item.cost'))), key, 'identifier');
    assert.notEqual(keyOf(prompt(compact.replace(', 0)', ', 1)'))), key, 'number literal');
    assert.notEqual(keyOf(prompt(compact.replace('sum + item', 'sum - item'))), key, 'operator');
  });

  it('Python: indentation is structure, so moving a line out of a block is another key; comments and spacing are not', () => {
    const inside = 'def f(xs):\n    for x in xs:\n        print(x)\n        log(x)\n';
    assert.equal(keyOf(prompt(inside, 'python')), keyOf(prompt('def f( xs ):  # loop\n  for x in xs:\n    print( x )\n    # then\n    log(x)', 'python')));
    assert.notEqual(keyOf(prompt(inside, 'python')), keyOf(prompt('def f(xs):\n    for x in xs:\n        print(x)\n    log(x)\n', 'python')));
    assert.notEqual(keyOf(prompt(inside, 'python')), keyOf(prompt(inside.replace('print(x)', "print('x')"), 'python')), 'string literal');
  });

  it('text outside the fences stays exact, and so does code in a language the parser does not know', () => {
    assert.notEqual(keyOf(prompt(compact)), keyOf(prompt(compact).replace('Please explain briefly.', 'Please  explain briefly.')));
    assert.notEqual(keyOf(prompt('SELECT a FROM t', 'sql')), keyOf(prompt('SELECT  a FROM t', 'sql')));
    assert.equal(normalize(prompt('SELECT a FROM t', 'sql')), prompt('SELECT a FROM t', 'sql'));
  });

  it('code that does not parse is kept verbatim: a broken block is not merged with another', () => {
    const broken = 'function f( { return 1 }';
    assert.equal(normalize(prompt(broken)), prompt(broken));
    assert.notEqual(keyOf(prompt(broken)), keyOf(prompt('function f( {  return 1 }')));
  });

  it('without the option, formatting splits entries as before', () => {
    assert.notEqual(keyOf(prompt(compact), false), keyOf(prompt(spread), false));
  });
});
