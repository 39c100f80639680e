/** Anthropic Messages clients ⇄ the pivot, for providers of every other protocol. */
import type { AnthropicMessagesRequest } from '../../protocol/anthropic.js';
import { openAIErrorToAnthropic } from '../../protocol/anthropic-errors.js';
import type { SurfaceCodec } from '../codec.js';
import { pivotToAnthropicAnswer } from './answer.js';
import { anthropicToPivotRequest } from './request.js';
import { PivotToAnthropicStream } from './stream.js';

export const anthropicSurface: SurfaceCodec = {
  surface: 'anthropic',
  toPivot: (body, { model }) => anthropicToPivotRequest(body as unknown as AnthropicMessagesRequest, { model }),
  fromPivot: (answer, { requestedModel }) => pivotToAnthropicAnswer(answer, { model: requestedModel }).response,
  errorFromPivot(status, body) {
    const translated = openAIErrorToAnthropic(status, body);
    return { status: translated.status, body: JSON.stringify(translated.body) };
  },
  streamFromPivot: ({ requestedModel }) => new PivotToAnthropicStream({ model: requestedModel }),
};
