// A clock for renewal tests: time moves only when the test says so, and timers fire in time order.
import type { Clock } from '../../../certs/rotation.js';

interface PendingTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: PendingTimer[] = [];
  /** Every delay a timer was set with, in order. */
  readonly delays: number[] = [];

  constructor(start: number) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(callback: () => void, delayMs: number): unknown {
    const timer = { id: this.#nextId++, at: this.#now + delayMs, callback };
    this.delays.push(delayMs);
    this.#timers.push(timer);
    return timer.id;
  }

  clearTimer(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  get pending(): number {
    return this.#timers.length;
  }

  /** The time the earliest pending timer fires, if any. */
  get nextAt(): number | undefined {
    return this.#timers.reduce<number | undefined>((min, t) => (min === undefined || t.at < min ? t.at : min), undefined);
  }

  /**
   * Moves time forward by `ms`, firing due timers in order (each at its own instant). Bounded: at most
   * `maxTimers` callbacks, so a timer that keeps rescheduling itself at zero delay fails the test instead of hanging.
   */
  advance(ms: number, maxTimers = 1000): void {
    const target = this.#now + ms;
    for (let fired = 0; ; fired++) {
      if (fired >= maxTimers) throw new Error(`FakeClock: more than ${maxTimers} timers fired in one advance`);
      const due = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = Math.max(this.#now, due.at);
      due.callback();
    }
    this.#now = target;
  }
}
