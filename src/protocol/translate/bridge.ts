/**
 * A Bridge joins one client surface to one provider protocol that differs from it: it translates
 * the request body, the whole answer, upstream errors and the stream, and reads the upstream's own
 * usage on the way (settling needs the provider's count, whatever the client speaks).
 * Same-protocol traffic never comes here: it is relayed byte for byte.
 */
import type { AnthropicMessage, AnthropicMessagesRequest } from '../anthropic.js';
import type { OpenAIChatCompletion, OpenAIChatRequest, OpenAIErrorBody } from '../openai.js';
import { SseParser, type SseEvent } from '../sse.js';
import type { Protocol, Surface } from '../surface.js';
import { StreamUsage, usageOfBody, type TokenUsage } from '../usage.js';
import { anthropicErrorToOpenAI, openAIErrorToAnthropic } from './errors.js';
import {
  geminiErrorToOpenAI,
  GeminiSseReader,
  geminiToOpenAIResponse,
  GeminiToOpenAIChunks,
  geminiUsage,
  openAIToGeminiRequest,
  type GeminiGenerateContentResponse,
} from './gemini.js';
import { NdjsonLines, OllamaToAnthropicStream, OllamaToOpenAIStream } from './ollama-stream.js';
import { anthropicToOllamaRequest, ollamaToAnthropicResponse, ollamaToOpenAIResponse, openAIToOllamaRequest, type OllamaChatResponse } from './ollama.js';
import { takesReasoningEffort } from './reasoning.js';
import { anthropicToOpenAIRequest } from './request-to-openai.js';
import { openAIToAnthropicRequest } from './request-to-anthropic.js';
import { anthropicToOpenAIResponse, openAIToAnthropicResponse } from './response.js';
import { AnthropicToOpenAIStream } from './stream-to-openai.js';
import { OpenAIToAnthropicStream } from './stream-to-anthropic.js';

export interface BridgeOptions {
  surface: Surface;
  protocol: Protocol;
  /** The model name the client asked for: answers carry it, not the upstream's. */
  requestedModel: string;
  /** OpenAI clients get the usage chunk only when they asked for it. */
  includeUsage: boolean;
}

/** Upstream bytes in, client bytes out, usage on the side. */
export interface StreamBridge {
  push(chunk: Uint8Array): string;
  /** The upstream closed: finish the client's stream (an error event if it was cut short). */
  end(): string;
  /** The upstream's own count, or undefined when it reported none. */
  usage(): TokenUsage | undefined;
}

export interface Bridge {
  /** The body for the provider, and what had no equivalent there. */
  request(body: Record<string, unknown>, model: string, stream: boolean): { body: string; dropped: string[] };
  /** Headers the provider's protocol needs that a client of another surface does not send. */
  headers: Record<string, string>;
  /** A whole upstream answer → the client's shape, with the upstream's usage. */
  response(text: string, now: number): { body: string; usage: TokenUsage | undefined };
  /** An upstream error → the client's shape and the status its SDK expects. */
  error(status: number, text: string): { status: number; body: string };
  stream(now: number): StreamBridge;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** An OpenAI-shaped error body from any upstream error (Ollama's `{error: "…"}`, Gemini's, plain text). */
function genericErrorToOpenAI(status: number, body: unknown): { status: number; body: OpenAIErrorBody } {
  const error = (body as { error?: unknown } | null)?.error;
  const message =
    typeof error === 'string'
      ? error
      : typeof (error as { message?: unknown } | undefined)?.message === 'string'
        ? (error as { message: string }).message
        : typeof body === 'string' && body.length > 0
          ? body.slice(0, 500)
          : `upstream error (HTTP ${status})`;
  const type = status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  const code = status === 429 ? 'rate_limit_exceeded' : null;
  return { status: status === 529 ? 503 : status, body: { error: { message, type, param: null, code } } };
}

/** The client's error from an OpenAI-shaped one. */
function openAIErrorToSurface(surface: Surface, status: number, body: OpenAIErrorBody | unknown): { status: number; body: string } {
  if (surface === 'openai') return { status, body: JSON.stringify(body) };
  const translated = openAIErrorToAnthropic(status, body);
  return { status: translated.status, body: JSON.stringify(translated.body) };
}

/** SSE upstream → translator fed event by event; usage read from the same events. */
class SseStreamBridge implements StreamBridge {
  private readonly parser = new SseParser();
  constructor(
    private readonly translate: { push(event: SseEvent): string; end(): string },
    private readonly tally: { push(event: SseEvent): void; usage(): TokenUsage | undefined },
  ) {}

  push(chunk: Uint8Array): string {
    return this.parser.push(chunk).map((event) => this.one(event)).join('');
  }

  end(): string {
    return this.parser.end().map((event) => this.one(event)).join('') + this.translate.end();
  }

  usage(): TokenUsage | undefined {
    return this.tally.usage();
  }

  private one(event: SseEvent): string {
    this.tally.push(event);
    return this.translate.push(event);
  }
}

/** StreamUsage as a tally that says "none" when the provider reported nothing. */
function streamTally(protocol: 'anthropic' | 'openai'): { push(event: SseEvent): void; usage(): TokenUsage | undefined } {
  const usage = new StreamUsage(protocol);
  let seen = false;
  return {
    push(event) {
      usage.push(event);
      if (event.data.includes('"usage"')) seen = true;
    },
    usage: () => (seen ? usage.usage(0) : undefined),
  };
}

/** An OpenAI client served by an Anthropic provider. */
function toAnthropicProvider(opts: BridgeOptions): Bridge {
  return {
    headers: { 'anthropic-version': '2023-06-01' },
    request(body, model, stream) {
      const { request, dropped } = openAIToAnthropicRequest(body as unknown as OpenAIChatRequest, { model });
      if (stream) request.stream = true;
      return { body: JSON.stringify(request), dropped };
    },
    response(text, now) {
      const message = JSON.parse(text) as AnthropicMessage;
      return {
        body: JSON.stringify(anthropicToOpenAIResponse(message, { model: opts.requestedModel, now }).response),
        usage: usageOfBody('anthropic', message),
      };
    },
    error(status, text) {
      const translated = anthropicErrorToOpenAI(status, parseJson(text));
      return { status: translated.status, body: JSON.stringify(translated.body) };
    },
    stream(now) {
      const translate = new AnthropicToOpenAIStream({ model: opts.requestedModel, now, includeUsage: opts.includeUsage });
      return new SseStreamBridge(translate, streamTally('anthropic'));
    },
  };
}

/** An Anthropic client served by an OpenAI-compatible provider. */
function toOpenAIProvider(opts: BridgeOptions): Bridge {
  return {
    headers: {},
    request(body, model) {
      // Compatible servers (vLLM, llama.cpp, DeepSeek) know max_tokens, and OpenAI's chat models take
      // it too; its reasoning models take only max_completion_tokens.
      const maxTokensField = takesReasoningEffort(model) ? 'max_completion_tokens' : 'max_tokens';
      const { request, dropped } = anthropicToOpenAIRequest(body as unknown as AnthropicMessagesRequest, { model, maxTokensField });
      return { body: JSON.stringify(request), dropped };
    },
    response(text) {
      const completion = JSON.parse(text) as OpenAIChatCompletion;
      return {
        body: JSON.stringify(openAIToAnthropicResponse(completion, { model: opts.requestedModel }).response),
        usage: usageOfBody('openai', completion),
      };
    },
    error(status, text) {
      return openAIErrorToSurface('anthropic', status, parseJson(text));
    },
    stream() {
      return new SseStreamBridge(new OpenAIToAnthropicStream({ model: opts.requestedModel }), streamTally('openai'));
    },
  };
}

function toOllama(opts: BridgeOptions): Bridge {
  return {
    headers: {},
    request(body, model, stream) {
      const { request, dropped } =
        opts.surface === 'anthropic'
          ? anthropicToOllamaRequest(body as unknown as AnthropicMessagesRequest, { model })
          : openAIToOllamaRequest(body as unknown as OpenAIChatRequest, { model });
      request.stream = stream; // Ollama streams unless told not to
      return { body: JSON.stringify(request), dropped };
    },
    response(text, now) {
      const answer = JSON.parse(text) as OllamaChatResponse;
      const options = { model: opts.requestedModel, now };
      const out: AnthropicMessage | OpenAIChatCompletion = opts.surface === 'anthropic' ? ollamaToAnthropicResponse(answer, options) : ollamaToOpenAIResponse(answer, options);
      return { body: JSON.stringify(out), usage: usageOfBody('ollama', answer) };
    },
    error(status, text) {
      const openai = genericErrorToOpenAI(status, parseJson(text));
      return openAIErrorToSurface(opts.surface, openai.status, openai.body);
    },
    stream(now) {
      const translate =
        opts.surface === 'anthropic'
          ? new OllamaToAnthropicStream({ model: opts.requestedModel, now })
          : new OllamaToOpenAIStream({ model: opts.requestedModel, now, includeUsage: opts.includeUsage });
      // Usage is in the last line (done: true); lines are read a second time on the side for it.
      const lines = new NdjsonLines();
      let usage: TokenUsage | undefined;
      const tally = (line: string) => {
        if (!line.includes('"done":true') && !line.includes('"done": true')) return;
        const parsed = parseJson(line);
        usage = usageOfBody('ollama', parsed) ?? usage;
      };
      return {
        push(chunk) {
          for (const line of lines.push(chunk)) tally(line);
          return translate.push(chunk);
        },
        end() {
          for (const line of lines.end()) tally(line);
          return translate.end();
        },
        usage: () => usage,
      };
    },
  };
}

/** Gemini through the OpenAI shapes, as Ollama is: one set of Gemini translators serves both surfaces. */
function toGemini(opts: BridgeOptions): Bridge {
  const toOpenAIRequest = (body: Record<string, unknown>, model: string): { request: OpenAIChatRequest; dropped: string[] } =>
    opts.surface === 'anthropic'
      ? anthropicToOpenAIRequest(body as unknown as AnthropicMessagesRequest, { model, maxTokensField: 'max_tokens' })
      : { request: body as unknown as OpenAIChatRequest, dropped: [] };
  return {
    headers: {},
    request(body, model) {
      const viaOpenAI = toOpenAIRequest(body, model);
      const { request, dropped } = openAIToGeminiRequest(viaOpenAI.request);
      return { body: JSON.stringify(request), dropped: [...new Set([...viaOpenAI.dropped, ...dropped])] };
    },
    response(text, now) {
      const answer = JSON.parse(text) as GeminiGenerateContentResponse;
      const completion = geminiToOpenAIResponse(answer, { model: opts.requestedModel, now });
      const body = opts.surface === 'openai' ? completion : openAIToAnthropicResponse(completion, { model: opts.requestedModel }).response;
      return { body: JSON.stringify(body), usage: geminiUsage(answer) };
    },
    error(status, text) {
      const openai = geminiErrorToOpenAI(status, parseJson(text));
      return openAIErrorToSurface(opts.surface, openai.status, openai.body);
    },
    stream(now) {
      const chunks = new GeminiToOpenAIChunks({ model: opts.requestedModel, now, includeUsage: opts.surface === 'anthropic' || opts.includeUsage });
      const anthropic = opts.surface === 'anthropic' ? new OpenAIToAnthropicStream({ model: opts.requestedModel }) : undefined;
      const relay = (events: SseEvent[]) => events.map((event) => (anthropic ? anthropic.push(event) : `data: ${event.data}\n\n`)).join('');
      // Not SseStreamBridge: Gemini appends mid-stream errors as raw JSON, which GeminiSseReader also reads.
      const reader = new GeminiSseReader();
      return {
        push: (chunk) => relay(reader.push(chunk).flatMap((event) => chunks.push(event))),
        end: () => relay([...reader.end().flatMap((event) => chunks.push(event)), ...chunks.end()]) + (anthropic?.end() ?? ''),
        usage: () => chunks.usage(),
      };
    },
  };
}

/** The bridge from a client surface to a provider protocol, or undefined when they are the same. */
export function bridgeFor(opts: BridgeOptions): Bridge | undefined {
  if (opts.surface === opts.protocol) return undefined;
  switch (opts.protocol) {
    case 'anthropic':
      return toAnthropicProvider(opts);
    case 'openai':
      return toOpenAIProvider(opts);
    case 'ollama':
      return toOllama(opts);
    case 'gemini':
      return toGemini(opts);
  }
}
