/**
 * A Gemini SSE stream (`alt=sse`, what spillway asks of a Gemini provider) as the JSON-array
 * stream a client asked for without `alt=sse`: each event's JSON goes out as it came, between the
 * array's `[`, `,` and `]`. Gemini's mid-stream error (a raw JSON object after the events) becomes
 * the array's last element, as Gemini sends it on that path.
 */
import { GeminiSseReader } from '../providers/gemini/translate.js';

export async function* sseAsJsonArray(body: Buffer | AsyncIterable<Buffer | string>): AsyncIterable<string> {
  const reader = new GeminiSseReader();
  let started = false;
  const frame = (data: string): string => {
    const prefix = started ? ',\r\n' : '[';
    started = true;
    return prefix + data;
  };
  for await (const chunk of Buffer.isBuffer(body) ? [body] : body) {
    const out = reader.push(chunk).map((event) => frame(event.data)).join('');
    if (out.length > 0) yield out;
  }
  const tail = reader.end().map((event) => frame(event.data)).join('');
  yield `${started ? tail : '['}]`;
}
