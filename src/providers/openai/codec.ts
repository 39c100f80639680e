/**
 * OpenAI Chat Completions (and every compatible server) ⇄ the pivot. The pivot is this protocol,
 * so only what differs between models is decided here: OpenAI's reasoning models take
 * `max_completion_tokens` and `reasoning_effort`; other models and older compatible servers
 * (vLLM, llama.cpp, DeepSeek) know `max_tokens` and answer 400 to `reasoning_effort`.
 */
import type { OpenAIChatCompletion } from '../../protocol/openai.js';
import { takesReasoningEffort } from '../../protocol/reasoning.js';
import { usageOfBody } from '../../protocol/usage.js';
import { errorToPivot } from '../../pivot/errors.js';
import type { PivotRequest } from '../../pivot/index.js';
import type { ProviderCodec } from '../codec.js';
import { sseProviderStream } from '../sse-stream.js';

function forModel(request: PivotRequest, model: string): { request: PivotRequest; dropped: string[] } {
  const out: PivotRequest = { ...request, model };
  const dropped: string[] = [];
  // The pivot's top_k (from Anthropic clients) has no place in OpenAI's API.
  if (out.top_k !== undefined) {
    delete out.top_k;
    dropped.push('top_k');
  }
  if (!takesReasoningEffort(model)) {
    if (out.max_completion_tokens !== undefined && out.max_tokens === undefined) {
      out.max_tokens = out.max_completion_tokens;
      delete out.max_completion_tokens;
    }
    if (out.reasoning_effort !== undefined) {
      delete out.reasoning_effort;
      dropped.push('reasoning_effort');
    }
  }
  return { request: out, dropped };
}

export const openAICodec: ProviderCodec = {
  protocol: 'openai',
  headers: {},
  fromPivot(request, { model, stream }) {
    const { request: out, dropped } = forModel(request, model);
    if (stream) {
      out.stream = true;
      // The provider's own count settles the reservation, whatever the client asked.
      out.stream_options = { ...out.stream_options, include_usage: true };
    }
    return { body: JSON.stringify(out), dropped };
  },
  toPivot(text, { requestedModel }) {
    const completion = JSON.parse(text) as OpenAIChatCompletion;
    return { answer: { ...completion, model: requestedModel }, usage: usageOfBody('openai', completion) };
  },
  errorToPivot: errorToPivot,
  streamToPivot: () => sseProviderStream('openai', { push: (event) => [event], end: () => [] }),
};
