/**
 * Issue 4: a config change of routes applies to the next request without a restart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfigFile } from '../../src/config/load.js';
import { watchConfig } from '../../src/config/reload.js';
import { startGateway } from '../../src/server/gateway.js';
import { startSimulator } from '../../src/sim/index.js';
import { generousLimits } from '../support/stack.js';

it('editing the config file moves the next request to the new route; unchanged providers keep their pool', async () => {
  const sim = await startSimulator({ keys: [{ id: 'k', key: 'sk-k', limits: generousLimits }] });
  const dir = mkdtempSync(join(tmpdir(), 'spillway-reload-'));
  const file = join(dir, 'spillway.yaml');
  const config = (target: string) => ({
    providers: {
      anthropic: { type: 'anthropic', base_url: sim.url, keys: [{ id: 'k', key: 'sk-k' }] },
      compat: { type: 'openai', base_url: `${sim.url}/v1`, keys: [{ id: 'k', key: 'sk-k' }] },
    },
    routes: { '*': { targets: target === 'compat' ? [{ provider: 'compat', model: 'gpt-4o-mini' }] : [{ provider: 'anthropic' }] } },
  });
  writeFileSync(file, stringify(config('anthropic')));
  const gateway = await startGateway(loadConfigFile(file), { port: 0, quiet: true });
  const logs: string[] = [];
  const watcher = watchConfig(file, gateway.gateway, (line) => logs.push(line), { debounceMs: 20, signal: false });
  try {
    const client = new Anthropic({ baseURL: gateway.url, apiKey: 'x', maxRetries: 0 });
    const ask = () =>
      client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    assert.equal((await ask()).response.headers.get('x-spillway-provider'), 'anthropic');
    const poolBefore = gateway.gateway.providers.get('anthropic')!.pool;

    writeFileSync(file, stringify(config('compat')));
    const deadline = Date.now() + 3000;
    while (gateway.gateway.config.routes['*']!.targets[0]!.provider !== 'compat' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const { data, response } = await ask();
    assert.equal(response.headers.get('x-spillway-provider'), 'compat');
    assert.equal(data.model, 'claude-sonnet-4-6');
    assert.equal(gateway.gateway.providers.get('anthropic')!.pool, poolBefore, 'the unchanged provider kept its pool');

    // A broken file is reported and ignored.
    writeFileSync(file, 'providers: {}\n');
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(watcher.reload() === false && logs.some((line) => /not reloaded/.test(line)));
    assert.equal((await ask()).response.headers.get('x-spillway-provider'), 'compat');
  } finally {
    watcher.close();
    await gateway.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
