/** Anthropic Messages ⇄ the pivot, for clients of every other surface. */
import type { AnthropicMessage } from '../../protocol/anthropic.js';
import { anthropicErrorToOpenAI } from '../../protocol/anthropic-errors.js';
import { usageOfBody } from '../../protocol/usage.js';
import { parseJson } from '../../pivot/errors.js';
import type { ProviderCodec } from '../codec.js';
import { sseProviderStream } from '../sse-stream.js';
import { anthropicToPivotAnswer } from './answer.js';
import { pivotToAnthropicRequest } from './request.js';
import { AnthropicToPivotStream } from './stream.js';

export const anthropicCodec: ProviderCodec = {
  protocol: 'anthropic',
  headers: { 'anthropic-version': '2023-06-01' },
  fromPivot(request, { model, stream }) {
    const { request: out, dropped } = pivotToAnthropicRequest(request, { model });
    if (stream) out.stream = true;
    return { body: JSON.stringify(out), dropped };
  },
  toPivot(text, { requestedModel, now }) {
    const message = JSON.parse(text) as AnthropicMessage;
    return { answer: anthropicToPivotAnswer(message, { model: requestedModel, now }).response, usage: usageOfBody('anthropic', message) };
  },
  errorToPivot: (status, text) => anthropicErrorToOpenAI(status, parseJson(text)),
  streamToPivot: ({ requestedModel, now }) => sseProviderStream('anthropic', new AnthropicToPivotStream({ model: requestedModel, now })),
};
