// When to renew a workload certificate, and an identity that renews itself on time. Istio's agent renews
// once SECRET_GRACE_PERIOD_RATIO (0.5) of the lifetime is left, moved by up to
// SECRET_GRACE_PERIOD_RATIO_JITTER (0.01) either way so a fleet started together does not renew together.
import type { WorkloadCertificate } from './workload.js';

export const DEFAULT_GRACE_RATIO = 0.5;
export const DEFAULT_JITTER_RATIO = 0.01;

export interface RenewalTimingInput {
  readonly notBefore: Date | number;
  readonly notAfter: Date | number;
  /** Renew when this fraction of the lifetime remains. Default 0.5. */
  readonly graceRatio?: number;
  /** The grace ratio moves by up to this much either way. Default 0.01. */
  readonly jitterRatio?: number;
  /** A number in [0, 1); default Math.random. */
  readonly random?: () => number;
}

/** The instant (ms since the epoch) at which a certificate with this validity should be renewed. */
export function renewalTime(input: RenewalTimingInput): number {
  const notBefore = toMillis(input.notBefore);
  const notAfter = toMillis(input.notAfter);
  const jitterRatio = input.jitterRatio ?? DEFAULT_JITTER_RATIO;
  const random = input.random ?? Math.random;
  const jitter = jitterRatio === 0 ? 0 : (random() * 2 - 1) * jitterRatio;
  const ratio = Math.min(1, Math.max(0, (input.graceRatio ?? DEFAULT_GRACE_RATIO) + jitter));
  return notAfter - ratio * Math.max(0, notAfter - notBefore);
}

/** How long from `now` until renewal; 0 when it is already due. */
export function renewalDelayMs(input: RenewalTimingInput & { readonly now: Date | number }): number {
  return Math.max(0, renewalTime(input) - toMillis(input.now));
}

/** Time and timers, injected so tests run renewal without waiting. */
export interface Clock {
  now(): number;
  setTimer(callback: () => void, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
}

/** Real time; timers are unref'd so a pending renewal never keeps the process alive on its own. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** setTimeout fires at once for delays above 2^31-1 ms (24.8 days); longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface RotatingIdentityOptions {
  /** Issues a fresh certificate at `now` (e.g. issueWorkloadCertificate with the mesh CA). */
  readonly issue: (now: number) => Promise<WorkloadCertificate>;
  readonly clock?: Clock;
  readonly graceRatio?: number;
  readonly jitterRatio?: number;
  readonly random?: () => number;
  /** After a failed renewal, retry after this long, doubling per failure up to retryMaxMs. Default 1 s. */
  readonly retryMinMs?: number;
  /** Default 60 s. */
  readonly retryMaxMs?: number;
  /** A failed renewal or a throwing subscriber; the current certificate stays in use. */
  readonly onError?: (err: unknown) => void;
}

export type IdentityListener = (certificate: WorkloadCertificate) => void;

/**
 * Holds the current workload certificate and replaces it before it runs out. Subscribers get each new
 * certificate (the data plane rebuilds its TLS contexts from it); a failed renewal keeps the old one and
 * retries with backoff.
 */
export class RotatingIdentity {
  readonly #options: RotatingIdentityOptions;
  readonly #clock: Clock;
  readonly #listeners = new Set<IdentityListener>();
  #current: WorkloadCertificate | undefined;
  #timer: unknown;
  #renewAt: number | undefined;
  #inFlight: Promise<WorkloadCertificate> | undefined;
  #failures = 0;
  #stopped = false;

  constructor(options: RotatingIdentityOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** The certificate in use; throws before start() has resolved. */
  get current(): WorkloadCertificate {
    if (!this.#current) throw new Error('RotatingIdentity: no certificate yet; await start() first');
    return this.#current;
  }

  /** When the next renewal (or retry) is scheduled, ms since the epoch; undefined when none is. */
  get renewAt(): number | undefined {
    return this.#renewAt;
  }

  /** Issues the first certificate (rejects if that fails) and schedules its renewal. */
  async start(): Promise<WorkloadCertificate> {
    return this.renew({ rethrow: true });
  }

  /** Renews now (say, because the CA changed); concurrent calls share one issuance. */
  renew({ rethrow = false }: { rethrow?: boolean } = {}): Promise<WorkloadCertificate> {
    this.#inFlight ??= this.#issue(rethrow).finally(() => (this.#inFlight = undefined));
    return this.#inFlight;
  }

  subscribe(listener: IdentityListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stop(): void {
    this.#stopped = true;
    this.#cancelTimer();
    this.#renewAt = undefined;
    this.#listeners.clear();
  }

  async #issue(rethrow: boolean): Promise<WorkloadCertificate> {
    let certificate: WorkloadCertificate;
    try {
      certificate = await this.#options.issue(this.#clock.now());
    } catch (err) {
      // Without a certificate there is nothing to keep serving: the caller of start() decides.
      if (!this.#current) throw err;
      this.#failures++;
      this.#report(err);
      const backoff = Math.min(
        (this.#options.retryMinMs ?? 1000) * 2 ** Math.min(this.#failures - 1, 30),
        this.#options.retryMaxMs ?? 60_000,
      );
      this.#schedule(this.#clock.now() + backoff);
      if (rethrow) throw err;
      return this.#current;
    }
    if (this.#stopped) return certificate;
    this.#failures = 0;
    this.#current = certificate;
    this.#schedule(
      renewalTime({
        notBefore: certificate.notBefore,
        notAfter: certificate.notAfter,
        graceRatio: this.#options.graceRatio,
        jitterRatio: this.#options.jitterRatio,
        random: this.#options.random,
      }),
    );
    for (const listener of [...this.#listeners]) {
      try {
        listener(certificate);
      } catch (err) {
        this.#report(err);
      }
    }
    return certificate;
  }

  #schedule(at: number): void {
    if (this.#stopped) return;
    this.#cancelTimer();
    this.#renewAt = at;
    const delay = Math.min(Math.max(0, at - this.#clock.now()), MAX_TIMER_MS);
    this.#timer = this.#clock.setTimer(() => this.#onTimer(at), delay);
  }

  #onTimer(at: number): void {
    this.#timer = undefined;
    if (this.#stopped || this.#renewAt !== at) return;
    // A timer capped at MAX_TIMER_MS, or one that fired early, waits for the rest.
    if (this.#clock.now() < at) return this.#schedule(at);
    void this.renew().catch((err: unknown) => this.#report(err));
  }

  #cancelTimer(): void {
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  #report(err: unknown): void {
    try {
      this.#options.onError?.(err);
    } catch {
      // An error handler that throws must not stop rotation.
    }
  }
}

function toMillis(t: Date | number): number {
  return typeof t === 'number' ? t : t.getTime();
}
