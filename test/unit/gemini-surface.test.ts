/**
 * The Gemini surface's translation to and from the pivot (src/surfaces/gemini/): requests as
 * @google/genai and Gemini CLI send them, answers and streams as the SDK reads them, errors in
 * Google's shape.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PivotAnswer } from '../../src/pivot/index.js';
import { googleError, pivotErrorToGemini, pivotToGeminiAnswer, PivotToGeminiStream } from '../../src/surfaces/gemini/answer.js';
import { parseGeminiEmbedding, GeminiRequestFault } from '../../src/surfaces/gemini/embeddings.js';
import { geminiToPivotRequest, jsonSchemaOf } from '../../src/surfaces/gemini/request.js';

describe('Gemini request → pivot', () => {
  it('system instruction, user/model turns, generation config and inline images', () => {
    const { request, dropped } = geminiToPivotRequest(
      {
        systemInstruction: { parts: [{ text: 'Be brief.' }] },
        contents: [
          { role: 'user', parts: [{ text: 'What is this?' }, { inlineData: { mimeType: 'image/png', data: 'iVBORw0' } }] },
          { role: 'model', parts: [{ text: 'thinking…', thought: true }, { text: 'A cat.' }] },
          { role: 'user', parts: [{ text: 'Sure?' }] },
        ],
        generationConfig: { maxOutputTokens: 100, temperature: 0.2, topP: 0.9, topK: 40, stopSequences: ['END'], thinkingConfig: { thinkingBudget: 2048 } },
        safetySettings: [{ category: 'HARM_CATEGORY_HATE_SPEECH', threshold: 'BLOCK_NONE' }],
      },
      'gemini-2.5-flash',
    );
    assert.deepEqual(request.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0' } }] },
      { role: 'assistant', content: 'A cat.' },
      { role: 'user', content: 'Sure?' },
    ]);
    assert.equal(request.max_completion_tokens, 100);
    assert.equal(request.temperature, 0.2);
    assert.equal(request.top_p, 0.9);
    assert.equal(request.top_k, 40);
    assert.deepEqual(request.stop, ['END']);
    assert.equal(request.reasoning_effort, 'medium');
    assert.deepEqual(dropped.sort(), ['safetySettings']);
  });

  it('function calls without ids get stable ids, and each functionResponse answers the oldest open call of its name', () => {
    const body = {
      contents: [
        { role: 'user', parts: [{ text: 'Weather in Paris and Rome?' }] },
        { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }, { functionCall: { name: 'get_weather', args: { city: 'Rome' } } }] },
        {
          role: 'user',
          parts: [
            { functionResponse: { name: 'get_weather', response: { output: 'sunny' } } },
            { functionResponse: { name: 'get_weather', response: { temp: 21 } } },
            { text: 'Thanks' },
          ],
        },
      ],
    };
    const { request } = geminiToPivotRequest(body, 'm');
    const assistant = request.messages[1] as { tool_calls: Array<{ id: string; function: { name: string; arguments: string } }> };
    const [paris, rome] = assistant.tool_calls;
    assert.notEqual(paris!.id, rome!.id);
    assert.equal(paris!.function.arguments, '{"city":"Paris"}');
    assert.deepEqual(request.messages.slice(2), [
      { role: 'tool', tool_call_id: paris!.id, content: 'sunny' },
      { role: 'tool', tool_call_id: rome!.id, content: '{"temp":21}' },
      { role: 'user', content: 'Thanks' },
    ]);
    // Same request, same ids: a cache key and a retried request see the same body.
    assert.deepEqual(geminiToPivotRequest(body, 'm').request, request);
  });

  it('ids Gemini gave are kept on both sides', () => {
    const { request } = geminiToPivotRequest(
      {
        contents: [
          { role: 'model', parts: [{ functionCall: { id: 'fc-1', name: 'f', args: {} } }] },
          { role: 'user', parts: [{ functionResponse: { id: 'fc-1', name: 'f', response: { ok: true } } }] },
        ],
      },
      'm',
    );
    assert.equal((request.messages[0] as { tool_calls: Array<{ id: string }> }).tool_calls[0]!.id, 'fc-1');
    assert.equal((request.messages[1] as { tool_call_id: string }).tool_call_id, 'fc-1');
  });

  it('function declarations with OpenAPI-subset schemas become JSON Schema tools; toolConfig becomes tool_choice', () => {
    const { request } = geminiToPivotRequest(
      {
        contents: [{ role: 'user', parts: [{ text: 'hi' }] }],
        tools: [{ functionDeclarations: [{ name: 'f', description: 'does f', parameters: { type: 'OBJECT', properties: { a: { type: 'ARRAY', items: { type: 'STRING' } } }, propertyOrdering: ['a'] } }] }],
        toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['f'] } },
      },
      'm',
    );
    assert.deepEqual(request.tools, [
      { type: 'function', function: { name: 'f', description: 'does f', parameters: { type: 'object', properties: { a: { type: 'array', items: { type: 'string' } } } } } },
    ]);
    assert.deepEqual(request.tool_choice, { type: 'function', function: { name: 'f' } });
  });

  it('responseMimeType/responseSchema ask for JSON', () => {
    const { request } = geminiToPivotRequest(
      { contents: [{ parts: [{ text: 'x' }] }], generationConfig: { responseMimeType: 'application/json', responseSchema: { type: 'OBJECT', properties: { n: { type: 'INTEGER' } } } } },
      'm',
    );
    assert.deepEqual(request.response_format, { type: 'json_schema', json_schema: { name: 'response', schema: { type: 'object', properties: { n: { type: 'integer' } } } } });
    assert.deepEqual(jsonSchemaOf({ type: 'STRING', enum: ['A'] }), { type: 'string', enum: ['A'] });
  });
});

const completion: PivotAnswer = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'claude-haiku-4-5',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'Let me check.', refusal: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
      logprobs: null,
      finish_reason: 'tool_calls',
    },
  ],
  usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
};

describe('pivot answer → Gemini', () => {
  it('text and function calls as parts, finish reason, usageMetadata, the requested model', () => {
    assert.deepEqual(pivotToGeminiAnswer(completion, 'gemini-2.5-flash'), {
      candidates: [
        { content: { role: 'model', parts: [{ text: 'Let me check.' }, { functionCall: { id: 'call_1', name: 'f', args: { a: 1 } } }] }, index: 0, finishReason: 'STOP' },
      ],
      modelVersion: 'gemini-2.5-flash',
      responseId: 'chatcmpl-1',
      usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 },
    });
    const cut = { ...completion, choices: [{ ...completion.choices[0]!, finish_reason: 'length' as const }] };
    assert.equal((pivotToGeminiAnswer(cut, 'm').candidates as Array<{ finishReason: string }>)[0]!.finishReason, 'MAX_TOKENS');
  });

  const chunk = (delta: object, finish: string | null = null, usage?: object) =>
    ({ data: JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'x', choices: usage ? [] : [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) }) });
  const pivotStream = [
    chunk({ role: 'assistant', content: '' }),
    chunk({ content: 'Hel' }),
    chunk({ content: 'lo' }),
    chunk({ tool_calls: [{ index: 0, id: 'call_9', type: 'function', function: { name: 'f', arguments: '{"a"' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: ':2}' } }] }),
    chunk({}, 'tool_calls'),
    chunk({}, null, { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 }),
    { data: '[DONE]' },
  ];

  it('a stream as SSE: text as it comes, whole function calls with the finish and usage', () => {
    const stream = new PivotToGeminiStream({ model: 'gemini-x', mode: 'sse' });
    const text = pivotStream.map((event) => stream.push(event)).join('') + stream.end();
    const events = text.split('\r\n\r\n').filter(Boolean).map((frame) => JSON.parse(frame.replace(/^data: /, '')) as { candidates: Array<{ content: { parts: unknown[] }; finishReason?: string }>; usageMetadata?: unknown });
    assert.deepEqual(events.map((e) => e.candidates[0]!.content.parts), [[{ text: 'Hel' }], [{ text: 'lo' }], [{ functionCall: { id: 'call_9', name: 'f', args: { a: 2 } } }]]);
    assert.equal(events.at(-1)!.candidates[0]!.finishReason, 'STOP');
    assert.deepEqual(events.at(-1)!.usageMetadata, { promptTokenCount: 3, candidatesTokenCount: 4, totalTokenCount: 7 });
    assert.deepEqual(stream.tokenUsage(), { inputTokens: 3, outputTokens: 4 });
  });

  it('a stream without alt=sse is one JSON array', () => {
    const stream = new PivotToGeminiStream({ model: 'gemini-x', mode: 'array' });
    const text = pivotStream.map((event) => stream.push(event)).join('') + stream.end();
    const array = JSON.parse(text) as unknown[];
    assert.equal(array.length, 3);
  });

  it('a stream that fails midway ends with Google\'s error object', () => {
    const stream = new PivotToGeminiStream({ model: 'gemini-x', mode: 'sse' });
    const text = stream.push(chunk({ content: 'Hi' })) + stream.push({ data: JSON.stringify({ error: { message: 'overloaded', type: 'server_error', param: null, code: null } }) });
    assert.match(text, /"status":"INTERNAL"/);
    assert.equal(stream.end(), '');
  });
});

describe('errors in Google\'s shape', () => {
  it('a 429 carries RESOURCE_EXHAUSTED and a RetryInfo delay', () => {
    assert.deepEqual(googleError(429, 'slow down', 16_200), {
      error: { code: 429, message: 'slow down', status: 'RESOURCE_EXHAUSTED', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '17s' }] },
    });
  });

  it('an OpenAI error body keeps its message under the matching status', () => {
    const body = JSON.parse(pivotErrorToGemini(404, JSON.stringify({ error: { message: 'no such model', type: 'invalid_request_error', param: null, code: null } }))) as { error: object };
    assert.deepEqual(body.error, { code: 404, message: 'no such model', status: 'NOT_FOUND' });
  });
});

describe('Gemini embedding requests → pivot', () => {
  it('embedContent and batchEmbedContents: texts in order, taskType and outputDimensionality kept', () => {
    const one = parseGeminiEmbedding({ content: { parts: [{ text: 'a' }, { text: 'b' }] }, taskType: 'RETRIEVAL_QUERY', outputDimensionality: 8 }, 'gemini-embedding-001', false);
    assert.deepEqual([one.inputs, one.taskType, one.dimensions], [['ab'], 'RETRIEVAL_QUERY', 8]);
    const batch = parseGeminiEmbedding({ requests: [{ content: { parts: [{ text: 'x' }] } }, { content: { parts: [{ text: 'y' }] } }] }, 'm', true);
    assert.deepEqual(batch.inputs, ['x', 'y']);
    assert.throws(() => parseGeminiEmbedding({ requests: [] }, 'm', true), GeminiRequestFault);
    assert.throws(() => parseGeminiEmbedding({}, 'm', false), GeminiRequestFault);
  });
});
