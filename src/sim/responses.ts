/**
 * The simulator's POST /v1/responses, as OpenAI serves it: the same deterministic answers the
 * chat endpoint gives the same conversation, in the Responses shape (whole, or as the event
 * stream), with the same rate limits. It reads and writes the shape with spillway's own Responses
 * translators: what it is there for is to let spillway's native passthrough be tested end to end.
 */
import { InvalidRequest } from '../protocol/invalid.js';
import { SseParser } from '../protocol/sse.js';
import type { PivotAnswer } from '../pivot/index.js';
import { checkResponsesRequest, responsesToPivot } from '../surfaces/openai-responses/request.js';
import { pivotToResponse, type ResponseOptions } from '../surfaces/openai-responses/response.js';
import { PivotToResponsesStream } from '../surfaces/openai-responses/stream.js';
import { parseChat } from './openai.js';
import { isErrorReply, type ParseResult, type Reply } from './surface.js';

type Json = Record<string, unknown>;

export function parseResponses(body: Json): ParseResult {
  let options: ResponseOptions;
  let chat: Json;
  try {
    const request = checkResponsesRequest(body);
    options = { model: request.model, request };
    chat = responsesToPivot(request).request as Json;
  } catch (error) {
    if (!(error instanceof InvalidRequest)) throw error;
    const { message, param, code } = error.fault;
    return { status: 400, body: JSON.stringify({ error: { message, type: 'invalid_request_error', param, code } }) };
  }
  const job = parseChat(chat);
  if (isErrorReply(job)) return job;
  return { ...job, reply: (ctx) => inResponsesShape(job.reply(ctx), options, job.stream) };
}

/** A chat reply's frames, re-said as Responses: each frame's chunks become its events, so pacing stays. */
function inResponsesShape(reply: Reply, options: ResponseOptions, stream: boolean): Reply {
  if (!stream) {
    const answer = JSON.parse(reply.frames.map((frame) => frame.text).join('')) as PivotAnswer;
    return { ...reply, frames: [{ text: JSON.stringify(pivotToResponse(answer, options)), tokens: reply.outputTokens }] };
  }
  const parser = new SseParser();
  const events = new PivotToResponsesStream(options);
  const frames = reply.frames.map((frame) => ({ text: parser.push(frame.text).map((event) => events.push(event)).join(''), tokens: frame.tokens }));
  const last = frames.at(-1);
  if (last) last.text += parser.end().map((event) => events.push(event)).join('') + events.end();
  return { ...reply, frames };
}
