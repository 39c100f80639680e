/**
 * POST /v1/responses: the Responses surface on the chat path. The request is translated to the
 * pivot (chat completions) and served as a chat request is — cached, planned, admitted, queued,
 * retried, metered — and its answer, whole or streamed, translated back. So every provider a chat
 * client reaches, a Responses client reaches too, through the translators providers already have.
 *
 * A response is kept (store not false) with its conversation, for `previous_response_id`.
 */
import { InvalidRequest } from '../protocol/invalid.js';
import type { OpenAIErrorBody } from '../protocol/openai.js';
import { SseParser } from '../protocol/sse.js';
import type { Priority } from '../quota/queue.js';
import type { PivotAnswer } from '../pivot/index.js';
import { conversationOf, type ResponseKeeper } from '../surfaces/openai-responses/kept.js';
import { checkResponsesRequest, inputItems, responsesToPivot } from '../surfaces/openai-responses/request.js';
import { pivotToResponse, type ResponseOptions } from '../surfaces/openai-responses/response.js';
import { PivotToResponsesStream } from '../surfaces/openai-responses/stream.js';
import type { InputItem, ResponseObject, ResponsesRequest } from '../surfaces/openai-responses/wire.js';
import { bodyOf, jsonAnswer, watched, type Answer } from './answer.js';
import { serveChatCached } from './cached-chat.js';
import type { Engine } from './engine.js';
import { GatewayError, invalidRequest } from './errors.js';
import { parseJsonObject, type ChatRequest } from './ingress.js';
import type { RequestContext } from './request-context.js';

export interface ResponsesEngine extends Engine {
  responses: ResponseKeeper;
}

/** The request and the conversation it continues, checked: a fault is a 400 in OpenAI's words. */
async function readRequest(gw: ResponsesEngine, exchange: RequestContext, raw: Buffer): Promise<{ body: ResponsesRequest; history: InputItem[] }> {
  let body: ResponsesRequest;
  try {
    body = checkResponsesRequest(parseJsonObject('responses', raw));
  } catch (error) {
    throw error instanceof InvalidRequest ? invalidRequest(error.fault) : error;
  }
  const previous = body.previous_response_id;
  if (typeof previous !== 'string') return { body, history: [] };
  const kept = await gw.responses.get(previous, exchange.owner, Date.now());
  if (!kept) {
    throw new GatewayError('invalid_request', `Previous response with id '${previous}' not found.`, { param: 'previous_response_id', code: 'previous_response_not_found' });
  }
  return { body, history: kept.items };
}

function pivotChat(body: ResponsesRequest, history: InputItem[], raw: Buffer): ChatRequest {
  let translated;
  try {
    translated = responsesToPivot(body, history);
  } catch (error) {
    throw error instanceof InvalidRequest ? invalidRequest(error.fault) : error;
  }
  const { request, dropped } = translated;
  return {
    surface: 'openai',
    model: request.model,
    stream: request.stream === true,
    maxTokens: (request.max_completion_tokens ?? request.max_tokens) ?? undefined,
    body: request,
    raw: Buffer.from(JSON.stringify(request)),
    translated: true,
    dropped,
    native: nativeRequest(body, history, raw),
  };
}

/**
 * The request for a provider that serves Responses itself. A conversation spillway keeps goes in
 * as input items, since that provider may never have seen it: without the ids spillway gave its
 * items, and without reasoning items (they are only valid where they were made).
 */
function nativeRequest(body: ResponsesRequest, history: InputItem[], raw: Buffer): NonNullable<ChatRequest['native']> {
  if (history.length === 0) return { surface: 'responses', body, raw };
  const carried = history.filter((item) => item.type !== 'reasoning').map(({ id: _id, ...item }) => item);
  const { previous_response_id: _previous, ...rest } = body;
  const expanded = { ...rest, input: [...carried, ...inputItems(body.input)] };
  return { surface: 'responses', body: expanded, raw: Buffer.from(JSON.stringify(expanded)) };
}

export async function serveResponses(gw: ResponsesEngine, exchange: RequestContext, raw: Buffer, priority: Priority, maxWaitMs: number): Promise<Answer | undefined> {
  const { body, history } = await readRequest(gw, exchange, raw);
  const chat = pivotChat(body, history, raw);
  const answer = await serveChatCached(gw, exchange, chat, priority, maxWaitMs);
  // A refusal is already an OpenAI error body, the shape Responses clients read too.
  if (!answer || answer.status !== 200) return answer;
  const options: ResponseOptions = { model: body.model, request: body };
  const keep = (response: ResponseObject): void => {
    if (body.store === false || response.status === 'failed') return;
    gw.responses.put({ owner: exchange.owner, response, items: conversationOf(history, body, response) }, Date.now()).catch((error: unknown) => {
      gw.log(`spillway: could not keep response ${response.id}: ${error instanceof Error ? error.message : String(error)}`);
    });
  };
  if (answer.native) return keptAsItPasses(answer, keep);
  const headers = withoutLength(answer.headers);
  if (!chat.stream) {
    const pivot = JSON.parse((await bodyOf(answer)).toString('utf8')) as PivotAnswer;
    const response = pivotToResponse(pivot, options);
    keep(response);
    return jsonAnswer(200, JSON.stringify(response), headers, await answer.usage);
  }
  const translator = new PivotToResponsesStream(options);
  return {
    status: 200,
    headers: { ...headers, 'content-type': 'text/event-stream' },
    body: translatedStream(answer.body, translator, keep),
    usage: answer.usage,
  };
}

/** A native answer goes to the client as it came; the response it ends with is kept on the way. */
function keptAsItPasses(answer: Answer, keep: (response: ResponseObject) => void): Answer {
  const take = (response: unknown): void => {
    if ((response as ResponseObject | undefined)?.object === 'response') keep(response as ResponseObject);
  };
  if (Buffer.isBuffer(answer.body)) {
    try {
      take(JSON.parse(answer.body.toString('utf8')));
    } catch {
      // Not a response object: nothing to keep.
    }
    return answer;
  }
  const parser = new SseParser();
  const body = watched(answer.body, {
    passed(chunk) {
      for (const event of parser.push(chunk)) {
        if (event.event !== 'response.completed' && event.event !== 'response.incomplete') continue;
        try {
          take((JSON.parse(event.data) as { response?: unknown }).response);
        } catch {
          // A malformed event: nothing to keep.
        }
      }
    },
    ended() {},
  });
  return { ...answer, body };
}

function withoutLength(headers: Answer['headers']): Record<string, string | string[]> {
  const out = { ...headers };
  delete out['content-length'];
  return out;
}

/**
 * The pivot stream read event by event into Responses events. A failure of the pivot stream
 * becomes `response.failed` (Codex and the SDKs read that, not a chat error chunk); letting go of
 * this stream lets go of the pivot's, even before the first read.
 */
function translatedStream(pivot: Answer['body'], translator: PivotToResponsesStream, keep: (response: ResponseObject) => void): AsyncIterable<string> {
  const parser = new SseParser();
  // A stream replayed from the cache comes whole, as one buffer.
  const source = Buffer.isBuffer(pivot) ? [pivot][Symbol.iterator]() : pivot[Symbol.asyncIterator]();
  let finished = false;
  /** After the response has ended, the pivot is read to its end too, so it settles as completed. */
  const drained = async (): Promise<IteratorResult<string>> => {
    try {
      while (!(await source.next()).done);
    } catch {
      // The answer is complete; what the upstream does after it does not matter.
    }
    return { done: true, value: undefined };
  };
  const finish = (text: string): IteratorResult<string> => {
    finished = true;
    const response = translator.result();
    if (response) keep(response);
    return { done: false, value: text };
  };
  return {
    [Symbol.asyncIterator]: () => ({
      async next(): Promise<IteratorResult<string>> {
        for (;;) {
          if (finished) return drained();
          let read: IteratorResult<Buffer | string>;
          try {
            read = await source.next();
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            const failure: OpenAIErrorBody = { error: { message, type: 'server_error', param: null, code: 'upstream_error' } };
            return finish(translator.push({ data: JSON.stringify(failure) }));
          }
          if (read.done) return finish(parser.end().map((event) => translator.push(event)).join('') + translator.end());
          const text = parser.push(read.value).map((event) => translator.push(event)).join('');
          if (translator.result()) return finish(text);
          if (text !== '') return { done: false, value: text };
        }
      },
      async return(): Promise<IteratorResult<string>> {
        finished = true;
        await source.return?.();
        return { done: true, value: undefined };
      },
    }),
  };
}
