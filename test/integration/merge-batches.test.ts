/**
 * Issue 17 item 3, prompt merging for batch work: a Message Batch of 50 short classification
 * prompts on a route with `merge: { max: 5 }`, driven with the official Anthropic SDK's batches API
 * against the simulator. When the simulated model follows the merged structure, at most 12
 * upstream calls answer all 50, each with exactly the answer the prompt gets alone; when it breaks
 * the structure (an item dropped, invalid JSON), every request still gets its own correct answer.
 * Upstream calls are counted with the simulator's stats.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { simKeys, simProvider, type Stack, startStack } from '../support/stack.js';

type BatchRequest = Anthropic.Messages.Batches.BatchCreateParams.Request;
type Message = Anthropic.Messages.Message;

const ADMIN_KEY = 'admin-merge-test';
const SYSTEM = 'Classify the sentiment of the review as positive, negative or neutral. Answer with one word.';
const MODEL = 'claude-haiku-4-5';

function classification(count: number, tag: string): BatchRequest[] {
  return Array.from({ length: count }, (_, i) => ({
    custom_id: `${tag}-${i}`,
    params: { model: MODEL, max_tokens: 100, system: SYSTEM, messages: [{ role: 'user' as const, content: `Review ${tag} ${i}: the ${i % 3 === 0 ? 'soup was cold' : 'staff were kind'}.` }] },
  }));
}

async function runBatch(client: Anthropic, requests: BatchRequest[]): Promise<Map<string, Anthropic.Messages.Batches.MessageBatchResult>> {
  const created = await client.messages.batches.create({ requests });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const batch = await client.messages.batches.retrieve(created.id);
    if (batch.processing_status === 'ended') break;
    if (Date.now() > deadline) throw new Error(`batch ${created.id} did not end`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const out = new Map<string, Anthropic.Messages.Batches.MessageBatchResult>();
  for await (const line of await client.messages.batches.results(created.id)) {
    assert.ok(!out.has(line.custom_id), `custom_id ${line.custom_id} appears twice`);
    out.set(line.custom_id, line.result);
  }
  return out;
}

function textOf(message: Message): string {
  return message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
}

function metric(text: string, name: string, label?: string): number {
  const line = text.split('\n').find((l) => l.startsWith(name) && (label === undefined || l.includes(label)) && !l.startsWith('#'));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('prompt merging for Message Batches', () => {
  let stack: Stack;
  const dataDir = mkdtempSync(join(tmpdir(), 'spillway-merge-'));
  /** What each prompt gets alone, straight from the simulator. */
  const alone = new Map<string, { text: string; stop: string | null }>();

  before(async () => {
    const keys = simKeys(1);
    stack = await startStack({
      sim: { keys },
      config: (simUrl) => ({
        admin: { keys: [ADMIN_KEY] },
        data_dir: dataDir,
        usage: { enabled: false },
        providers: {
          anthropic: simProvider('anthropic', simUrl, keys),
          openai: simProvider('openai', simUrl, keys),
          gemini: simProvider('gemini', simUrl, keys),
        },
        routes: {
          // The same merged (pivot) call carried by the other providers' codecs.
          'via-openai': { targets: [{ provider: 'openai', model: 'gpt-4o-mini' }], merge: { max: 5, max_input_tokens: 400 } },
          'via-gemini': { targets: [{ provider: 'gemini', model: 'gemini-2.5-flash' }], merge: { max: 5, max_input_tokens: 400 } },
          // A long window: requests sent together from one test process must meet even on a loaded machine.
          '*': { targets: [{ provider: 'anthropic' }], merge: { max: 5, max_input_tokens: 400, window: '300ms' } },
        },
      }),
    });
    for (const tag of ['follow', 'drop', 'garble', 'live']) {
      for (const request of classification(50, tag)) {
        const message = await stack.direct.messages.create(request.params as Anthropic.Messages.MessageCreateParamsNonStreaming);
        alone.set(request.custom_id, { text: textOf(message), stop: message.stop_reason });
      }
    }
  });

  after(async () => {
    await stack.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function metrics(): Promise<string> {
    const response = await fetch(`${stack.gateway.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    return response.text();
  }

  function assertAnswersAlone(results: Map<string, Anthropic.Messages.Batches.MessageBatchResult>, requests: BatchRequest[]): void {
    assert.equal(results.size, requests.length, 'exactly one result per request');
    for (const { custom_id } of requests) {
      const result = results.get(custom_id);
      assert.equal(result?.type, 'succeeded', `${custom_id}: ${JSON.stringify(result)}`);
      const message = (result as Anthropic.Messages.Batches.MessageBatchSucceededResult).message;
      assert.equal(textOf(message), alone.get(custom_id)!.text, `${custom_id} answers as it would alone`);
      assert.equal(message.stop_reason, alone.get(custom_id)!.stop);
      assert.ok(message.usage.input_tokens > 0 && message.usage.output_tokens > 0, `${custom_id} carries its share of the usage`);
    }
  }

  test('a model that follows the structure: 50 prompts in at most 12 upstream calls, each answer as alone, usage summing to the upstream count', async () => {
    stack.sim.setOptions({ mergeAnswers: 'follow' });
    stack.sim.resetStats();
    const before = await metrics();
    const requests = classification(50, 'follow');
    const results = await runBatch(stack.anthropic, requests);
    const upstream = stack.sim.stats().total;
    assertAnswersAlone(results, requests);
    assert.ok(upstream.requests <= 12, `${upstream.requests} upstream calls`);
    console.log(`merge: 50 requests in ${upstream.requests} upstream calls`);
    let input = 0;
    let output = 0;
    for (const result of results.values()) {
      const { usage } = (result as Anthropic.Messages.Batches.MessageBatchSucceededResult).message;
      input += usage.input_tokens;
      output += usage.output_tokens;
    }
    assert.equal(input, upstream.inputTokens, 'input shares sum to what the provider counted');
    assert.equal(output, upstream.outputTokens, 'output shares sum to what the provider counted');
    const after = await metrics();
    const saved = metric(after, 'spillway_merge_calls_saved_total') - metric(before, 'spillway_merge_calls_saved_total');
    assert.equal(saved, 50 - upstream.requests, 'calls saved = requests - upstream calls');
  });

  for (const behaviour of ['drop', 'garble'] as const) {
    test(`a model that breaks the structure (${behaviour}): all 50 still get their own correct answers`, async () => {
      stack.sim.setOptions({ mergeAnswers: behaviour });
      stack.sim.resetStats();
      const before = await metrics();
      const requests = classification(50, behaviour);
      const results = await runBatch(stack.anthropic, requests);
      assertAnswersAlone(results, requests);
      const after = await metrics();
      const reason = behaviour === 'drop' ? 'missing_items' : 'bad_shape';
      const failures = metric(after, 'spillway_merge_failures_total', `reason="${reason}"`) - metric(before, 'spillway_merge_failures_total', `reason="${reason}"`);
      assert.ok(failures >= 10, `${failures} merged calls failed with ${reason}`);
      assert.equal(metric(after, 'spillway_merge_calls_saved_total'), metric(before, 'spillway_merge_calls_saved_total'), 'nothing counted as saved');
      // Every merged call failed, so each request was also sent alone: 50 plus the merged attempts.
      assert.equal(stack.sim.stats().total.requests, 50 + failures);
      console.log(`merge (${behaviour}): ${failures} failed merged calls, ${stack.sim.stats().total.requests} upstream calls`);
    });
  }

  test('interactive requests at batch priority merge across surfaces within the window; streams and interactive priority do not', async () => {
    stack.sim.setOptions({ mergeAnswers: 'follow' });
    stack.sim.resetStats();
    const requests = classification(10, 'live');
    const batchHeaders = { 'x-spillway-priority': 'batch' };
    const openai = new OpenAI({ baseURL: `${stack.gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0, defaultHeaders: batchHeaders });
    const anthropic = new Anthropic({ baseURL: stack.gateway.url, apiKey: 'client-key', maxRetries: 0, defaultHeaders: batchHeaders });
    const answers = await Promise.all(
      requests.map(async ({ custom_id, params }, i) => {
        const prompt = (params.messages[0]!.content as string);
        if (i % 2 === 0) {
          const { data, response } = await openai.chat.completions
            .create({ model: MODEL, max_tokens: 100, messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: prompt }] })
            .withResponse();
          return { custom_id, text: data.choices[0]!.message.content, merged: response.headers.get('x-spillway-merged'), usage: data.usage!.prompt_tokens + data.usage!.completion_tokens };
        }
        const { data, response } = await anthropic.messages.create(params as Anthropic.Messages.MessageCreateParamsNonStreaming).withResponse();
        return { custom_id, text: textOf(data), merged: response.headers.get('x-spillway-merged'), usage: data.usage.input_tokens + data.usage.output_tokens };
      }),
    );
    for (const answer of answers) assert.equal(answer.text, alone.get(answer.custom_id)!.text, `${answer.custom_id} answers as it would alone`);
    const upstream = stack.sim.stats().total;
    assert.ok(upstream.requests <= 4, `10 requests in ${upstream.requests} upstream calls`);
    assert.ok(answers.filter((a) => a.merged !== null).length >= 8, 'most answers say they were merged');
    assert.equal(answers.reduce((sum, a) => sum + a.usage, 0), upstream.inputTokens + upstream.outputTokens, 'usage shares sum to the upstream count');

    // Interactive priority and streams go alone.
    stack.sim.resetStats();
    const plain = new Anthropic({ baseURL: stack.gateway.url, apiKey: 'client-key', maxRetries: 0 });
    await Promise.all(requests.slice(0, 4).map(({ params }) => plain.messages.create(params as Anthropic.Messages.MessageCreateParamsNonStreaming)));
    const streams = await Promise.all(requests.slice(0, 4).map(({ params }) => anthropic.messages.stream(params as Anthropic.Messages.MessageCreateParamsNonStreaming).finalMessage()));
    assert.deepEqual(streams.map(textOf), requests.slice(0, 4).map((r) => alone.get(r.custom_id)!.text));
    assert.equal(stack.sim.stats().total.requests, 8);
  });

  for (const model of ['via-openai', 'via-gemini']) {
    test(`the merged call works through the ${model.slice(4)} codec: each answer as the same request gets alone through spillway`, async () => {
      stack.sim.setOptions({ mergeAnswers: 'follow' });
      const requests = classification(10, model).map((r) => ({ ...r, params: { ...r.params, model } }));
      const reference = new Map<string, string>();
      for (const { custom_id, params } of requests) {
        reference.set(custom_id, textOf(await stack.anthropic.messages.create(params as Anthropic.Messages.MessageCreateParamsNonStreaming)));
      }
      stack.sim.resetStats();
      const results = await runBatch(stack.anthropic, requests);
      assert.equal(results.size, 10);
      for (const [id, text] of reference) {
        const result = results.get(id);
        assert.equal(result?.type, 'succeeded', JSON.stringify(result));
        assert.equal(textOf((result as Anthropic.Messages.Batches.MessageBatchSucceededResult).message), text, `${id} answers as it would alone`);
      }
      assert.equal(stack.sim.stats().total.requests, 2, 'two merged calls of five');
    });
  }
});
