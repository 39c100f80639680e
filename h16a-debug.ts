import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedis } from '/work/h16a/test/support/redis.js';
import { replicaConfig, spawnGateway, spawnSimulator } from '/work/h16a/test/support/replicas.js';
import { simKeys } from '/work/h16a/test/support/stack.js';
import { fireTenants } from '/work/h16a/test/support/tenant-load.js';
const keys = simKeys(2, { rpm: 600, itpm: 10_000_000, otpm: 10_000_000 });
const redis = await startRedis();
const sim = await spawnSimulator({ keys, window: 'second', latency: { ttftMs: 20, tokensPerSecond: 2000 } });
const dataDir = mkdtempSync(join(tmpdir(), 'h16a-dbg-'));
const tenants = { heavy: { keys: ['sk-heavy'], weight: 3 }, light: { keys: ['sk-light'], weight: 1 } };
const gws = await Promise.all([0, 1, 2].map(() => spawnGateway({ ...replicaConfig(sim.url, keys, redis.url, dataDir, 'dbg:'), admin: { keys: ['sk-admin'] }, tenants })));
const urls = gws.map((g) => g.url);
const client = new Redis(redis.url);
const timer = setInterval(async () => {
  const h = await client.hgetall('dbg:{anthropic}!fair:interactive');
  const z = await client.zrange('dbg:{anthropic}!fair:interactive:waiting', 0, -1, 'WITHSCORES');
  console.log(Date.now() % 100000, JSON.stringify(h), JSON.stringify(z));
}, 1000);
const [heavy, light] = await fireTenants(urls[0]!, [
  { apiKey: 'sk-heavy', count: 150, startMs: 0, baseURLs: [urls[0]!] },
  { apiKey: 'sk-light', count: 150, startMs: 0, baseURLs: [urls[1]!, urls[2]!] },
]);
clearInterval(timer);
const answers = [...heavy!.answeredAt.map((t) => ({ t, who: 'h' })), ...light!.answeredAt.map((t) => ({ t, who: 'l' }))].sort((a, b) => a.t - b.t);
console.log(answers.map((a) => a.who).join(''));
console.log(JSON.stringify(heavy!.failures), JSON.stringify(light!.failures));
for (const g of gws) console.log(g.output().split('\n').filter((l) => /warn|error|Redis/i.test(l)).slice(0, 5).join('\n'));
client.disconnect();
await Promise.all(gws.map((g) => g.stop()));
await sim.stop();
await redis.stop();
