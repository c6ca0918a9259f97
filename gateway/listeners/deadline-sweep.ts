// Deadlines for many connections with one timer. A per-connection timer (node's socket.setTimeout) costs a
// bound function, a Timeout in the timer lists and a 'timeout' listener on every new connection, and is
// re-armed on every read; these deadlines are absolute (a client cannot extend one by trickling bytes) and
// cost a Map entry.

/** What a sweep can end: a socket. */
export interface Expirable {
  readonly destroyed: boolean;
  destroy(): void;
}

/**
 * Connections that must reach some point (a whole ClientHello, the end of the TLS handshake) within
 * `timeoutMs` of being added. One unref'd interval, scheduled while something is (or, until its next
 * sweep, was) tracked, destroys
 * what is still tracked after its deadline: at most one interval (a quarter of the timeout, at most 1 s)
 * late. A connection destroyed meanwhile is dropped at the next sweep without being told.
 */
export class DeadlineSweep<T extends Expirable> {
  /** Tracked items and their deadlines, in insertion order (so in deadline order). */
  private readonly deadlines = new Map<T, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;

  constructor(
    readonly timeoutMs: number,
    private readonly onExpire: (item: T) => void = destroyItem,
  ) {
    this.intervalMs = Math.max(25, Math.min(1000, Math.floor(timeoutMs / 4)));
  }

  add(item: T): void {
    this.deadlines.set(item, Date.now() + this.timeoutMs);
    if (this.timer === undefined) {
      this.timer = setInterval(this.sweep, this.intervalMs);
      this.timer.unref();
    }
  }

  /**
   * The item reached its point in time: no longer tracked. The interval is left running (the next sweep
   * stops it if nothing is tracked by then): stopping it here would, with connections arriving one at a
   * time, make a new interval per connection.
   */
  delete(item: T): void {
    this.deadlines.delete(item);
  }

  get size(): number {
    return this.deadlines.size;
  }

  /** Whether the interval is scheduled (while something is tracked, and until the sweep after the last). */
  get sweeping(): boolean {
    return this.timer !== undefined;
  }

  private readonly sweep = (): void => {
    const now = Date.now();
    for (const [item, deadline] of this.deadlines) {
      if (item.destroyed) {
        this.deadlines.delete(item);
      } else if (deadline <= now) {
        this.deadlines.delete(item);
        this.onExpire(item);
      }
    }
    if (this.deadlines.size === 0) this.stop();
  };

  private stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

function destroyItem(item: Expirable): void {
  item.destroy();
}
