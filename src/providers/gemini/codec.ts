/** Gemini generateContent ⇄ the pivot (the model travels in the path, not the body). */
import { usageOfBody } from '../../protocol/usage.js';
import { parseJson } from '../../pivot/errors.js';
import type { ProviderCodec } from '../codec.js';
import { geminiErrorToOpenAI, GeminiSseReader, geminiToOpenAIResponse, GeminiToOpenAIChunks, openAIToGeminiRequest, type GeminiGenerateContentResponse } from './translate.js';

export const geminiCodec: ProviderCodec = {
  protocol: 'gemini',
  headers: {},
  fromPivot(request) {
    const { request: out, dropped } = openAIToGeminiRequest(request);
    return { body: JSON.stringify(out), dropped };
  },
  toPivot(text, { requestedModel, now }) {
    const answer = JSON.parse(text) as GeminiGenerateContentResponse;
    return { answer: geminiToOpenAIResponse(answer, { model: requestedModel, now }), usage: usageOfBody('gemini', answer) };
  },
  errorToPivot: (status, text) => geminiErrorToOpenAI(status, parseJson(text)),
  streamToPivot({ requestedModel, now }) {
    // Not an SseParser: Gemini appends mid-stream errors as raw JSON, which GeminiSseReader also reads.
    const reader = new GeminiSseReader();
    const chunks = new GeminiToOpenAIChunks({ model: requestedModel, now, includeUsage: true });
    return {
      push: (chunk) => reader.push(chunk).flatMap((event) => chunks.push(event)),
      end: () => [...reader.end().flatMap((event) => chunks.push(event)), ...chunks.end()],
      usage: () => chunks.usage(),
    };
  },
};
