import assert from 'node:assert/strict';
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { drained } from '../../src/server/backpressure.js';

describe('waiting for a slow client', () => {
  it('a stream that waits on a slow reader a thousand times leaves no listeners behind', async () => {
    let listeners: Record<string, number> = {};
    const server = createServer(async (_req, res: ServerResponse) => {
      const before = { close: res.listenerCount('close'), error: res.listenerCount('error'), drain: res.listenerCount('drain') };
      let waits = 0;
      const chunk = Buffer.alloc(64 * 1024, 'x');
      while (waits < 1000) {
        if (!res.write(chunk)) {
          await drained(res);
          waits++;
        }
      }
      listeners = {
        close: res.listenerCount('close') - before.close,
        error: res.listenerCount('error') - before.error,
        drain: res.listenerCount('drain') - before.drain,
      };
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve, reject) => {
      request({ host: '127.0.0.1', port }, (res) => {
        res.on('data', () => {});
        res.on('end', resolve);
      })
        .on('error', reject)
        .end();
    });
    server.close();
    assert.deepEqual(listeners, { close: 0, error: 0, drain: 0 });
  });
});
