/** Ollama's native /api/chat ⇄ the pivot. */
import { usageOfBody, type TokenUsage } from '../../protocol/usage.js';
import { errorToPivot, parseJson } from '../../pivot/errors.js';
import type { ProviderCodec } from '../codec.js';
import { NdjsonLines, OllamaToPivotStream } from './stream.js';
import { ollamaToOpenAIResponse, openAIToOllamaRequest, type OllamaChatResponse } from './translate.js';

export const ollamaCodec: ProviderCodec = {
  protocol: 'ollama',
  headers: {},
  fromPivot(request, { model, stream }) {
    const { request: out, dropped } = openAIToOllamaRequest(request, { model });
    out.stream = stream; // Ollama streams unless told not to
    return { body: JSON.stringify(out), dropped };
  },
  toPivot(text, { requestedModel, now }) {
    const answer = JSON.parse(text) as OllamaChatResponse;
    return { answer: ollamaToOpenAIResponse(answer, { model: requestedModel, now }), usage: usageOfBody('ollama', answer) };
  },
  errorToPivot: errorToPivot,
  streamToPivot({ requestedModel, now }) {
    const lines = new NdjsonLines();
    const toPivot = new OllamaToPivotStream({ model: requestedModel, now });
    let usage: TokenUsage | undefined;
    // The last line (done: true) carries the counts.
    const read = (line: string) => {
      if (line.includes('"done":true') || line.includes('"done": true')) usage = usageOfBody('ollama', parseJson(line)) ?? usage;
      return toPivot.line(line);
    };
    return {
      push: (chunk) => lines.push(chunk).flatMap(read),
      end: () => [...lines.end().flatMap(read), ...toPivot.end()],
      usage: () => usage,
    };
  },
};
