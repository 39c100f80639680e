import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BudgetLedger, windowOf } from '../../src/tenants/budget.js';

const at = (iso: string) => Date.parse(iso);

describe('tenant budget', () => {
  it('daily and monthly windows start at midnight and on the 1st, in UTC or the configured zone', () => {
    assert.deepEqual(windowOf('daily', at('2026-11-30T18:00:00Z'), 'UTC'), { start: at('2026-11-30T00:00:00Z'), end: at('2026-12-01T00:00:00Z') });
    assert.deepEqual(windowOf('monthly', at('2026-12-31T23:59:59Z'), 'UTC'), { start: at('2026-12-01T00:00:00Z'), end: at('2027-01-01T00:00:00Z') });
    // 18:00 UTC is 10:00 in Los Angeles (UTC-8 in November): its day started at 08:00 UTC.
    assert.deepEqual(windowOf('daily', at('2026-11-30T18:00:00Z'), 'America/Los_Angeles'), { start: at('2026-11-30T08:00:00Z'), end: at('2026-12-01T08:00:00Z') });
    // 03:00 UTC is still the 29th there.
    assert.equal(windowOf('daily', at('2026-11-30T03:00:00Z'), 'America/Los_Angeles').start, at('2026-11-29T08:00:00Z'));
  });

  it('what is in flight counts: requests at once cannot overshoot by more than their own holds', () => {
    const ledger = new BudgetLedger({ dailyUsd: 1, timeZone: 'UTC' });
    const now = at('2026-11-30T12:00:00Z');
    const holds = [];
    for (let i = 0; i < 10; i++) {
      const hold = ledger.reserve(0.3, now);
      if (hold.ok) holds.push(hold);
    }
    assert.equal(holds.length, 4, 'refused once spent + in flight reached $1');
    for (const hold of holds) ledger.settle(0.3, hold.at, 0.1, now);
    assert.equal(ledger.reserve(0.3, now).ok, true, 'real costs were lower: room again');
  });

  it('refuses at the budget, naming the window and its reset; the next window starts from nothing', () => {
    const ledger = new BudgetLedger({ dailyUsd: 5, monthlyUsd: 6, timeZone: 'UTC' });
    const day1 = at('2026-11-30T12:00:00Z');
    const hold = ledger.reserve(1, day1);
    assert.ok(hold.ok);
    ledger.settle(1, hold.at, 5, day1);
    const refused = ledger.reserve(1, day1);
    assert.ok(!refused.ok);
    assert.deepEqual(refused.refusal, { window: 'daily', limitUsd: 5, spentUsd: 5, resetsAt: at('2026-12-01T00:00:00Z') });
    const day2 = ledger.reserve(0.5, at('2026-12-01T00:00:01Z'));
    assert.ok(day2.ok, 'a new day, and a new month');
    ledger.settle(0.5, day2.at, 6, at('2026-12-01T00:00:02Z'));
    const monthly = ledger.reserve(0.5, at('2026-12-02T00:00:00Z'));
    assert.ok(!monthly.ok);
    assert.equal(monthly.refusal.window, 'monthly');
    assert.equal(monthly.refusal.resetsAt, at('2027-01-01T00:00:00Z'));
  });
});
