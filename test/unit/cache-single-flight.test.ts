import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SingleFlight } from '../../src/cache/single-flight.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('single-flight: identical requests in flight share one upstream call', () => {
  it('50 concurrent identical requests: one upstream call, all get the answer', async () => {
    const flights = new SingleFlight<string>();
    let calls = 0;
    let release: (value: string) => void = () => {};
    const upstream = (): Promise<string> => {
      calls += 1;
      return new Promise((resolve) => (release = resolve));
    };
    const results = Array.from({ length: 50 }, () => flights.join('same-key', upstream));
    await tick();
    assert.equal(calls, 1);
    release('the answer');
    assert.deepEqual(await Promise.all(results), Array(50).fill('the answer'));
    assert.equal(flights.size, 0, 'nothing is kept after the flight lands');
  });

  it('different keys do not share', async () => {
    const flights = new SingleFlight<string>();
    let calls = 0;
    const run = async (): Promise<string> => `answer-${++calls}`;
    const [a, b] = await Promise.all([flights.join('a', run), flights.join('b', run)]);
    assert.notEqual(a, b);
    assert.equal(calls, 2);
  });

  it('tells the first caller it leads and the others that they follow', async () => {
    const flights = new SingleFlight<number>();
    let release: (value: number) => void = () => {};
    const leader = flights.enter('k', () => new Promise<number>((resolve) => (release = resolve)));
    const follower = flights.enter('k', async () => 0);
    assert.equal(leader.role, 'leader');
    assert.equal(follower.role, 'follower');
    assert.equal(flights.inFlight('k'), true);
    await tick();
    release(7);
    assert.equal(await follower.result, 7);
  });

  it('a failed leader does not fail its followers: one retries for them, once', async () => {
    const flights = new SingleFlight<string>();
    let calls = 0;
    let failFirst: (error: Error) => void = () => {};
    const run = (): Promise<string> => {
      calls += 1;
      if (calls === 1) return new Promise((_, reject) => (failFirst = reject));
      return Promise.resolve('second try');
    };
    const leader = flights.join('k', run);
    const followers = Array.from({ length: 10 }, () => flights.join('k', run));
    await tick();
    failFirst(new Error('upstream 500'));
    await assert.rejects(leader, /upstream 500/);
    assert.deepEqual(await Promise.all(followers), Array(10).fill('second try'));
    assert.equal(calls, 2, 'the followers shared the retry too');
  });

  it('the failure is not remembered: the next request runs again', async () => {
    const flights = new SingleFlight<string>({ maxRejoins: 0 });
    await assert.rejects(flights.join('k', async () => Promise.reject(new Error('nope'))));
    assert.equal(await flights.join('k', async () => 'fine'), 'fine');
  });

  it('followers give up after maxRejoins failed leaders', async () => {
    const flights = new SingleFlight<string>({ maxRejoins: 1 });
    let calls = 0;
    const run = async (): Promise<string> => {
      calls += 1;
      await tick();
      throw new Error(`failure ${calls}`);
    };
    const results = Array.from({ length: 5 }, () => flights.join('k', run));
    const settled = await Promise.allSettled(results);
    assert.ok(settled.every((outcome) => outcome.status === 'rejected'));
    assert.equal(calls, 2);
  });
});
