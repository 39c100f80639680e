/** A webhook receiver on loopback that keeps every JSON body POSTed to it. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookSink {
  url: string;
  bodies: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startWebhookSink(): Promise<WebhookSink> {
  const bodies: Array<Record<string, unknown>> = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(raw) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
