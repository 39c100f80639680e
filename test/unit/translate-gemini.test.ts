import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SseParser } from '../../src/protocol/sse.js';
import { bridge } from '../support/bridge.js';
import { GeminiToOpenAIChunks, geminiToOpenAIResponse, openAIToGeminiRequest, SKIP_THOUGHT_SIGNATURE } from '../../src/providers/gemini/translate.js';

describe('OpenAI request → Gemini generateContent', () => {
  it('system, history, tool calls and results, tools and config', () => {
    const { request, dropped } = openAIToGeminiRequest({
      model: 'gemini-2.5-flash',
      max_tokens: 100,
      temperature: 0.5,
      stop: 'END',
      response_format: { type: 'json_object' },
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', additionalProperties: false } } }],
      messages: [
        { role: 'system', content: 'Be terse.' },
        { role: 'user', content: [{ type: 'text', text: 'Weather?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }, { id: 'c2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'Sunny' },
        { role: 'tool', tool_call_id: 'c2', content: '{"tempC":18}' },
      ],
    });
    assert.deepEqual(request.systemInstruction, { parts: [{ text: 'Be terse.' }] });
    assert.deepEqual(request.contents[0], { role: 'user', parts: [{ text: 'Weather?' }, { inlineData: { mimeType: 'image/png', data: 'AAAA' } }] });
    assert.equal(request.contents[1]!.role, 'model');
    assert.equal(request.contents[1]!.parts[0]!.thoughtSignature, SKIP_THOUGHT_SIGNATURE);
    assert.equal(request.contents[1]!.parts[1]!.thoughtSignature, undefined, 'only the first call of a step carries one');
    // Both results in one user turn: Gemini wants one response part per call part.
    assert.deepEqual(request.contents[2], {
      role: 'user',
      parts: [
        { functionResponse: { name: 'get_weather', response: { output: 'Sunny' } } },
        { functionResponse: { name: 'get_weather', response: { tempC: 18 } } },
      ],
    });
    assert.deepEqual(request.tools?.[0]?.functionDeclarations[0]?.parametersJsonSchema, { type: 'object', additionalProperties: false });
    assert.deepEqual(request.toolConfig, { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } });
    assert.deepEqual(request.generationConfig, { maxOutputTokens: 100, temperature: 0.5, stopSequences: ['END'] });
    assert.deepEqual(dropped, ['response_format']);
  });
});

describe('Gemini answers → OpenAI', () => {
  it('a function call is a tool_calls finish even though Gemini says STOP; thinking tokens count as output', () => {
    const out = geminiToOpenAIResponse(
      {
        candidates: [{ content: { role: 'model', parts: [{ text: 'thinking…', thought: true }, { functionCall: { name: 'getWeather', args: { location: 'Tokyo' } }, thoughtSignature: 'sig' }] }, finishReason: 'STOP' }],
        usageMetadata: { promptTokenCount: 83, candidatesTokenCount: 14, thoughtsTokenCount: 104, totalTokenCount: 201 },
        responseId: 'r1',
      },
      { model: 'claude-x', now: 0 },
    );
    const choice = out.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    assert.equal(choice.message.tool_calls?.[0]?.function.arguments, '{"location":"Tokyo"}');
    assert.deepEqual([out.usage?.prompt_tokens, out.usage?.completion_tokens], [83, 118]);
    assert.equal(out.model, 'claude-x');
  });

  it('a blocked prompt (200, no candidates) is a content_filter finish', () => {
    assert.equal(geminiToOpenAIResponse({ promptFeedback: { blockReason: 'SAFETY' } }, { model: 'm', now: 0 }).choices[0]!.finish_reason, 'content_filter');
  });
});

const geminiSse = [
  'data: {"candidates":[{"content":{"parts":[{"text":"Hel"}],"role":"model"}}],"usageMetadata":{"promptTokenCount":5},"responseId":"r"}\r\n\r\n',
  'data: {"candidates":[{"content":{"parts":[{"text":"lo"}],"role":"model"}}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":2},"responseId":"r"}\n\n',
  'data: {"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"a":1}}}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":9},"responseId":"r"}\n\n',
].join('');

describe('Gemini stream → client streams', () => {
  it('OpenAI chunks, with a JSON fragment split across every possible read', () => {
    for (let cut = 1; cut < geminiSse.length; cut += 7) {
      const parser = new SseParser();
      const chunks = new GeminiToOpenAIChunks({ model: 'm', now: 0, includeUsage: true });
      const events = [...parser.push(geminiSse.slice(0, cut)), ...parser.push(geminiSse.slice(cut)), ...parser.end()].flatMap((e) => chunks.push(e));
      events.push(...chunks.end());
      const parsed = events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data) as { choices: Array<{ delta: { content?: string; tool_calls?: unknown[] }; finish_reason: string | null }>; usage?: { completion_tokens: number } });
      assert.equal(parsed.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'Hello');
      assert.equal(parsed.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []).length, 1);
      assert.equal(parsed.find((c) => c.choices[0]?.finish_reason)?.choices[0]?.finish_reason, 'tool_calls');
      assert.equal(parsed.at(-1)?.usage?.completion_tokens, 9);
      assert.equal(events.at(-1)?.data, '[DONE]');
    }
  });

  it('Anthropic events through the bridge; a stream cut before its finish reason ends in an error event', () => {
    const toAnthropic = bridge('anthropic', 'gemini', { requestedModel: 'claude-x' });
    const whole = toAnthropic.stream(0);
    const text = whole.push(Buffer.from(geminiSse)) + whole.end();
    const names = new SseParser().push(text).map((e) => e.event);
    assert.equal(names[0], 'message_start');
    assert.equal(names.at(-1), 'message_stop');
    assert.match(text, /"stop_reason":"tool_use"/);
    assert.deepEqual(whole.usage(), { inputTokens: 5, outputTokens: 9, finishReasons: ['STOP'] });

    const cut = toAnthropic.stream(0);
    const partial = cut.push(Buffer.from(geminiSse.slice(0, 200))) + cut.end();
    assert.equal(new SseParser().push(partial).at(-1)?.event, 'error');
  });

  it('Gemini errors in the caller\'s shape', () => {
    const body = JSON.stringify({ error: { code: 429, message: 'quota', status: 'RESOURCE_EXHAUSTED' } });
    const anthropic = bridge('anthropic', 'gemini', { requestedModel: 'm' }).error(429, body);
    assert.equal(anthropic.status, 429);
    assert.equal((JSON.parse(anthropic.body) as { error: { type: string } }).error.type, 'rate_limit_error');
    const openai = bridge('openai', 'gemini', { requestedModel: 'm' }).error(503, `[${JSON.stringify({ error: { code: 503, message: 'overloaded', status: 'UNAVAILABLE' } })}]`);
    assert.equal((JSON.parse(openai.body) as { error: { message: string } }).error.message, 'overloaded');
  });
});
