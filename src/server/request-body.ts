/**
 * Receiving a request body: within a byte limit, chunk by chunk, and with a client that goes away
 * (or is cut off by the body timeout) answered as the client's fault rather than logged as ours.
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../pipeline/errors.js';
import { JsonDepthGauge } from '../pipeline/json-depth.js';

/**
 * Hands the body to `sink` as it arrives. A sink that throws, or a body past `limit`, stops the
 * reading and rejects with that error; the rest of the body is then drained unread.
 */
export function receiveBody(req: IncomingMessage, limit: number, sink: (chunk: Buffer) => void): Promise<void> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new GatewayError('too_large', `request body is ${declared} bytes; the limit is ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    let size = 0;
    const stop = (error: unknown) => {
      req.removeListener('data', onData);
      req.resume();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return stop(new GatewayError('too_large', `request body exceeds the limit of ${limit} bytes`));
      try {
        sink(chunk);
      } catch (error) {
        stop(error);
      }
    };
    req.on('data', onData);
    req.on('end', () => resolve());
    const cut = () => reject(new GatewayError('invalid_request', 'the request body ended before it was complete'));
    req.on('error', cut);
    req.on('close', () => {
      if (!req.complete) cut();
    });
  });
}

/** A JSON body whole, for bodies bounded by server.max_body_bytes; refused as it arrives if it nests too deep. */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const gauge = new JsonDepthGauge();
  await receiveBody(req, limit, (chunk) => {
    gauge.write(chunk);
    chunks.push(chunk);
  });
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
