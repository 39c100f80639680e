/** Shared by the key-pool tests (in-process and Redis): the same fake clock start, demand and checks. */
import assert from 'node:assert/strict';
import type { Demand, ReserveResult, Reservation } from '../../src/quota/types.js';

export const T0 = 1_700_000_000_000;
export const small: Demand = { inputTokens: 100, outputTokens: 100 };

export function reserved(result: ReserveResult): Reservation {
  assert.ok(result.ok, `expected room, got a wait of ${result.ok ? 0 : result.waitMs} ms`);
  return result.reservation;
}

export function waitOf(result: ReserveResult): number {
  assert.ok(!result.ok, 'expected no room');
  return result.waitMs;
}
