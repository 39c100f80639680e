/**
 * The floor for any gateway in Node: a bare HTTP proxy that reads the body, forwards it with undici
 * and relays the answer, with nothing else. bench/overhead.ts runs it beside spillway, so the cost
 * of the extra hop and the cost of spillway's own work show apart.
 *
 *   node --import tsx bench/bare-proxy.ts <port> <upstream base URL>
 */
import { createServer } from 'node:http';
import { Agent, request } from 'undici';

const [port, upstream] = [Number(process.argv[2]), process.argv[3]!];
const agent = new Agent({ connections: 64 });

createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const headers = { 'content-type': 'application/json', 'x-api-key': String(req.headers['x-api-key']), 'anthropic-version': '2023-06-01' };
    request(`${upstream}${req.url}`, { method: 'POST', headers, body: Buffer.concat(chunks), dispatcher: agent })
      .then(async (answer) => {
        const body = Buffer.from(await answer.body.arrayBuffer());
        res.writeHead(answer.statusCode, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
      })
      .catch(() => res.writeHead(502).end());
  });
}).listen(port, '127.0.0.1');
