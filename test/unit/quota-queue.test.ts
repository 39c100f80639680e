import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { KeyPool } from '../../src/quota/pool.js';
import { AdmissionQueue, QueueRejection, type Admission, type Candidate, type Clock } from '../../src/quota/queue.js';
import type { Demand, ReserveResult } from '../../src/quota/types.js';
import type { FleetTurns } from '../../src/quota/fair-share.js';
import { DELIVERY_JITTER_MS } from '../../src/quota/policy.js';

const T0 = 1_700_000_000_000;
const small: Demand = { inputTokens: 10, outputTokens: 10 };

class FakeClock implements Clock {
  t = T0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 1;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  }
  get pending(): number {
    return this.timers.length;
  }
  /** Moves time forward, firing due timers in order and letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await tick();
}

/** Tracks how each admission ends, in the order they end. */
function track(promise: Promise<Admission>, name: string, log: string[]) {
  const outcome: { admission?: Admission; rejection?: QueueRejection } = {};
  promise.then(
    (admission) => {
      outcome.admission = admission;
      log.push(name);
    },
    (error: QueueRejection) => {
      outcome.rejection = error;
      log.push(`${name}:${error.reason}`);
    },
  );
  return outcome;
}

function setup(limits: ConstructorParameters<typeof KeyPool>[1][number]['limits'], maxDepth = 100) {
  const clock = new FakeClock();
  const pool = new KeyPool('p', [{ id: 'k', limits }]);
  const queue = new AdmissionQueue({ maxDepth, clock });
  const candidates = (demand: Demand = small): Candidate[] => [{ pool, demand }];
  return { clock, pool, queue, candidates };
}

describe('admission queue', () => {
  it('admits at once when a candidate has room, with the first that fits winning', async () => {
    const clock = new FakeClock();
    const full = new KeyPool('full', [{ id: 'a', limits: { rpm: 60 } }]);
    full.tryReserve(small, clock.t);
    const free = new KeyPool('free', [{ id: 'b', limits: { rpm: 60 } }]);
    const queue = new AdmissionQueue({ maxDepth: 10, clock });
    const admission = await queue.admit([{ pool: full, demand: small }, { pool: free, demand: small }], { priority: 'interactive', deadline: clock.t + 60_000 });
    assert.equal(admission.candidateIndex, 1);
    assert.equal(admission.reservation.keyId, 'b');
    assert.equal(admission.queuedMs, 0);
  });

  it('releases waiters interactive before batch, first come first served within a priority', async () => {
    const { clock, queue, candidates } = setup({ rpm: 60 }); // one per second
    const log: string[] = [];
    const deadline = T0 + 60_000;
    track(queue.admit(candidates(), { priority: 'batch', deadline }), 'first', log);
    await settle();
    track(queue.admit(candidates(), { priority: 'batch', deadline }), 'b1', log);
    track(queue.admit(candidates(), { priority: 'batch', deadline }), 'b2', log);
    track(queue.admit(candidates(), { priority: 'interactive', deadline }), 'i1', log);
    track(queue.admit(candidates(), { priority: 'interactive', deadline }), 'i2', log);
    await settle();
    assert.deepEqual(log, ['first']);
    assert.equal(queue.depth, 4);
    // A second, and the refill the provider's full bucket lost while 'first' travelled (bucket.ts).
    await clock.advance(1099);
    assert.deepEqual(log, ['first'], 'nothing before the bucket refills');
    await clock.advance(1);
    assert.deepEqual(log, ['first', 'i1']);
    await clock.advance(3300);
    assert.deepEqual(log, ['first', 'i1', 'i2', 'b1', 'b2']);
    assert.equal(queue.depth, 0);
    assert.equal(clock.pending, 0, 'no timer left behind');
  });

  it('reports how long a request waited', async () => {
    const { clock, queue, candidates } = setup({ rpm: 60 });
    await queue.admit(candidates(), { priority: 'interactive', deadline: T0 + 10_000 });
    const waiting = queue.admit(candidates(), { priority: 'interactive', deadline: T0 + 10_000 });
    await clock.advance(1100);
    assert.equal((await waiting).queuedMs, 1100);
  });

  it('rejects at once, with an honest retry-after, a request the buckets cannot serve before its deadline', async () => {
    const { clock, pool, queue, candidates } = setup({ rpm: 60, itpm: 6000 });
    const big = { inputTokens: 1000, outputTokens: 0 };
    // A full bucket admits it, then owes 900 and the 10 its provider's loses at the cap meanwhile.
    await queue.admit(candidates(big), { priority: 'interactive', deadline: T0 + 1000 });
    await assert.rejects(queue.admit(candidates(big), { priority: 'interactive', deadline: T0 + 5000 }), (error: QueueRejection) => {
      assert.equal(error.reason, 'deadline');
      assert.equal(error.retryAfterMs, 10_100);
      return true;
    });
    assert.equal(clock.t, T0, 'rejected without waiting');
    assert.equal(queue.depth, 0);
    assert.ok(!pool.tryReserve(big, T0 + 10_099).ok);
    assert.ok(pool.tryReserve(big, T0 + 10_100).ok, 'after retryAfterMs the same demand fits');
  });

  it('rejects a waiter as soon as the one ahead of it takes the slot it could have had in time', async () => {
    const { clock, queue, candidates } = setup({ rpm: 60 });
    const log: string[] = [];
    await queue.admit(candidates(), { priority: 'batch', deadline: T0 + 60_000 });
    track(queue.admit(candidates(), { priority: 'batch', deadline: T0 + 60_000 }), 'ahead', log);
    const late = track(queue.admit(candidates(), { priority: 'batch', deadline: T0 + 1500 }), 'late', log);
    await settle();
    assert.deepEqual(log, [], 'the buckets alone would serve it at +1.1 s: it waits');
    await clock.advance(1100);
    assert.deepEqual(log, ['ahead', 'late:deadline']);
    assert.equal(late.rejection?.retryAfterMs, 1100);
  });

  it('a waiter that never fits is rejected at its deadline, leaving no timer', async () => {
    const clock = new FakeClock();
    const never = { id: 'never', tryReserve: (): ReserveResult => ({ ok: false, waitMs: 50 }) };
    const queue = new AdmissionQueue({ maxDepth: 10, clock });
    const log: string[] = [];
    track(queue.admit([{ pool: never, demand: small }], { priority: 'batch', deadline: T0 + 1000 }), 'w', log);
    await clock.advance(900);
    assert.deepEqual(log, []);
    await clock.advance(100);
    assert.deepEqual(log, ['w:deadline']);
    assert.equal(clock.pending, 0);
  });

  it('rejects when the queue is full', async () => {
    const { clock, queue, candidates } = setup({ rpm: 60 }, 2);
    await queue.admit(candidates(), { priority: 'interactive', deadline: T0 + 60_000 });
    const log: string[] = [];
    track(queue.admit(candidates(), { priority: 'interactive', deadline: T0 + 60_000 }), 'w1', log);
    track(queue.admit(candidates(), { priority: 'interactive', deadline: T0 + 60_000 }), 'w2', log);
    const third = track(queue.admit(candidates(), { priority: 'interactive', deadline: T0 + 60_000 }), 'w3', log);
    await settle();
    assert.deepEqual(log, ['w3:full']);
    assert.ok((third.rejection?.retryAfterMs ?? 0) >= 1000, 'retry-after is at least the bucket wait');
    assert.equal(queue.depth, 2);
    await clock.advance(2200);
    assert.deepEqual(log, ['w3:full', 'w1', 'w2']);
  });

  it('an aborted request leaves the queue and no longer holds up the ones behind it', async () => {
    const { clock, pool, queue, candidates } = setup({ rpm: 6000, itpm: 60_000 });
    pool.observe('k', { inputTokens: { limit: 60_000, remaining: 60_000 } }, T0);
    await queue.admit(candidates({ inputTokens: 55_000, outputTokens: 0 }), { priority: 'interactive', deadline: T0 + 60_000 });
    const log: string[] = [];
    const controller = new AbortController();
    // The big one would make the small one wait 60 s behind it (head of line).
    track(queue.admit(candidates({ inputTokens: 60_000, outputTokens: 0 }), { priority: 'interactive', deadline: T0 + 120_000, signal: controller.signal }), 'big', log);
    track(queue.admit(candidates(), { priority: 'interactive', deadline: T0 + 120_000 }), 'small', log);
    await clock.advance(1000);
    assert.deepEqual(log, []);
    assert.equal(queue.depth, 2);
    controller.abort();
    await settle();
    assert.deepEqual(log, ['big:aborted', 'small']);
    assert.equal(queue.depth, 0);
  });

  it('an already aborted signal is rejected without queueing', async () => {
    const { queue, candidates } = setup({ rpm: 60 });
    await assert.rejects(queue.admit(candidates(), { priority: 'batch', deadline: T0 + 1000, signal: AbortSignal.abort() }), { reason: 'aborted' });
  });

  it('notify() wakes a waiter as soon as a settle frees capacity', async () => {
    const { clock, pool, queue, candidates } = setup({ concurrency: 1 });
    const first = await queue.admit(candidates(), { priority: 'interactive', deadline: T0 + 60_000 });
    const log: string[] = [];
    track(queue.admit(candidates(), { priority: 'interactive', deadline: T0 + 60_000 }), 'second', log);
    await clock.advance(5000);
    assert.deepEqual(log, []);
    pool.settle(first.reservation, small, clock.t);
    queue.notify();
    await settle();
    assert.deepEqual(log, ['second']);
  });

  it('notify() re-checks waiters that no timer would wake', async () => {
    const clock = new FakeClock();
    let open = false;
    const gate = { id: 'gate', tryReserve: (demand: Demand, now: number): ReserveResult => (open ? { ok: true, reservation: { poolId: 'gate', keyId: 'g', demand, at: now } } : { ok: false, waitMs: 30_000 }) };
    const queue = new AdmissionQueue({ maxDepth: 10, clock });
    const log: string[] = [];
    track(queue.admit([{ pool: gate, demand: small }], { priority: 'batch', deadline: T0 + 60_000 }), 'w', log);
    await clock.advance(10);
    open = true;
    queue.notify();
    await settle();
    assert.deepEqual(log, ['w']);
  });

  it('a pool shared with other processes is re-tried every recheckMs: their answers free room no notify() announces', async () => {
    const clock = new FakeClock();
    let open = false;
    const shared = {
      id: 'shared',
      recheckMs: 100,
      tryReserve: (demand: Demand, now: number): ReserveResult => (open ? { ok: true, reservation: { poolId: 'shared', keyId: 's', demand, at: now } } : { ok: false, waitMs: 30_000 }),
    };
    const queue = new AdmissionQueue({ maxDepth: 10, clock });
    const log: string[] = [];
    const outcome = track(queue.admit([{ pool: shared, demand: small }], { priority: 'interactive', deadline: T0 + 60_000 }), 'w', log);
    await clock.advance(250);
    open = true; // another replica's answer corrected the shared bucket
    await clock.advance(100);
    assert.deepEqual(log, ['w']);
    assert.ok(outcome.admission!.queuedMs <= 300, `queued ${outcome.admission!.queuedMs} ms`);
  });

  it('a big request is not starved by later small ones on the same pool', async () => {
    const { clock, queue, candidates } = setup({ rpm: 6000, itpm: 6000 }); // 100 tokens/s
    await queue.admit(candidates({ inputTokens: 100, outputTokens: 0 }), { priority: 'batch', deadline: T0 + 60_000 });
    const log: string[] = [];
    track(queue.admit(candidates({ inputTokens: 100, outputTokens: 0 }), { priority: 'batch', deadline: T0 + 60_000 }), 'big', log);
    for (let i = 0; i < 5; i++) {
      await clock.advance(300);
      track(queue.admit(candidates({ inputTokens: 30, outputTokens: 0 }), { priority: 'batch', deadline: T0 + 60_000 }), `small${i}`, log);
    }
    await clock.advance(5000);
    assert.equal(log[0], 'big', `order: ${log.join(', ')}`);
    assert.equal(log.length, 6);
  });

  it('a request no key can serve is rejected as unavailable', async () => {
    const { pool, queue, candidates } = setup({ rpm: 60 });
    pool.rest('k', '401', T0);
    await assert.rejects(queue.admit(candidates(), { priority: 'interactive', deadline: T0 + 60_000 }), { reason: 'unavailable' });
  });

  it('accepts pools whose tryReserve is async (a shared store)', async () => {
    const clock = new FakeClock();
    const inner = new KeyPool('remote', [{ id: 'r', limits: { rpm: 60 } }]);
    const remote = { id: 'remote', tryReserve: async (demand: Demand, now: number) => inner.tryReserve(demand, now) };
    const queue = new AdmissionQueue({ maxDepth: 10, clock });
    const log: string[] = [];
    track(queue.admit([{ pool: remote, demand: small }], { priority: 'interactive', deadline: T0 + 60_000 }), 'a', log);
    track(queue.admit([{ pool: remote, demand: small }], { priority: 'interactive', deadline: T0 + 60_000 }), 'b', log);
    await settle();
    assert.deepEqual(log, ['a']);
    await clock.advance(1100);
    assert.deepEqual(log, ['a', 'b']);
  });
});

describe('admission queue and windowed limits', () => {
  it('a request waiting for a sliding window is released at the instant the oldest request leaves it, by one timer, not by polling', async () => {
    const clock = new FakeClock();
    const queue = new AdmissionQueue({ maxDepth: 100, clock });
    const pool = new KeyPool('p', [{ id: 'a', limits: { rpm: 6 }, window: { type: 'sliding', lengthMs: 10_000 } }]); // one per window
    let tries = 0;
    const counted = { id: pool.id, tryReserve: (d: Demand, now: number) => (tries++, pool.tryReserve(d, now)), settle: pool.settle.bind(pool) };
    const deadline = clock.t + 60_000;
    const start = clock.t;
    const first = await queue.admit([{ pool: counted, demand: small }], { priority: 'interactive', deadline });
    await clock.advance(200);
    // Answered: it reached the provider by now, and leaves the window 10 s from now.
    pool.observe('a', {}, clock.t, first.reservation, start);
    pool.settle(first.reservation, small, clock.t);
    queue.notify();
    await clock.advance(300);
    const log: string[] = [];
    const second = track(queue.admit([{ pool: counted, demand: small }], { priority: 'interactive', deadline }), 'second', log);
    await clock.advance(0);
    assert.equal(clock.pending, 1, 'one timer');
    await clock.advance(10_200 - 500 - 1);
    assert.deepEqual(log, []);
    await clock.advance(1);
    assert.deepEqual(log, ['second']);
    assert.equal(second.admission?.queuedMs, 10_200 - 500);
    assert.equal(tries, 3, 'tried on arrival, found a wait, tried again at the instant');
  });

  it('waiting behind a request still in flight: its answer re-arms the timer for the instant it leaves the window', async () => {
    const clock = new FakeClock();
    const queue = new AdmissionQueue({ maxDepth: 100, clock });
    const pool = new KeyPool('p', [{ id: 'a', limits: { rpm: 6 }, window: { type: 'sliding', lengthMs: 10_000 } }]);
    const deadline = clock.t + 60_000;
    const start = clock.t;
    const first = await queue.admit([{ pool, demand: small }], { priority: 'interactive', deadline });
    const log: string[] = [];
    const second = track(queue.admit([{ pool, demand: small }], { priority: 'interactive', deadline }), 'second', log);
    await clock.advance(3000);
    assert.deepEqual(log, [], 'the first may still reach the provider: it holds the window');
    pool.observe('a', {}, clock.t, first.reservation, start);
    pool.settle(first.reservation, small, clock.t);
    queue.notify();
    await clock.advance(10_000 - 1);
    assert.deepEqual(log, []);
    await clock.advance(1);
    assert.deepEqual(log, ['second']);
    assert.equal(second.admission?.queuedMs, 13_000);
    assert.equal(clock.pending, 0);
  });
});

describe('admission queue: fair share across tenants', () => {
  const deadline = T0 + 3_600_000;
  const share = (tenant: string, weight = 1) => ({ tenant, weight });
  // One a second, and the delivery margin's refill its provider's full bucket loses each time (bucket.ts).
  const CYCLE = 1000 + DELIVERY_JITTER_MS;

  /** Fills the one-per-CYCLE pool, then queues `count` requests of each tenant, in that order. */
  async function queued(plan: Array<{ tenant: string; weight?: number; count: number; priority?: 'interactive' | 'batch' }>) {
    const s = setup({ rpm: 60 });
    const log: string[] = [];
    track(s.queue.admit(s.candidates(), { priority: 'interactive', deadline }), 'first', log);
    await settle();
    for (const { tenant, weight, count, priority } of plan) {
      for (let i = 0; i < count; i++) track(s.queue.admit(s.candidates(), { priority: priority ?? 'interactive', deadline, share: share(tenant, weight) }), `${tenant}${i}`, log);
      await settle();
    }
    log.length = 0;
    return { ...s, log };
  }

  const tenantsOf = (log: string[]) => log.map((name) => name.replace(/\d+$/, '')).join('');

  it("a tenant arriving behind another's burst gets every other admission, not a place at the back", async () => {
    const { clock, log, queue, candidates } = await queued([{ tenant: 'a', count: 30 }]);
    await clock.advance(5 * CYCLE);
    assert.equal(tenantsOf(log), 'aaaaa');
    log.length = 0;
    for (let i = 0; i < 3; i++) track(queue.admit(candidates(), { priority: 'interactive', deadline, share: share('b') }), `b${i}`, log);
    await clock.advance(6 * CYCLE);
    // b's first tag equals a's next one: the earlier arrival goes first, then they alternate.
    assert.equal(tenantsOf(log), 'ababab');
  });

  it('equal weights alternate; each tenant keeps its own order', async () => {
    const { clock, log } = await queued([{ tenant: 'a', count: 10 }, { tenant: 'b', count: 4 }]);
    await clock.advance(10 * CYCLE);
    assert.equal(tenantsOf(log), 'ababababaa');
    assert.deepEqual(log.filter((name) => name.startsWith('b')), ['b0', 'b1', 'b2', 'b3']);
    assert.deepEqual(log.filter((name) => name.startsWith('a')), ['a0', 'a1', 'a2', 'a3', 'a4', 'a5']);
  });

  it('weight 4 gets four admissions for every one of weight 1 while both wait; an idle tenant\'s share goes to the other', async () => {
    const { clock, log } = await queued([{ tenant: 'a', count: 20 }, { tenant: 'h', weight: 4, count: 9 }]);
    await clock.advance(15 * CYCLE);
    const first10 = tenantsOf(log.slice(0, 10));
    assert.equal(first10.replaceAll('h', ''), 'aa', first10);
    // h ran out after 9: the rest is a's alone.
    assert.equal(tenantsOf(log.slice(11)), 'aaaa');
  });

  it("a tenant idle for a while banks nothing: it rejoins at its fair share, not ahead of everyone", async () => {
    const { clock, log, queue, candidates } = await queued([{ tenant: 'a', count: 20 }]);
    await clock.advance(10 * CYCLE); // b was idle while a got 10
    log.length = 0;
    for (let i = 0; i < 6; i++) track(queue.admit(candidates(), { priority: 'interactive', deadline, share: share('b') }), `b${i}`, log);
    await clock.advance(8 * CYCLE);
    assert.equal(tenantsOf(log), 'abababab');
  });

  it('priority class comes before weight: interactive of weight 1 before batch of weight 10', async () => {
    const { clock, log } = await queued([
      { tenant: 'x', weight: 10, count: 3, priority: 'batch' },
      { tenant: 'p', count: 2 },
    ]);
    await clock.advance(5 * CYCLE);
    assert.equal(tenantsOf(log), 'ppxxx');
  });
});

describe("admission queue: tenants' own ceilings", () => {
  const deadline = T0 + 60_000;
  /** A ceiling of one request per `everyMs`, on the fake clock. */
  function ceiling(everyMs: number) {
    let next = 0;
    return { waitFor: (_: Demand, now: number) => Math.max(0, next - now), take: (_: Demand, now: number) => void (next = now + everyMs) };
  }

  it('a tenant over its ceiling waits without holding up another tenant on the same pool', async () => {
    const { clock, queue, candidates } = setup({ rpm: 6000 }); // 100 a second
    const log: string[] = [];
    const capped = ceiling(1000);
    for (let i = 0; i < 3; i++) track(queue.admit(candidates(), { priority: 'interactive', deadline, share: { tenant: 'ci', weight: 1 }, ceiling: capped }), `ci${i}`, log);
    await settle();
    for (let i = 0; i < 3; i++) track(queue.admit(candidates(), { priority: 'interactive', deadline, share: { tenant: 'web', weight: 1 } }), `web${i}`, log);
    await clock.advance(100);
    assert.deepEqual(log, ['ci0', 'web0', 'web1', 'web2']);
    await clock.advance(2000);
    assert.deepEqual(log.slice(4), ['ci1', 'ci2']);
  });

  it('over the ceiling past its deadline: rejected at once as the ceiling\'s, with its retry-after', async () => {
    const { queue, candidates } = setup({ rpm: 6000 });
    const capped = ceiling(5000);
    await queue.admit(candidates(), { priority: 'interactive', deadline, share: { tenant: 'ci', weight: 1 }, ceiling: capped });
    await assert.rejects(queue.admit(candidates(), { priority: 'interactive', deadline: T0 + 1000, share: { tenant: 'ci', weight: 1 }, ceiling: capped }), (e: unknown) => {
      assert.ok(e instanceof QueueRejection);
      assert.equal(e.reason, 'ceiling');
      assert.equal(e.retryAfterMs, 5000);
      return true;
    });
  });
});

describe('admission queue: fair share across replicas', () => {
  /** A fleet share that holds back the tenants named in `ahead` (as Redis would say), and records what the queue tells it. */
  function fakeFleet(ahead: Set<string>) {
    const events: string[] = [];
    const fleet: FleetTurns = {
      mayAdmit: (share) => !ahead.has(share.tenant),
      waiting: (share) => void (events.at(-1) !== `waiting ${share.tenant}` && events.push(`waiting ${share.tenant}`)),
      idle: (share) => void events.push(`idle ${share.tenant}`),
      admitted: (share) => void events.push(`admitted ${share.tenant}`),
    };
    return { fleet, events };
  }

  it('a tenant ahead fleet-wide lets the pool go to the tenant behind it here, without blocking it; it goes again once the fleet says so', async () => {
    const clock = new FakeClock();
    const pool = new KeyPool('p', [{ id: 'k', limits: { rpm: 60 } }]); // one a second, and a delivery margin (bucket.ts)
    const ahead = new Set<string>();
    const { fleet, events } = fakeFleet(ahead);
    const gated = Object.assign(Object.create(pool) as KeyPool, { fleet, recheckMs: 100 });
    const queue = new AdmissionQueue({ maxDepth: 100, clock });
    const log: string[] = [];
    const deadline = T0 + 60_000;
    const admit = (tenant: string, name: string) => track(queue.admit([{ pool: gated, demand: small }], { priority: 'interactive', deadline, share: { tenant, weight: 1 } }), name, log);
    admit('a', 'a0');
    await settle();
    assert.deepEqual(log, ['a0']);
    // a's next three arrive first (earlier tags here), then b's one; the fleet says a is ahead.
    ahead.add('a');
    admit('a', 'a1');
    admit('a', 'a2');
    admit('b', 'b0');
    await clock.advance(1100);
    assert.deepEqual(log, ['a0', 'b0'], 'b went first although a1 was ahead of it in this queue');
    assert.ok(events.includes('idle b'), 'b has no waiter left: the fleet hears it at once');
    assert.ok(events.includes('waiting a'));
    ahead.delete('a');
    await clock.advance(2200);
    assert.deepEqual(log, ['a0', 'b0', 'a1', 'a2']);
    assert.equal(events.filter((e) => e === 'admitted a').length, 3);
  });
});
