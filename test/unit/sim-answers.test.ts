import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { composeAnswer, pathIn, preferredTool, sampleInput, splitText, textPieces } from '../../src/sim/answer.js';
import { goDuration, retryAfterSeconds, rfc3339Seconds } from '../../src/sim/formats.js';
import { anthropicPrompt, openaiPrompt, IMAGE_TOKENS } from '../../src/sim/prompt.js';

describe('simulator wire formats', () => {
  it('formats durations like Go', () => {
    assert.equal(goDuration(0), '0s');
    assert.equal(goDuration(12), '12ms');
    assert.equal(goDuration(1000), '1s');
    assert.equal(goDuration(1772), '1.772s');
    assert.equal(goDuration(360_000), '6m0s');
    assert.equal(goDuration(3_723_500), '1h2m3.5s');
  });

  it('formats reset times as second-precision RFC 3339, rounded up', () => {
    assert.equal(rfc3339Seconds(Date.UTC(2025, 7, 21, 12, 40, 58, 1)), '2025-08-21T12:40:59Z');
  });

  it('retry-after is whole seconds, at least 1', () => {
    assert.equal(retryAfterSeconds(1), 1);
    assert.equal(retryAfterSeconds(1001), 2);
    assert.equal(retryAfterSeconds(0), 1);
  });
});

describe('simulator prompts and answers', () => {
  it('counts ceil(chars/4) over system, messages and tools, plus a fixed amount per image', () => {
    const facts = anthropicPrompt({
      system: 'abcd',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'abcdefgh' }, { type: 'image', source: {} }] }],
    });
    assert.equal(facts.inputTokens, 3 + IMAGE_TOKENS);
    const withTools = anthropicPrompt({ messages: [{ role: 'user', content: 'abcd' }], tools: [{ name: 't' }] });
    assert.equal(withTools.inputTokens, Math.ceil((4 + JSON.stringify([{ name: 't' }]).length) / 4));
  });

  it('notices a tool result in the last message', () => {
    assert.equal(openaiPrompt({ messages: [{ role: 'user', content: 'q' }, { role: 'tool', content: '42 apples' }] }).toolResult, '42 apples');
    assert.equal(openaiPrompt({ messages: [{ role: 'user', content: 'q' }] }).toolResult, undefined);
  });

  it('same hash, same answer; 12 to 48 words; one word per token', () => {
    const a = composeAnswer({ hash: 123, maxTokens: Infinity });
    assert.deepEqual(composeAnswer({ hash: 123, maxTokens: Infinity }), a);
    assert.ok(a.words.length >= 12 && a.words.length <= 48);
    assert.equal(a.outputTokens, a.words.length);
    assert.equal(a.stop, 'end');
    assert.notDeepEqual(composeAnswer({ hash: 124, maxTokens: Infinity }).words, a.words);
  });

  it('max_tokens cuts the answer', () => {
    const a = composeAnswer({ hash: 5, maxTokens: 4, fixedLength: 10 });
    assert.equal(a.outputTokens, 4);
    assert.equal(a.stop, 'max_tokens');
  });

  it('builds tool input from the schema', () => {
    const input = sampleInput(
      {
        type: 'object',
        properties: {
          city: { type: 'string' },
          unit: { enum: ['c', 'f'] },
          n: { type: 'integer', minimum: 3, maximum: 5 },
          ok: { type: 'boolean' },
          tags: { type: 'array', items: { type: 'string' } },
          where: { type: 'object', properties: { lat: { type: 'number' } } },
        },
      },
      7,
    );
    assert.equal(typeof input['city'], 'string');
    assert.equal(input['unit'], 'c');
    assert.ok(typeof input['n'] === 'number' && input['n'] >= 3 && input['n'] <= 5);
    assert.equal(input['ok'], true);
    assert.ok(Array.isArray(input['tags']) && input['tags'].length === 1);
    assert.equal(typeof (input['where'] as Record<string, unknown>)['lat'], 'number');
  });

  it('splits text into pieces that join back', () => {
    const words = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const pieces = textPieces(words);
    assert.ok(pieces.length >= 3);
    assert.equal(pieces.join(''), words.join(' '));
    const json = JSON.stringify({ city: 'Paris', unit: 'celsius' });
    const parts = splitText(json, 4);
    assert.equal(parts.length, 4);
    assert.equal(parts.join(''), json);
  });
});

describe('the simulated model drives an agent tool round trip', () => {
  const readSchema = { type: 'object', properties: { file_path: { type: 'string' }, offset: { type: 'integer' } }, required: ['file_path'] };

  it('calls the tool the prompt names, not the first one offered', () => {
    const tools = [{ name: 'Agent' }, { name: 'Bash' }, { name: 'Read' }];
    assert.equal(preferredTool(tools, (t) => t.name, 'Use the Read tool to read /tmp/x/notes.txt')?.name, 'Read');
    assert.equal(preferredTool(tools, (t) => t.name, 'Say hi')?.name, 'Agent');
  });

  it('passes the path the prompt mentions, and leaves optional knobs alone', () => {
    assert.equal(pathIn('read /tmp/spillway-claude-1/notes.txt and tell me.'), '/tmp/spillway-claude-1/notes.txt');
    assert.equal(pathIn('no path here'), undefined);
    const answer = composeAnswer({ hash: 7, maxTokens: 500, tool: { name: 'Read', schema: readSchema, request: 'Read /srv/notes.txt please' } });
    assert.deepEqual(answer.tool?.input, { file_path: '/srv/notes.txt' });
  });

  it('reads the prompt and the tool result past system messages between turns (Anthropic) and words after tool results (OpenAI)', () => {
    const anthropic = anthropicPrompt({
      messages: [
        { role: 'user', content: [{ type: 'text', text: '<system-reminder>Agent tools</system-reminder>' }, { type: 'text', text: 'Read /srv/a.txt' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'Read', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'secret' }] },
        { role: 'system', content: 'Be brief.' },
      ],
    });
    assert.equal(anthropic.toolResult, 'secret');
    assert.equal(anthropic.request, 'Read /srv/a.txt');
    const openai = openaiPrompt({
      messages: [
        { role: 'user', content: 'Read /srv/a.txt' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'Read', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c', content: 'secret' },
        { role: 'user', content: 'reminder' },
        { role: 'system', content: 'Be brief.' },
      ],
    });
    assert.equal(openai.toolResult, 'secret');
  });
});
