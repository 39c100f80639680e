/**
 * A tenant's budget on the request path: the expected cost (estimated tokens at the route's first
 * target's price) is held before admission and settled with the real cost when the answer's usage
 * is known; a tenant whose budget is spent is refused with a 429 that names the budget and when it
 * resets. No budget, no hold.
 */
import { costOf, priceTable } from '../observe/prices.js';
import type { Demand, Usage } from '../quota/types.js';
import type { Engine } from './engine.js';
import { GatewayError } from './errors.js';
import type { RequestContext } from './request-context.js';

/** Settles the hold: the model that answered and its usage, or undefined when nothing was served. */
export type SettleSpend = (served: { model: string; usage: Usage } | undefined) => void;

const usd = (value: number) => `$${value.toFixed(value < 1 ? 4 : 2)}`;

export async function holdBudget(gw: Engine, exchange: RequestContext, model: string, demand: Demand): Promise<SettleSpend | undefined> {
  const ledger = exchange.tenant && gw.tenants.ledgerOf(exchange.tenant);
  if (!ledger) return undefined;
  const prices = priceTable(gw.config.prices);
  const expected = costOf(prices, model, demand.inputTokens, demand.outputTokens) ?? 0;
  const now = Date.now();
  const held = await ledger.reserve(expected, now);
  if (!held.ok) {
    const { window, limitUsd, spentUsd, resetsAt } = held.refusal;
    exchange.trace.rejected = 'budget';
    const zone = ledger.budget.timeZone;
    throw new GatewayError(
      'over_budget',
      `tenant "${exchange.tenant!.name}" has used its ${window} budget of ${usd(limitUsd)} (spent ${usd(spentUsd)}); it resets at ${new Date(resetsAt).toISOString()}${zone === 'UTC' ? '' : ` (midnight ${zone})`}`,
      { retryAfterMs: resetsAt - now, code: 'insufficient_quota' },
    );
  }
  let settled = false;
  return (served) => {
    if (settled) return;
    settled = true;
    const actual = served ? (costOf(prices, served.model, served.usage.inputTokens, served.usage.outputTokens) ?? 0) : 0;
    ledger.settle(expected, held, actual, Date.now());
  };
}
