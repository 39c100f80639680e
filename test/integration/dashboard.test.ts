/**
 * Issue 6: the dashboard at / shows live figures while traffic flows, and updates without a reload.
 * Debian's chromium driven by playwright-core; the screenshot goes to test-output/dashboard.png.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { defaultConfig, simKeys, startStack } from '../support/stack.js';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN_KEY = 'admin-key';
const SCREENSHOT = resolve('test-output/dashboard.png');

// Skipped on the test itself, not the suite: the runner's summary counts only skipped tests.
const missing = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium)`;

describe('live dashboard', () => {
  it('shows per-key quotas, requests and recent requests, and updates them without reloading', { skip: missing }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'spillway-dashboard-'));
    const keys = simKeys(2, { rpm: 600, itpm: 1_000_000, otpm: 1_000_000 });
    const stack = await startStack({
      sim: { keys, latency: { ttftMs: 30, tokensPerSecond: 400 } },
      config: (simUrl, simKeyList) => ({ ...defaultConfig(simUrl, simKeyList), server: { auth: { keys: ['client-key'] } }, admin: { keys: [ADMIN_KEY] }, data_dir: dataDir }),
    });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    let traffic = true;
    const fire = async (i: number) => {
      const model = i % 3 === 0 ? 'gpt-4o-mini' : 'claude-haiku-4-5';
      try {
        if (model.startsWith('gpt')) await stack.openai.chat.completions.create({ model, messages: [{ role: 'user', content: `question ${i}` }] });
        else await stack.anthropic.messages.create({ model, max_tokens: 48, messages: [{ role: 'user', content: `question ${i}` }] });
      } catch {
        // 429s are part of what the dashboard shows.
      }
    };
    const flow = (async () => {
      for (let i = 0; traffic; i++) {
        await Promise.all([fire(i * 4), fire(i * 4 + 1), fire(i * 4 + 2), fire(i * 4 + 3)]);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1 });
      // Without the key: a sign-in page, no figures.
      const denied = await page.goto(`${stack.gateway.url}/`);
      assert.equal(denied?.status(), 401);
      assert.equal(await page.locator('#kpi-requests').count(), 0);

      const response = await page.goto(`${stack.gateway.url}/?key=${ADMIN_KEY}`);
      assert.equal(response?.status(), 200);
      const requestCount = async () => Number((await page.textContent('#kpi-requests'))!.replace(/,/g, ''));
      await page.waitForFunction(() => /^[\d,]+$/.test(String((globalThis as { document?: { getElementById(id: string): { textContent: string } | null } }).document?.getElementById('kpi-requests')?.textContent)));
      const first = await requestCount();
      // The figures move while traffic flows, on the same page load.
      let later = first;
      for (let i = 0; i < 40 && later <= first; i++) {
        await page.waitForTimeout(250);
        later = await requestCount();
      }
      assert.ok(later > first, `request count went from ${first} to ${later} without a reload`);
      assert.equal(await page.evaluate('performance.getEntriesByType("navigation").length'), 1);

      assert.match((await page.textContent('#connection'))!, /live/);
      // One quota card per provider key, with gauges for the limits it knows.
      assert.equal(await page.locator('.key').count(), 4);
      assert.ok((await page.locator('.key[data-key="anthropic/k1"] .gauge').count()) >= 1);
      assert.match((await page.textContent('.key[data-key="anthropic/k1"] .gauge[data-dimension="rpm"] .fig'))!, /\d+% of 600/);
      // Recent requests, newest first, with who served them.
      const rows = page.locator('#recent tr');
      assert.ok((await rows.count()) >= 5);
      assert.match((await rows.first().textContent())!, /(claude-haiku-4-5|gpt-4o-mini).*(anthropic|openai)\/.*k[12].*200/);
      assert.match((await page.textContent('#kpi-cost'))!, /^\$\d/);
      assert.match((await page.textContent('#kpi-queue'))!, /^\d+$/);
      assert.match((await page.textContent('#kpi-cache'))!, /^(–|\d+(\.\d)?%)$/);

      await page.waitForTimeout(1200);
      mkdirSync('test-output', { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      console.log(`dashboard screenshot: ${SCREENSHOT}`);
    } finally {
      traffic = false;
      await flow;
      await browser.close();
      await stack.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
