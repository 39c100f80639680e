/**
 * The Responses surface's translators: every input item, output item and stream event type, to and
 * from the pivot (chat completions).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidRequest } from '../../src/protocol/invalid.js';
import type { PivotAnswer } from '../../src/pivot/index.js';
import { checkResponsesRequest, responsesToPivot } from '../../src/surfaces/openai-responses/request.js';
import { pivotToResponse } from '../../src/surfaces/openai-responses/response.js';
import { PivotToResponsesStream } from '../../src/surfaces/openai-responses/stream.js';
import { SseParser } from '../../src/protocol/sse.js';
import { openai } from '../../src/providers/openai/adapter.js';
import { providerSchema } from '../../src/config/schema.js';
import type { ResponsesRequest } from '../../src/surfaces/openai-responses/wire.js';

describe('Responses request → pivot', () => {
  it('a string input is one user message; instructions lead as the system message', () => {
    const { request, dropped } = responsesToPivot({ model: 'm', instructions: 'Be brief.', input: 'Hi', max_output_tokens: 50, temperature: 0.2, top_p: 0.9 });
    assert.deepEqual(request.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ]);
    assert.equal(request.max_completion_tokens, 50);
    assert.equal(request.temperature, 0.2);
    assert.equal(request.top_p, 0.9);
    assert.deepEqual(dropped, []);
  });

  it('reasoning.effort becomes reasoning_effort (each provider codec drops it for models that refuse it)', () => {
    const { request } = responsesToPivot({ model: 'gpt-5-mini', input: 'Hi', reasoning: { effort: 'low', summary: 'auto' } });
    assert.equal(request.reasoning_effort, 'low');
  });

  it('messages of every role, with input_text, input_image, input_file and output_text parts', () => {
    const { request } = responsesToPivot({
      model: 'm',
      input: [
        { role: 'developer', content: [{ type: 'input_text', text: 'Dev rules.' }] },
        { type: 'message', role: 'system', content: 'Sys.' },
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'Look: ' },
            { type: 'input_image', image_url: 'data:image/png;base64,AAAA', detail: 'low' },
            { type: 'input_file', file_data: 'data:application/pdf;base64,AA', filename: 'a.pdf' },
          ],
        },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Seen.', annotations: [] }] },
      ],
    });
    assert.deepEqual(request.messages, [
      { role: 'developer', content: 'Dev rules.' },
      { role: 'system', content: 'Sys.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Look: ' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } },
          { type: 'file', file: { file_data: 'data:application/pdf;base64,AA', file_id: undefined, filename: 'a.pdf' } },
        ],
      },
      { role: 'assistant', content: 'Seen.' },
    ]);
  });

  it('function_call items join the assistant turn before them; function_call_output becomes a tool message; reasoning items are dropped and named', () => {
    const { request, dropped } = responsesToPivot({
      model: 'm',
      input: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'two calls' }] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
        { type: 'function_call', call_id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call', call_id: 'call_b', name: 'get_weather', arguments: '{"city":"Rome"}' },
        { type: 'function_call_output', call_id: 'call_a', output: 'Sunny' },
        { type: 'function_call_output', call_id: 'call_b', output: [{ type: 'input_text', text: 'Rain' }] },
        { type: 'function_call', call_id: 'call_c', name: 'get_weather', arguments: '{}' },
      ],
    });
    assert.deepEqual(request.messages, [
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_a', content: 'Sunny' },
      { role: 'tool', tool_call_id: 'call_b', content: 'Rain' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_c', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
    ]);
    assert.deepEqual(dropped, ['reasoning items']);
  });

  it('function tools nest under function; built-in tools are dropped and named; tool_choice and parallel_tool_calls carry over', () => {
    const { request, dropped } = responsesToPivot({
      model: 'm',
      input: 'Hi',
      tools: [{ type: 'function', name: 'f', description: 'd', parameters: { type: 'object' }, strict: true }, { type: 'web_search' }],
      tool_choice: { type: 'function', name: 'f' },
      parallel_tool_calls: false,
    });
    assert.deepEqual(request.tools, [{ type: 'function', function: { name: 'f', description: 'd', parameters: { type: 'object' }, strict: true } }]);
    assert.deepEqual(request.tool_choice, { type: 'function', function: { name: 'f' } });
    assert.equal(request.parallel_tool_calls, false);
    assert.deepEqual(dropped, ['tools of type web_search']);
  });

  it('text.format json_schema becomes response_format; metadata rides along; store, include and previous_response_id never reach the provider', () => {
    const { request, dropped } = responsesToPivot({
      model: 'm',
      input: 'Hi',
      text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true } },
      metadata: { run: '7' },
      store: false,
      include: ['reasoning.encrypted_content'],
      previous_response_id: 'resp_1',
      stream: true,
    });
    assert.deepEqual(request.response_format, { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } });
    assert.deepEqual(request.metadata, { run: '7' });
    assert.equal(request.store, undefined);
    assert.equal(request.previous_response_id, undefined);
    assert.deepEqual(request.stream_options, { include_usage: true });
    assert.deepEqual(dropped, ['include']);
  });

  it('the history of a previous response goes before the new input', () => {
    const history = [
      { type: 'message', role: 'user', content: 'Weather?' },
      { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'w', arguments: '{}', status: 'completed' },
    ];
    const { request } = responsesToPivot({ model: 'm', input: [{ type: 'function_call_output', call_id: 'call_1', output: 'Sunny' }] }, history);
    assert.deepEqual(
      request.messages.map((message) => message.role),
      ['user', 'assistant', 'tool'],
    );
  });

  it('ingress checks only what spillway reads, in OpenAI words', () => {
    const fault = (body: Record<string, unknown>) => {
      try {
        checkResponsesRequest(body);
        return undefined;
      } catch (error) {
        assert.ok(error instanceof InvalidRequest);
        return error.fault;
      }
    };
    assert.equal(fault({ input: 'x' })?.message, "Missing required parameter: 'model'.");
    assert.equal(fault({ model: 'm', input: 5 })?.param, 'input');
    assert.equal(fault({ model: 'm', input: ['x'] })?.param, 'input[0]');
    assert.equal(fault({ model: 'm', input: 'x', max_output_tokens: 0 })?.code, 'integer_below_min_value');
    assert.equal(fault({ model: 'm', input: 'x', some_new_field: { any: 1 } }), undefined);
  });
});

const options = { model: 'asked-model', request: { model: 'asked-model', input: 'Hi' } as ResponsesRequest };

function answer(message: Record<string, unknown>, finish: string, usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }): PivotAnswer {
  return {
    id: 'chatcmpl-abc',
    object: 'chat.completion',
    created: 1700000000,
    model: 'upstream',
    choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: null, ...message }, logprobs: null, finish_reason: finish as 'stop' }],
    usage,
  } as PivotAnswer;
}

describe('pivot answer → response object', () => {
  it('text becomes a message with output_text; usage in Responses names with details', () => {
    const response = pivotToResponse(
      answer({ content: 'Hello.' }, 'stop', {
        prompt_tokens: 10,
        completion_tokens: 5,
        total_tokens: 15,
        prompt_tokens_details: { cached_tokens: 4 },
        completion_tokens_details: { reasoning_tokens: 2 },
      } as PivotAnswer['usage'] & object),
      options,
    );
    assert.match(response.id, /^resp_abc_[0-9a-f]{8}$/);
    assert.equal(response.status, 'completed');
    assert.equal(response.model, 'asked-model');
    assert.deepEqual(response.output, [{ type: 'message', id: 'msg_abc_0', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Hello.', annotations: [] }] }]);
    assert.deepEqual(response.usage, { input_tokens: 10, input_tokens_details: { cached_tokens: 4 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 15 });
  });

  it('tool calls become function_call items with call_id; thinking becomes a reasoning summary', () => {
    const response = pivotToResponse(
      answer({ content: null, reasoning_content: 'Need weather.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'w', arguments: '{"city":"Paris"}' } }] }, 'tool_calls'),
      options,
    );
    assert.deepEqual(
      response.output.map((item) => item.type),
      ['reasoning', 'function_call'],
    );
    assert.deepEqual(response.output[0], { type: 'reasoning', id: 'rs_abc_0', summary: [{ type: 'summary_text', text: 'Need weather.' }] });
    assert.deepEqual(response.output[1], { type: 'function_call', id: 'fc_abc_1', call_id: 'call_1', name: 'w', arguments: '{"city":"Paris"}', status: 'completed' });
  });

  it('a length stop is incomplete with incomplete_details', () => {
    const response = pivotToResponse(answer({ content: 'Cut' }, 'length'), options);
    assert.equal(response.status, 'incomplete');
    assert.deepEqual(response.incomplete_details, { reason: 'max_output_tokens' });
  });
});

/** Feed pivot events (chat chunks as objects, or raw data strings) and read back the Responses events. */
function run(events: Array<Record<string, unknown> | string>, end = true): Array<Record<string, unknown> & { type: string; sequence_number: number }> {
  const stream = new PivotToResponsesStream(options, () => 1700000000);
  let text = events.map((event) => stream.push({ data: typeof event === 'string' ? event : JSON.stringify(event) })).join('');
  if (end) text += stream.end();
  const parsed = new SseParser().push(text);
  for (const event of parsed) assert.equal(event.event, (JSON.parse(event.data) as { type: string }).type, 'event: names the type');
  return parsed.map((event) => JSON.parse(event.data));
}

const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({ id: 'chatcmpl-abc', object: 'chat.completion.chunk', created: 1700000000, model: 'u', choices: [{ index: 0, delta, finish_reason: finish }] });
const usageChunk = { id: 'chatcmpl-abc', object: 'chat.completion.chunk', created: 1700000000, model: 'u', choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } };

describe('pivot stream → Responses events', () => {
  it('text: created, in_progress, item and part added, deltas, done events, completed with usage; sequence numbers count from 0', () => {
    const events = run([chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hel' }), chunk({ content: 'lo' }), chunk({}, 'stop'), usageChunk, '[DONE]']);
    assert.deepEqual(
      events.map((event) => event.type),
      [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.delta',
        'response.output_text.delta',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ],
    );
    assert.deepEqual(events.map((event) => event.sequence_number), events.map((_, i) => i));
    assert.equal(events[6]!.text, 'Hello');
    assert.deepEqual((events[8]!.item as { content: unknown }).content, [{ type: 'output_text', text: 'Hello', annotations: [] }]);
    const completed = events[9]!.response as { status: string; output: unknown[]; usage: { total_tokens: number } };
    assert.equal(completed.status, 'completed');
    assert.equal(completed.output.length, 1);
    assert.equal(completed.usage.total_tokens, 5);
    // What was added is what it was then: an empty message, not the finished one.
    assert.deepEqual((events[2]!.item as { content: unknown[] }).content, []);
  });

  it('a function call streamed in fragments: added with empty arguments, argument deltas, done with the whole call', () => {
    const events = run([
      chunk({ content: 'Let me check.' }),
      chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
      chunk({}, 'tool_calls'),
      '[DONE]',
    ]);
    const types = events.map((event) => event.type);
    assert.deepEqual(types.slice(-5), ['response.function_call_arguments.delta', 'response.function_call_arguments.delta', 'response.function_call_arguments.done', 'response.output_item.done', 'response.completed']);
    // The message closes before the call opens.
    assert.ok(types.indexOf('response.output_item.done') < types.lastIndexOf('response.output_item.added'));
    const added = events.findLast((event) => event.type === 'response.output_item.added')!;
    assert.deepEqual(added.item, { type: 'function_call', id: 'fc_abc_1', call_id: 'call_1', name: 'get_weather', arguments: '', status: 'in_progress' });
    assert.equal(added.output_index, 1);
    const done = events.findLast((event) => event.type === 'response.output_item.done')!;
    assert.deepEqual(done.item, { type: 'function_call', id: 'fc_abc_1', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' });
    assert.equal(events.find((event) => event.type === 'response.function_call_arguments.done')!.arguments, '{"city":"Paris"}');
  });

  it('two tool calls side by side each get their own item', () => {
    const events = run([
      chunk({ tool_calls: [{ index: 0, id: 'call_a', function: { name: 'f', arguments: '{}' } }, { index: 1, id: 'call_b', function: { name: 'g', arguments: '{"x":1}' } }] }),
      chunk({}, 'tool_calls'),
      '[DONE]',
    ]);
    const items = events.filter((event) => event.type === 'response.output_item.done').map((event) => event.item as { call_id: string; arguments: string });
    assert.deepEqual(items.map((item) => [item.call_id, item.arguments]), [['call_a', '{}'], ['call_b', '{"x":1}']]);
  });

  it('thinking (reasoning_content) streams as a reasoning summary before the message', () => {
    const events = run([chunk({ reasoning_content: 'Hmm' }), chunk({ reasoning_content: '.' }), chunk({ content: 'Yes' }, 'stop'), '[DONE]']);
    const types = events.map((event) => event.type);
    assert.deepEqual(types.slice(2, 9), [
      'response.output_item.added',
      'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.done',
      'response.reasoning_summary_part.done',
      'response.output_item.done',
    ]);
    assert.deepEqual(events[8]!.item, { type: 'reasoning', id: 'rs_abc_0', summary: [{ type: 'summary_text', text: 'Hmm.' }] });
  });

  it('a length stop ends with response.incomplete and incomplete_details', () => {
    const events = run([chunk({ content: 'Cut' }, 'length'), '[DONE]']);
    const last = events.at(-1)!;
    assert.equal(last.type, 'response.incomplete');
    assert.deepEqual((last.response as { incomplete_details: unknown }).incomplete_details, { reason: 'max_output_tokens' });
  });

  it('an error event after the first byte ends the stream with response.failed carrying the code', () => {
    const events = run([chunk({ content: 'Par' }), JSON.stringify({ error: { message: 'overloaded', type: 'server_error', param: null, code: 'overloaded' } })]);
    const last = events.at(-1)!;
    assert.equal(last.type, 'response.failed');
    assert.deepEqual((last.response as { error: unknown }).error, { code: 'overloaded', message: 'overloaded' });
    assert.equal(events.filter((event) => event.type === 'response.failed').length, 1, 'nothing after the failure');
  });

  it('a stream cut short (no finish, no [DONE]) fails rather than completing', () => {
    const events = run([chunk({ content: 'Par' })]);
    assert.equal(events.at(-1)!.type, 'response.failed');
  });

  it('a stream that finished but lost its [DONE] still completes', () => {
    const events = run([chunk({ content: 'Done' }, 'stop')]);
    assert.equal(events.at(-1)!.type, 'response.completed');
  });
});

describe('which OpenAI providers serve Responses natively', () => {
  const path = (config: Record<string, unknown>) => openai.nativePath?.('responses', providerSchema.parse({ type: 'openai', ...config }));
  it("OpenAI's own base URL by default, any other base URL not, unless told", () => {
    assert.equal(path({}), '/responses');
    assert.equal(path({ base_url: 'https://api.openai.com/v1' }), '/responses');
    assert.equal(path({ base_url: 'http://127.0.0.1:8000/v1' }), undefined);
    assert.equal(path({ base_url: 'http://127.0.0.1:8000/v1', responses: 'native' }), '/responses');
    assert.equal(path({ base_url: 'https://api.openai.com/v1', responses: 'chat' }), undefined);
    assert.equal(openai.nativePath?.('openai', providerSchema.parse({ type: 'openai' })), undefined, 'chat requests keep their own path');
  });
});

describe("spillway's own error event after the first byte", () => {
  it('on the Responses surface is an `error` event in its shape (a native stream cut short)', async () => {
    const { streamErrorEvent } = await import('../../src/pipeline/errors.js');
    const [event] = new SseParser().push(streamErrorEvent('responses', 'upstream', 'the upstream closed the stream'));
    assert.equal(event?.event, 'error');
    assert.deepEqual(JSON.parse(event!.data), { type: 'error', code: 'server_error', message: 'the upstream closed the stream', param: null });
  });
});
