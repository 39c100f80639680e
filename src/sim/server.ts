/**
 * The simulator's HTTP server: routes requests to the surfaces and runs the shared pipeline
 * auth → validate → admit (token buckets) → fault → paced answer → settle.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { countTokens, anthropicSurface, modelOne as anthropicModel, modelsPage, parseMessages } from './anthropic.js';
import { admit, applyWindow, createBuckets, settle, type KeyBuckets } from './limiter.js';
import { levelAt } from './bucket.js';
import { countGeminiTokens, geminiCall, geminiModel, geminiModelList, geminiModelNotFound, geminiSurface, parseEmbed, parseGenerate, type GeminiMode } from './gemini.js';
import { ollamaSurface, ollamaTags, parseOllamaChat, parseOllamaEmbed } from './ollama.js';
import { modelList, modelOne as openaiModel, openaiSurface, parseChat, parseEmbeddings } from './openai.js';
import { parseResponses } from './responses.js';
import type { OtpmMode, SimBucketSize, SimFaults, SimKey, SimOptions, SimStats, SimWindow, Simulator } from './options.js';
import type { MergeBehaviour } from './merged.js';
import { seededRandom } from './random.js';
import { bump, enter, leave, newCounter, resetCounter, snapshot, type Counter } from './stats.js';
import { isErrorReply, type ErrorReply, type ParseResult, type Surface } from './surface.js';

type Json = Record<string, unknown>;
type Parser = (body: Json, requestId: string) => ParseResult;
type Fault = 'reset' | 'stall' | 'stallAfterHeaders' | 'openingError' | 'overloaded' | 'server' | 'midStream' | 'cutBody';

/** Stats of Ollama traffic (which has no keys) are listed under this id. */
export const OLLAMA_STATS_ID = 'ollama';

interface KeyState {
  key: SimKey;
  buckets: KeyBuckets;
  counter: Counter;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, reply: ErrorReply, headers: Record<string, string>): void {
  res.writeHead(reply.status, {
    ...headers,
    ...reply.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(reply.body),
  });
  res.end(reply.body);
}

class Simulation {
  private window: SimWindow;
  private bucket: SimBucketSize | undefined;
  private otpm: OtpmMode;
  private ttftMs = 0;
  private tokensPerSecond = Infinity;
  private fixedLength: number | undefined;
  private mergeAnswers: MergeBehaviour = 'follow';
  private faults: SimFaults = {};
  private readonly random: () => number;
  private readonly bySecret = new Map<string, KeyState>();
  private readonly byId = new Map<string, KeyState>();
  private readonly total = newCounter();
  private ollama: Counter | undefined;
  private seq = 0;
  private readonly prefix = Math.floor(Math.random() * 36 ** 4).toString(36).padStart(4, '0');

  constructor(options: SimOptions) {
    this.window = options.window ?? 'minute';
    this.bucket = options.bucket;
    this.otpm = options.otpm ?? 'generated';
    this.random = seededRandom(options.seed ?? 1);
    this.patch(options);
    const now = Date.now();
    for (const key of options.keys) {
      if (this.byId.has(key.id)) throw new Error(`simulator: duplicate key id "${key.id}"`);
      if (this.bySecret.has(key.key)) throw new Error(`simulator: key "${key.id}" reuses the secret of another key`);
      const state: KeyState = { key, buckets: createBuckets(key.limits, this.window, now, this.bucket, options.rateWindow), counter: newCounter() };
      this.bySecret.set(key.key, state);
      this.byId.set(key.id, state);
    }
  }

  patch(p: Partial<Pick<SimOptions, 'faults' | 'latency' | 'outputTokens' | 'window' | 'bucket' | 'otpm' | 'mergeAnswers'>>): void {
    if (p.faults) this.faults = { ...p.faults };
    if (p.mergeAnswers) this.mergeAnswers = p.mergeAnswers;
    if (p.latency) {
      this.ttftMs = Math.max(0, p.latency.ttftMs ?? 0);
      const tps = p.latency.tokensPerSecond;
      this.tokensPerSecond = tps !== undefined && tps > 0 ? tps : Infinity;
    }
    if ('outputTokens' in p) this.fixedLength = p.outputTokens !== undefined ? Math.max(1, Math.floor(p.outputTokens)) : undefined;
    if (p.otpm) this.otpm = p.otpm;
    const resize = (p.window !== undefined && p.window !== this.window) || 'bucket' in p;
    if (p.window) this.window = p.window;
    if ('bucket' in p) this.bucket = p.bucket;
    if (resize) {
      const now = Date.now();
      for (const s of this.byId.values()) applyWindow(s.buckets, s.key.limits, this.window, now, this.bucket);
    }
  }

  stats(): SimStats {
    const keys: [string, Counter][] = [...this.byId].map(([id, s]) => [id, s.counter]);
    if (this.ollama) keys.push([OLLAMA_STATS_ID, this.ollama]);
    return snapshot(this.total, keys);
  }

  resetStats(): void {
    resetCounter(this.total);
    for (const s of this.byId.values()) resetCounter(s.counter);
    if (this.ollama) resetCounter(this.ollama);
  }

  private uniqueId = (): string => `${this.prefix}${(++this.seq).toString(36)}`;

  handle(req: IncomingMessage, res: ServerResponse): void {
    this.route(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const body = JSON.stringify({ error: { message: `simulator failure: ${String(err)}`, type: 'server_error' } });
      res.writeHead(500, { 'content-type': 'application/json' }).end(body);
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    if (method === 'POST') {
      switch (path) {
        case '/v1/messages':
          return this.inference(anthropicSurface, parseMessages, req, res);
        case '/v1/chat/completions':
          return this.inference(openaiSurface, parseChat, req, res);
        case '/v1/embeddings':
          return this.inference(openaiSurface, parseEmbeddings, req, res);
        case '/v1/responses':
          return this.inference(openaiSurface, parseResponses, req, res);
        case '/api/embed':
          return this.inference(ollamaSurface, parseOllamaEmbed, req, res);
        case '/api/chat':
          return this.inference(ollamaSurface, parseOllamaChat, req, res);
        case '/v1/messages/count_tokens':
          return this.countTokens(req, res);
        case '/_sim/reset':
          this.resetStats();
          return this.json(res, 200, '{"ok":true}');
      }
      const call = geminiCall(path);
      if (call) return this.gemini(call.model, call.method, new URLSearchParams(q < 0 ? '' : url.slice(q + 1)), req, res);
    } else if (method === 'GET') {
      if (path === '/v1beta/models' || path.startsWith('/v1beta/models/')) return this.geminiModels(req, res, path, url.slice(path.length + 1));
      if (path === '/_sim/stats') return this.json(res, 200, JSON.stringify(this.stats()));
      if (path === '/api/tags') return this.json(res, 200, ollamaTags());
      if (path === '/v1/models' || path.startsWith('/v1/models/')) return this.models(req, res, path, url.slice(path.length + 1));
    }
    return this.notFound(req, res, method, path);
  }

  private json(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
    send(res, { status, body }, headers);
  }

  private nextRequestId(): string {
    return `req_sim${this.uniqueId()}`;
  }

  /** The caller's key on a surface that needs one; answers 401 itself when there is none. */
  private authenticate(surface: Surface, req: IncomingMessage, res: ServerResponse, requestId: string): KeyState | undefined {
    const secret = surface.credential(req);
    const state = typeof secret === 'string' ? this.bySecret.get(secret) : undefined;
    if (!state || this.faults.revokedKeys?.includes(state.key.id)) {
      send(res, surface.unauthorized(requestId, secret === undefined), { [surface.requestIdHeader]: requestId });
      return undefined;
    }
    return state;
  }

  private notFound(req: IncomingMessage, res: ServerResponse, method: string, path: string): void {
    const surface = path.startsWith('/api/')
      ? ollamaSurface
      : path.startsWith('/v1beta/')
        ? geminiSurface
        : req.headers['anthropic-version']
          ? anthropicSurface
          : openaiSurface;
    const requestId = this.nextRequestId();
    const message = surface === openaiSurface ? `Invalid URL (${method} ${path})` : 'Not Found';
    send(res, surface.error('not_found', message, requestId), { [surface.requestIdHeader]: requestId });
  }

  private async countTokens(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = this.nextRequestId();
    const headers = { 'request-id': requestId };
    if (!this.authenticate(anthropicSurface, req, res, requestId)) return;
    const parsed = await this.parseJson(anthropicSurface, req, requestId);
    send(res, 'error' in parsed ? parsed.error : countTokens(parsed.body, requestId), headers);
  }

  private models(req: IncomingMessage, res: ServerResponse, path: string, query: string): void {
    const anthropic = req.headers['anthropic-version'] !== undefined;
    const surface = anthropic ? anthropicSurface : openaiSurface;
    const requestId = this.nextRequestId();
    if (!this.authenticate(surface, req, res, requestId)) return;
    const headers = { [surface.requestIdHeader]: requestId };
    if (path === '/v1/models') return this.json(res, 200, anthropic ? modelsPage(new URLSearchParams(query)) : modelList(), headers);
    const id = decodeURIComponent(path.slice('/v1/models/'.length));
    const one = anthropic ? anthropicModel(id) : openaiModel(id);
    if (one) return this.json(res, 200, one, headers);
    send(res, surface.error('not_found', `The model '${id}' does not exist`, requestId, 'model'), headers);
  }

  /** `POST /v1beta/models/{model}:{method}`: generate (unary or streamed) or countTokens. */
  private async gemini(model: string, method: string, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (method === 'generateContent' || method === 'streamGenerateContent') {
      // Streaming is SSE with alt=sse, else one JSON array sent a piece at a time.
      const mode: GeminiMode = method === 'generateContent' ? 'unary' : query.get('alt') === 'sse' ? 'sse' : 'array';
      return this.inference(geminiSurface, (body) => parseGenerate(body, model, mode), req, res);
    }
    if (method === 'embedContent' || method === 'batchEmbedContents') {
      return this.inference(geminiSurface, (body) => parseEmbed(body, model, method === 'batchEmbedContents'), req, res);
    }
    if (method === 'countTokens') {
      const requestId = this.nextRequestId();
      if (!this.authenticate(geminiSurface, req, res, requestId)) return;
      const parsed = await this.parseJson(geminiSurface, req, requestId);
      return send(res, 'error' in parsed ? parsed.error : countGeminiTokens(parsed.body, model), { [geminiSurface.requestIdHeader]: requestId });
    }
    return this.notFound(req, res, 'POST', `/v1beta/models/${model}:${method}`);
  }

  private geminiModels(req: IncomingMessage, res: ServerResponse, path: string, query: string): void {
    const requestId = this.nextRequestId();
    if (!this.authenticate(geminiSurface, req, res, requestId)) return;
    const headers = { [geminiSurface.requestIdHeader]: requestId };
    if (path === '/v1beta/models') return this.json(res, 200, geminiModelList(new URLSearchParams(query)), headers);
    const id = decodeURIComponent(path.slice('/v1beta/models/'.length));
    const one = geminiModel(id);
    if (one) return this.json(res, 200, one, headers);
    send(res, geminiModelNotFound(id), headers);
  }

  private async parseJson(surface: Surface, req: IncomingMessage, requestId: string): Promise<{ body: Json } | { error: ErrorReply }> {
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return { error: surface.error('invalid_request', 'There was an error parsing the body: invalid JSON', requestId) };
    }
    if (!isObject(body)) return { error: surface.error('invalid_request', 'The request body must be a JSON object', requestId) };
    return { body };
  }

  /** At most one fault per request, each at its own rate (one draw, so the rates add up exactly). */
  private drawFault(stream: boolean): Fault | undefined {
    const f = this.faults;
    const rates: Array<[Fault, number | undefined]> = [
      ['reset', f.reset],
      ['stall', f.stall],
      ['stallAfterHeaders', f.stallAfterHeaders],
      ['overloaded', f.overloaded],
      ['server', f.serverError],
      ...(stream
        ? ([
            ['midStream', f.midStreamError],
            ['openingError', f.openingError],
          ] as Array<[Fault, number | undefined]>)
        : ([['cutBody', f.cutBody]] as Array<[Fault, number | undefined]>)),
    ];
    if (!rates.some(([, rate]) => rate)) return undefined;
    const draw = this.random();
    let edge = 0;
    for (const [fault, rate] of rates) {
      edge += rate ?? 0;
      if (draw < edge) return fault;
    }
    return undefined;
  }

  private async inference(surface: Surface, parse: Parser, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const total = this.total;
    const requestId = this.nextRequestId();
    const headers: Record<string, string> = { [surface.requestIdHeader]: requestId };
    bump(total, undefined, 'requests');
    let state: KeyState | undefined;
    let counter: Counter;
    if (surface.credential(req) === null) {
      counter = this.ollama ??= newCounter();
    } else {
      state = this.authenticate(surface, req, res, requestId);
      if (!state) return bump(total, undefined, 'errors');
      counter = state.counter;
    }
    counter.stats.requests++;

    const parsed = await this.parseJson(surface, req, requestId);
    const job = 'error' in parsed ? parsed.error : parse(parsed.body, requestId);
    if (isErrorReply(job)) {
      bump(total, counter, 'errors');
      return send(res, job, headers);
    }
    if (state && this.faults.forbiddenModels?.[state.key.id]?.includes(job.model)) {
      bump(total, counter, 'errors');
      const message = `Your API key does not have permission to use the specified resource (model: ${job.model}).`;
      return send(res, surface.error('permission', message, requestId, 'model'), headers);
    }

    let reserved = 0;
    if (state) {
      const now = Date.now();
      const verdict = admit(state.buckets, job.demand, this.otpm, now);
      Object.assign(headers, surface.limitHeaders(state.buckets, state.key.limits, now));
      if (!verdict.ok) {
        bump(total, counter, 'rateLimited');
        const b = state.buckets[verdict.dimension]!;
        const reply = surface.rateLimited({
          refusal: verdict,
          limits: state.key.limits,
          window: this.window,
          model: job.model,
          requestId,
          remaining: Math.max(0, Math.floor(levelAt(b, now))),
          capacity: b.capacity,
        });
        return send(res, reply, headers);
      }
      reserved = verdict.reserved;
    }
    bump(total, counter, 'inputTokens', job.demand.inputTokens);

    // Admitted: in flight until answered or the connection goes away; output is settled once.
    const fault = this.drawFault(job.stream);
    enter(total, counter);
    let sent = 0;
    let closed = false;
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      leave(total, counter);
      if (state) settle(state.buckets, reserved, sent, Date.now());
      bump(total, counter, 'outputTokens', sent);
      bump(total, counter, ok ? 'ok' : 'errors');
    };
    res.once('close', () => {
      closed = true;
      finish(false);
    });

    if (this.ttftMs > 0) await delay(this.ttftMs);
    if (closed) return;
    switch (fault) {
      case 'reset':
        req.socket.destroy();
        return;
      case 'stall':
        return; // never answer; the close listener settles when the client gives up
      case 'openingError':
        res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.end(surface.midStreamError());
        return finish(false);
      case 'stallAfterHeaders':
        res.writeHead(200, { ...headers, 'content-type': job.stream ? 'text/event-stream' : 'application/json' });
        res.flushHeaders();
        return;
      case 'overloaded':
      case 'server':
        send(res, surface.error(fault, fault === 'overloaded' ? 'Overloaded' : 'Internal server error', requestId), headers);
        return finish(false);
    }

    const reply = job.reply({ requestId, now: Date.now(), fixedLength: this.fixedLength, mergeAnswers: this.mergeAnswers, uniqueId: this.uniqueId });
    const tps = this.tokensPerSecond;
    if (!job.stream) {
      if (tps !== Infinity && reply.outputTokens > 0) await delay((reply.outputTokens * 1000) / tps);
      if (closed) return;
      const text = reply.frames[0]!.text;
      headers['content-type'] = reply.contentType;
      headers['content-length'] = String(Buffer.byteLength(text));
      res.writeHead(200, headers);
      if (fault === 'cutBody') {
        // Half the promised bytes, then the connection goes.
        res.write(text.slice(0, Math.floor(text.length / 2)));
        setImmediate(() => req.socket.destroy());
        return finish(false);
      }
      res.end(text);
      sent = reply.outputTokens;
      return finish(true);
    }

    headers['content-type'] = reply.contentType;
    headers['cache-control'] = 'no-cache';
    res.writeHead(200, headers);
    if (tps === Infinity && fault !== 'midStream') {
      res.end(reply.frames.map((f) => f.text).join(''));
      sent = reply.outputTokens;
      return finish(true);
    }
    for (let i = 0; i < reply.frames.length; i++) {
      if (closed) return;
      const frame = reply.frames[i]!;
      res.write(frame.text);
      sent += frame.tokens;
      if (fault === 'midStream' && i === reply.firstDelta) {
        res.end(surface.midStreamError());
        return finish(false);
      }
      if (tps !== Infinity && frame.tokens > 0) await delay((frame.tokens * 1000) / tps);
    }
    if (closed) return;
    res.end();
    finish(true);
  }
}

export async function startSimulator(options: SimOptions, listen: { host?: string; port?: number } = {}): Promise<Simulator> {
  const sim = new Simulation(options);
  const server: Server = createServer((req, res) => sim.handle(req, res));
  // Longer than common client pools' idle timeouts, so pooled connections are not cut under them.
  server.keepAliveTimeout = 65_000;
  const host = listen.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    stats: () => sim.stats(),
    resetStats: () => sim.resetStats(),
    setOptions: (patch) => sim.patch(patch),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
