import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IMAGE_TOKENS, TokenEstimator, rawInputTokens } from '../../src/quota/estimate.js';

const prose = 'The quick brown fox jumps over the lazy dog. '.repeat(200); // 9000 chars

describe('input token estimates', () => {
  it('counts about four characters per token over system, messages and tools', () => {
    const anthropic = {
      model: 'claude-sonnet-4-5',
      max_tokens: 1024,
      system: prose,
      messages: [{ role: 'user', content: [{ type: 'text', text: prose }] }],
      tools: [{ name: 'get_weather', description: prose, input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    };
    const raw = rawInputTokens(anthropic);
    assert.ok(raw >= 3 * 2250 && raw <= 3 * 2250 * 1.1, `raw ${raw}`);
    const openai = { model: 'gpt-4o-mini', messages: [{ role: 'system', content: prose }, { role: 'user', content: prose }] };
    const rawOpenai = rawInputTokens(openai);
    assert.ok(rawOpenai >= 4500 && rawOpenai <= 4600, `raw ${rawOpenai}`);
  });

  it('counts an image as a fixed amount, not its base64 size', () => {
    const data = 'A'.repeat(2_000_000);
    const anthropic = { messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data } }, { type: 'text', text: 'what is this?' }] }] };
    const openai = { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${data}` } }] }] };
    for (const body of [anthropic, openai]) {
      const raw = rawInputTokens(body);
      assert.ok(raw >= IMAGE_TOKENS && raw < IMAGE_TOKENS + 50, `raw ${raw}`);
    }
  });

  it('errs high before calibration, then follows the usage the model reports', () => {
    const estimator = new TokenEstimator();
    const body = { messages: [{ role: 'user', content: prose }] };
    const raw = rawInputTokens(body);
    const first = estimator.estimateInput('m', body);
    assert.ok(first > raw, 'uncalibrated estimates are above the raw count');
    // This model's tokenizer yields 0.8 tokens per raw estimate.
    const actual = Math.round(raw * 0.8);
    estimator.calibrate('m', first, actual);
    for (let i = 0; i < 20; i++) estimator.calibrate('m', estimator.estimateInput('m', body), actual);
    const calibrated = estimator.estimateInput('m', body);
    assert.ok(calibrated >= actual && calibrated <= actual * 1.1, `calibrated ${calibrated} for actual ${actual}`);
    assert.equal(estimator.estimateInput('other', body), first, 'calibration is per model');
  });

  it('a model with denser tokens raises its estimates', () => {
    const estimator = new TokenEstimator();
    const body = { messages: [{ role: 'user', content: prose }] };
    const actual = rawInputTokens(body) * 2;
    for (let i = 0; i < 30; i++) estimator.calibrate('dense', estimator.estimateInput('dense', body), actual);
    const estimate = estimator.estimateInput('dense', body);
    assert.ok(estimate >= actual && estimate <= actual * 1.1, `estimate ${estimate} for actual ${actual}`);
  });
});
