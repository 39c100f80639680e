/**
 * Issue 20: the semantic cache never answers a prompt with the answer to another question made
 * from the same words (swapped entities, source and target, subject and object; another unit,
 * quantity, language, comparative, tense, date, negation, identifier, topic; an added demand), on
 * the rule-made pairs of test/fixtures/semantic/generated.json, and serves their paraphrases.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HashedEmbedder } from '../../src/cache/semantic/hashed-embedder.js';
import { checkGuard, guardFeatures } from '../../src/cache/semantic/guard.js';
import { SemanticCache } from '../../src/cache/semantic/semantic-cache.js';
import type { KeyInput } from '../../src/cache/key.js';
import { generated, type LabelledPair } from '../fixtures/semantic/labelled.js';

const request = (prompt: string): KeyInput => ({
  surface: 'openai',
  scope: '',
  plan: 'openai/gpt-test',
  body: { temperature: 0, messages: [{ role: 'user', content: prompt }] },
});

/** Whether the cache, having answered a, serves b (and, the other way round, b then a). */
async function served(pair: LabelledPair): Promise<boolean[]> {
  const out: boolean[] = [];
  for (const [first, second] of [[pair.a, pair.b], [pair.b, pair.a]] as const) {
    const cache = new SemanticCache({ embedder: new HashedEmbedder() });
    await cache.remember(request(first), 'answer', 0);
    out.push((await cache.lookup(request(second), 1)) !== undefined);
  }
  return out;
}

describe('the rule-made prompt pairs (built-in embedder, default threshold)', () => {
  const pairs = generated();
  const classes = [...new Set(pairs.map((pair) => `${pair.label}/${pair.kind}`))].sort();

  it('hold hundreds of pairs, each tagged with the rule that made it', () => {
    assert.ok(pairs.length >= 500, `${pairs.length} pairs`);
    assert.ok(classes.filter((name) => name.startsWith('must_not_hit/')).length >= 12);
    assert.ok(classes.filter((name) => name.startsWith('should_hit/')).length >= 5);
  });

  for (const name of classes.filter((name) => name.startsWith('must_not_hit/'))) {
    it(`${name}: no pair is served the other's answer, either way round`, async () => {
      const falseHits: string[] = [];
      for (const pair of pairs.filter((pair) => `${pair.label}/${pair.kind}` === name)) {
        if ((await served(pair)).some(Boolean)) falseHits.push(`${pair.a} | ${pair.b}`);
      }
      assert.deepEqual(falseHits, []);
    });
  }

  it('serves paraphrases (recall printed per class)', async () => {
    let hits = 0;
    let total = 0;
    for (const name of classes.filter((name) => name.startsWith('should_hit/'))) {
      const members = pairs.filter((pair) => `${pair.label}/${pair.kind}` === name);
      let classHits = 0;
      for (const pair of members) if ((await served(pair))[0]) classHits += 1;
      console.log(`  ${name.padEnd(28)} recall ${classHits}/${members.length}`);
      hits += classHits;
      total += members.length;
    }
    console.log(`  paraphrase recall ${hits}/${total}`);
    assert.ok(hits / total >= 0.9, `recall ${hits}/${total}`);
  });
});

describe('the guard reads roles and order, not just words', () => {
  const refuses = (a: string, b: string): string | undefined => {
    const verdict = checkGuard(guardFeatures(a), guardFeatures(b));
    return verdict.pass ? undefined : verdict.reason;
  };

  it('refuses swapped entities, source and target, subject and object', () => {
    assert.equal(refuses('advantages of tea over coffee', 'advantages of coffee over tea'), 'role');
    assert.equal(refuses('is 5 greater than 3', 'is 3 greater than 5'), 'role');
    assert.equal(refuses('convert yaml to json', 'convert json to yaml'), 'role');
    assert.equal(refuses('count from 10 to 1', 'count from 1 to 10'), 'role');
    assert.equal(refuses('why does the cat chase the dog', 'why does the dog chase the cat'), 'order');
  });

  it('refuses another target, comparison, tense or an added demand', () => {
    assert.equal(refuses('translate hello into french', 'translate hello into german'), 'argument');
    assert.equal(refuses('is rust more expensive than go', 'is rust less expensive than go'), 'polarity');
    assert.equal(refuses('is tea healthier than coffee', 'is tea tastier than coffee'), 'comparison');
    assert.equal(refuses('who is the ceo of acme', 'who was the ceo of acme'), 'tense');
    assert.equal(refuses("what's the plan", "what'll the plan be"), 'tense');
    assert.equal(refuses('how do I parse a csv file', 'how do I parse a csv file and count the rows in each column'), 'addition');
    assert.equal(refuses('explain recursion to a lawyer', 'explain plate tectonics to a lawyer'), 'substitution');
  });

  it('lets through clause order, infinitives and filler that keep every role', () => {
    assert.equal(refuses('In Rust, how do I read a file line by line?', 'How do I read a file line by line in Rust?'), undefined);
    assert.equal(refuses('Using Go, parse a date.', 'Parse a date using Go.'), undefined);
    assert.equal(refuses('How to sort a list by value', 'How do I sort a list by value?'), undefined);
    assert.equal(refuses('Explain recursion to a beginner', 'Could you please explain recursion to a beginner? Thanks!'), undefined);
  });
});
