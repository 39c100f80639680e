/**
 * Prompt merging as pure functions (src/merge): which requests may share a call, how they group,
 * the merged request, and reading its answer back — with every doubt a failure, and usage shares
 * that sum to exactly what the provider counted.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PivotAnswer, PivotRequest } from '../../src/pivot/index.js';
import { apportion, groupKey, ineligibility, partnerWaitMs, selectGroups, type Candidate, type MergePolicy } from '../../src/merge/policy.js';
import { buildMergedRequest, MERGE_TOOL, PROMPTS_MARKER } from '../../src/merge/prompt.js';
import { readItems, splitAnswer } from '../../src/merge/split.js';

const policy: MergePolicy = { max: 5, maxInputTokens: 400 };

function request(prompt: string, extra: Record<string, unknown> = {}): PivotRequest {
  return {
    model: 'm',
    messages: [
      { role: 'system', content: 'Classify.' },
      { role: 'user', content: prompt },
    ],
    max_completion_tokens: 50,
    ...extra,
  } as PivotRequest;
}

function answerWith(args: string, extra: { finish?: string; usage?: { prompt_tokens: number; completion_tokens: number } | null; refusal?: string } = {}): PivotAnswer {
  return {
    id: 'chatcmpl-x',
    object: 'chat.completion',
    created: 1,
    model: 'm',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: null, refusal: extra.refusal ?? null, tool_calls: [{ id: 'c1', type: 'function', function: { name: MERGE_TOOL, arguments: args } }] },
        logprobs: null,
        finish_reason: (extra.finish ?? 'tool_calls') as 'tool_calls',
      },
    ],
    ...(extra.usage === null ? {} : { usage: { ...(extra.usage ?? { prompt_tokens: 101, completion_tokens: 37 }), total_tokens: 0 } }),
  } as PivotAnswer;
}

const list = (entries: Array<[string, string]>) => JSON.stringify({ answers: entries.map(([id, answer]) => ({ id, answer })) });

describe('merge policy', () => {
  test('plain small requests qualify; tools, streaming, structured output, long prompts and non-text last messages do not', () => {
    assert.equal(ineligibility(request('hi'), policy), undefined);
    assert.equal(ineligibility(request('hi', { tools: [{ type: 'function', function: { name: 'f' } }] }), policy), 'tools');
    assert.equal(ineligibility(request('hi', { stream: true }), policy), 'stream');
    assert.equal(ineligibility(request('hi', { response_format: { type: 'json_object' } }), policy), 'response_format');
    assert.equal(ineligibility(request('hi', { n: 1 }), policy), undefined);
    assert.equal(ineligibility(request('hi', { n: 2 }), policy), 'n');
    assert.equal(ineligibility(request('x'.repeat(2000)), policy), 'too long');
    assert.equal(ineligibility(request('hi'), { max: 1, maxInputTokens: 400 }), 'merging off');
    const image = request('hi');
    image.messages[1] = { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:,' } }] };
    assert.ok(ineligibility(image, policy));
    const assistantLast = request('hi');
    assistantLast.messages.push({ role: 'assistant', content: 'prefill' });
    assert.ok(ineligibility(assistantLast, policy));
  });

  test('requests group when all but the last message is equal, whatever the key order', () => {
    const a = request('one', { temperature: 0 });
    const b = { max_completion_tokens: 50, temperature: 0, messages: [{ role: 'system', content: 'Classify.' }, { role: 'user', content: 'two' }], model: 'm' } as PivotRequest;
    assert.equal(groupKey(a), groupKey(b));
    assert.notEqual(groupKey(a), groupKey(request('one', { temperature: 1 })));
    assert.notEqual(groupKey(a), groupKey({ ...a, messages: [{ role: 'system', content: 'Other.' }, a.messages[1]!] } as PivotRequest));
  });

  test('groups hold at most max, keep arrival order, never cross scopes, and leave the ineligible alone', () => {
    const candidates: Array<Candidate<string>> = [];
    for (let i = 0; i < 12; i++) candidates.push({ item: `a${i}`, request: request(`a${i}`), scope: 'batch-1', policy });
    candidates.push({ item: 'other-scope', request: request('x'), scope: 'batch-2', policy });
    candidates.push({ item: 'tools', request: request('y', { tools: [{}] }), scope: 'batch-1', policy });
    candidates.push({ item: 'unreadable', request: undefined, scope: 'batch-1', policy });
    candidates.push({ item: 'no-policy', request: request('z'), scope: 'batch-1', policy: undefined });
    const groups = selectGroups(candidates);
    assert.deepEqual(groups, [
      ['a0', 'a1', 'a2', 'a3', 'a4'],
      ['a5', 'a6', 'a7', 'a8', 'a9'],
      ['a10', 'a11'],
      ['other-scope'],
      ['tools'],
      ['unreadable'],
      ['no-policy'],
    ]);
  });

  test('waiting for partners: the window, never more than half the deadline, nothing when there is no time', () => {
    assert.equal(partnerWaitMs(20, 120_000), 20);
    assert.equal(partnerWaitMs(20, 30), 15);
    assert.equal(partnerWaitMs(20, 0), 0);
  });

  test('apportion: integer parts in proportion that sum to exactly the total', () => {
    assert.deepEqual(apportion(10, [1, 1, 1]), [4, 3, 3]);
    assert.deepEqual(apportion(7, [0, 0]), [4, 3]);
    assert.deepEqual(apportion(100, [1, 3]), [25, 75]);
    for (const total of [0, 1, 13, 997]) {
      const weights = [3, 17, 0, 5, 9];
      assert.equal(apportion(total, weights).reduce((a, b) => a + b, 0), total);
    }
  });
});

describe('merged request', () => {
  test('keeps the shared conversation, lists the prompts as JSON and forces the answers function', () => {
    const merged = buildMergedRequest([request('first "quoted"'), request('second\nline')]) as unknown as Record<string, unknown>;
    const messages = merged['messages'] as Array<{ role: string; content: string }>;
    assert.deepEqual(messages[0], { role: 'system', content: 'Classify.' });
    assert.equal(messages.length, 2);
    const last = messages[1]!.content;
    const prompts = JSON.parse(last.slice(last.indexOf(PROMPTS_MARKER) + PROMPTS_MARKER.length)) as unknown;
    assert.deepEqual(prompts, [
      { id: 'p1', prompt: 'first "quoted"' },
      { id: 'p2', prompt: 'second\nline' },
    ]);
    assert.match(last, /at most 50 tokens/);
    assert.deepEqual(merged['tool_choice'], { type: 'function', function: { name: MERGE_TOOL } });
    assert.equal((merged['tools'] as unknown[]).length, 1);
    assert.ok((merged['max_completion_tokens'] as number) >= 100, 'room for every answer');
    assert.equal(merged['stream'], false);
  });
});

describe('splitting the answer', () => {
  const members = [
    { promptWeight: 10, maxTokens: 50 },
    { promptWeight: 30, maxTokens: 50 },
  ];

  test('one answer per member, in member order whatever the order of the list, usage summing to the upstream count', () => {
    const split = splitAnswer(answerWith(list([['p2', 'negative, quite long answer'], ['p1', 'positive']])), members);
    assert.ok(split.ok);
    assert.deepEqual(split.answers.map((a) => a.choices[0]!.message.content), ['positive', 'negative, quite long answer']);
    const inputs = split.answers.map((a) => a.usage!.prompt_tokens);
    const outputs = split.answers.map((a) => a.usage!.completion_tokens);
    assert.equal(inputs[0]! + inputs[1]!, 101);
    assert.equal(outputs[0]! + outputs[1]!, 37);
    assert.ok(inputs[1]! > inputs[0]!, 'input by prompt size');
    assert.ok(outputs[1]! > outputs[0]!, 'output by answer length');
    assert.equal(split.answers[0]!.choices[0]!.finish_reason, 'stop');
  });

  test('every doubt is a failure: missing, extra or unknown items, invalid JSON, wrong shape, refusal, cut off, no usage', () => {
    const cases: Array<[PivotAnswer, string]> = [
      [answerWith(list([['p1', 'a']])), 'missing_items'],
      [answerWith(list([['p1', 'a'], ['p2', 'b'], ['p3', 'c']])), 'extra_items'],
      [answerWith(list([['p1', 'a'], ['p9', 'b']])), 'ids_mismatch'],
      [answerWith(list([['p1', 'a'], ['p1', 'b']])), 'ids_mismatch'],
      [answerWith('{"answers": [{"id": "p1", "ans'), 'invalid_json'],
      [answerWith(JSON.stringify({ answers: 'p1: a; p2: b' })), 'bad_shape'],
      [answerWith(JSON.stringify({ answers: [{ id: 'p1', answer: 3 }, { id: 'p2', answer: 'b' }] })), 'bad_shape'],
      [answerWith(list([['p1', 'a'], ['p2', 'b']]), { refusal: 'I cannot help' }), 'refusal'],
      [answerWith(list([['p1', 'a'], ['p2', 'b']]), { finish: 'content_filter' }), 'refusal'],
      [answerWith(list([['p1', 'a'], ['p2', 'b']]), { finish: 'length' }), 'max_tokens'],
      [answerWith(list([['p1', 'a'], ['p2', 'b']]), { usage: null }), 'no_usage'],
      // One answer's share reaches its own cap: alone it might have been cut off.
      [answerWith(list([['p1', 'x'.repeat(400)], ['p2', 'b']]), { usage: { prompt_tokens: 10, completion_tokens: 60 } }), 'max_tokens'],
    ];
    for (const [answer, reason] of cases) {
      const split = splitAnswer(answer, members);
      assert.deepEqual(split, { ok: false, reason }, JSON.stringify(answer.choices[0]!.message));
    }
    const prose = answerWith('');
    prose.choices[0]!.message.tool_calls = [];
    prose.choices[0]!.message.content = 'p1: a, p2: b';
    assert.deepEqual(readItems(prose, 2), { ok: false, reason: 'no_call' });
  });
});
