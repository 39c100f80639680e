/**
 * A batch request as the request path sees it: the batch's headers and owner, no socket. It goes
 * through exactly the path interactive requests take (plan, admission at batch priority, dispatch,
 * retries, translation), and the runner reads the answer it returns as a value.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { answerHeaders } from '../pipeline/answer-headers.js';
import type { RequestContext } from '../pipeline/request-context.js';

/** `owner`: the batch's, so each request acts for the client that created the batch. */
export function batchRequestContext(requestId: string, owner: string, headers: IncomingHttpHeaders, signal: AbortSignal): RequestContext {
  return {
    req: { headers, url: '/v1/messages' },
    requestId,
    surface: 'anthropic',
    owner,
    signal,
    spillwayHeaders: answerHeaders(),
    trace: { startedAt: Date.now() },
  };
}
