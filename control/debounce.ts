// Coalesces bursts of config changes into few builds: a change starts (or extends) a quiet period, a hard
// cap from the first pending change bounds how long a steady trickle can postpone a build, and at most
// one build runs at a time. Changes that arrive while a build runs lead to exactly one more build after it.
//
// Timers come from an injected Clock so tests drive time by hand instead of sleeping.

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface DebounceOptions {
  /** Build once no change has arrived for this long. */
  readonly quietMs: number;
  /** ...but never later than this after the first unbuilt change. */
  readonly maxDelayMs: number;
  readonly clock?: Clock;
  /** The build. Its rejection is the caller's to log; the debouncer only sequences. */
  readonly run: () => Promise<void>;
  /** Told about a build that threw, so no rejection goes unhandled. */
  readonly onError?: (err: unknown) => void;
}

export interface Debouncer {
  /** A change happened: schedule a build. */
  notify(): void;
  /** Build now (after any build in flight), skipping the quiet period; resolves when that build ends. */
  flush(): Promise<void>;
  /** Resolves when no build is running and none is scheduled. */
  idle(): Promise<void>;
  /** Cancels the scheduled build; a build in flight finishes, nothing runs after it. */
  stop(): Promise<void>;
}

export function createDebouncer(options: DebounceOptions): Debouncer {
  const clock = options.clock ?? systemClock;
  let timer: unknown;
  let firstPendingAt: number | undefined;
  /** The timer fired while a build ran: run again as soon as it ends. */
  let dueWhileBusy = false;
  let inFlight: Promise<void> | undefined;
  let stopped = false;
  let idleWaiters: Array<() => void> = [];

  function clearTimer(): void {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
  }

  function settleIdle(): void {
    if (inFlight || timer !== undefined || dueWhileBusy) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  }

  function arm(): void {
    clearTimer();
    if (firstPendingAt === undefined) return;
    const now = clock.now();
    const deadline = Math.min(now + options.quietMs, firstPendingAt + options.maxDelayMs);
    timer = clock.setTimeout(onTimer, Math.max(0, deadline - now));
  }

  function onTimer(): void {
    timer = undefined;
    if (stopped) return;
    if (inFlight) {
      dueWhileBusy = true;
      return;
    }
    start();
  }

  function start(): Promise<void> {
    firstPendingAt = undefined;
    dueWhileBusy = false;
    clearTimer();
    const running = (async () => {
      try {
        await options.run();
      } catch (err) {
        options.onError?.(err);
      }
    })();
    inFlight = running.then(() => {
      inFlight = undefined;
      if (!stopped && dueWhileBusy) void start();
      settleIdle();
    });
    return inFlight;
  }

  return {
    notify() {
      if (stopped) return;
      if (firstPendingAt === undefined) firstPendingAt = clock.now();
      arm();
    },
    async flush() {
      if (stopped) return;
      while (inFlight) await inFlight;
      if (stopped) return;
      await start();
    },
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        settleIdle();
      });
    },
    async stop() {
      stopped = true;
      clearTimer();
      firstPendingAt = undefined;
      dueWhileBusy = false;
      while (inFlight) await inFlight;
      settleIdle();
    },
  };
}
