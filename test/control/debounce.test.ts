import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDebouncer } from '../../control/debounce.js';
import type { Clock } from '../../control/debounce.js';

/** Time that moves only when the test says so. */
class ManualClock implements Clock {
  #now = 0;
  #next = 1;
  readonly #timers = new Map<number, { due: number; fn: () => void }>();
  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { due: this.#now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  get pending(): number {
    return this.#timers.size;
  }
  /** Moves time forward, firing due timers in order (and any they schedule within the window). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (let guard = 0; guard < 1000; guard++) {
      let first: [number, { due: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) if (entry[1].due <= end && (!first || entry[1].due < first[1].due)) first = entry;
      if (!first) break;
      this.#timers.delete(first[0]);
      this.#now = first[1].due;
      first[1].fn();
    }
    this.#now = end;
  }
}

/** Lets promise callbacks (build completion bookkeeping) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test('a burst of 50 changes leads to one build after the quiet period', async () => {
  const clock = new ManualClock();
  let builds = 0;
  const d = createDebouncer({ quietMs: 100, maxDelayMs: 1000, clock, run: async () => void builds++ });
  for (let i = 0; i < 50; i++) {
    if (i > 0) clock.advance(5);
    d.notify();
  }
  assert.equal(builds, 0, 'changes 5 ms apart keep the quiet period open');
  clock.advance(99); // 99 ms after the last change
  assert.equal(builds, 0, 'not before 100 ms of quiet');
  clock.advance(1);
  await settle();
  assert.equal(builds, 1);
  clock.advance(5000);
  await settle();
  assert.equal(builds, 1, 'nothing more without new changes');
  await d.stop();
});

test('the hard cap builds a steady trickle of changes no later than maxDelayMs after the first', async () => {
  const clock = new ManualClock();
  const buildTimes: number[] = [];
  const d = createDebouncer({ quietMs: 100, maxDelayMs: 1000, clock, run: async () => void buildTimes.push(clock.now()) });
  for (let i = 0; i < 30; i++) {
    d.notify();
    clock.advance(50);
    await settle();
  }
  // First change at t=0; changes every 50 ms never leave 100 ms of quiet, so only the cap can fire.
  assert.equal(buildTimes[0], 1000);
  assert.ok(buildTimes.length >= 1 && buildTimes.length <= 2, `builds at ${buildTimes.join(', ')}`);
  await d.stop();
});

test('changes during a build in flight lead to exactly one follow-up build, never two at once', async () => {
  const clock = new ManualClock();
  let running = 0;
  let maxRunning = 0;
  let builds = 0;
  const gates: Array<{ promise: Promise<void>; resolve: () => void }> = [];
  const d = createDebouncer({
    quietMs: 100,
    maxDelayMs: 1000,
    clock,
    run: async () => {
      builds++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      const gate = deferred();
      gates.push(gate);
      await gate.promise;
      running--;
    },
  });
  d.notify();
  clock.advance(100);
  await settle();
  assert.equal(builds, 1, 'first build started');
  for (let i = 0; i < 20; i++) {
    d.notify();
    clock.advance(60);
    await settle();
  }
  clock.advance(200); // quiet (and cap) elapse while the first build still runs
  await settle();
  assert.equal(builds, 1, 'no second build while one is in flight');
  gates[0]!.resolve();
  await settle();
  assert.equal(builds, 2, 'one follow-up build right after');
  gates[1]!.resolve();
  await settle();
  clock.advance(5000);
  await settle();
  assert.equal(builds, 2, 'and only one');
  assert.equal(maxRunning, 1);
  await d.idle();
  await d.stop();
  assert.equal(clock.pending, 0, 'no timer left behind');
});

test('flush builds at once and stop cancels a scheduled build', async () => {
  const clock = new ManualClock();
  let builds = 0;
  const d = createDebouncer({ quietMs: 100, maxDelayMs: 1000, clock, run: async () => void builds++ });
  await d.flush();
  assert.equal(builds, 1);
  d.notify();
  await d.stop();
  clock.advance(5000);
  await settle();
  assert.equal(builds, 1, 'stopped debouncer never builds');
  assert.equal(clock.pending, 0);
});

test('a build that throws is reported and does not wedge later builds', async () => {
  const clock = new ManualClock();
  const errors: unknown[] = [];
  let calls = 0;
  const d = createDebouncer({
    quietMs: 10,
    maxDelayMs: 100,
    clock,
    run: async () => {
      calls++;
      if (calls === 1) throw new Error('boom');
    },
    onError: (err) => errors.push(err),
  });
  d.notify();
  clock.advance(10);
  await settle();
  d.notify();
  clock.advance(10);
  await settle();
  assert.equal(calls, 2);
  assert.equal(errors.length, 1);
  await d.stop();
});
