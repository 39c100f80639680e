/** Gemini clients (@google/genai, Gemini CLI): generateContent ⇄ the pivot. Streams are `alt=sse`. */
import type { SurfaceCodec } from '../codec.js';
import { pivotErrorToGemini, pivotToGeminiAnswer, PivotToGeminiStream } from './answer.js';
import { geminiToPivotRequest } from './request.js';

export const geminiSurface: SurfaceCodec = {
  surface: 'gemini',
  // Gemini names the stream in the URL, not the body: the provider's codec is told it separately.
  toPivot: (body, { model }) => geminiToPivotRequest(body, model),
  fromPivot: (answer, { requestedModel }) => pivotToGeminiAnswer(answer, requestedModel),
  errorFromPivot: (status, body) => ({ status, body: pivotErrorToGemini(status, typeof body === 'string' ? body : JSON.stringify(body)) }),
  streamFromPivot: ({ requestedModel }) => new PivotToGeminiStream({ model: requestedModel, mode: 'sse' }),
};
