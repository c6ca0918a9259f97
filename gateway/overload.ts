// The overload guard: when the heap nears its limit or the event loop lags, the gateway stops taking
// new work (new connections are closed on accept, new requests get 503 with flag OM) so the work in
// flight can finish, and resumes once both fall back, as Envoy's overload manager does with
// stop_accepting_connections / stop_accepting_requests.
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

export interface OverloadThresholds {
  /** Used heap / heap limit above which the gateway is overloaded (0..1). */
  readonly heapRatio: number;
  /** Event-loop delay (max over a sample period) above which the gateway is overloaded. */
  readonly eventLoopLagMs: number;
}

export interface OverloadSample {
  readonly heapRatio: number;
  readonly eventLoopLagMs: number;
}

/** Below these fractions of the thresholds an overloaded gateway recovers: no flapping at the edge. */
const RECOVER_HEAP = 0.9;
const RECOVER_LAG = 0.5;
const SAMPLE_MS = 250;
/** Consecutive calm samples before recovering (1 s): a single quiet moment inside a stall is not calm. */
const RECOVER_SAMPLES = 4;
/**
 * Consecutive lagging samples before event-loop lag counts as overload: one long synchronous task
 * (a key generation, a large config compile) is a stall, not overload, and must not shed traffic.
 */
const LAG_SAMPLES = 2;
/**
 * The delay histogram's timer period: a quarter of the threshold, so a lag at the threshold spans several
 * periods, between 20 ms and 100 ms. Each period is a wake-up of an otherwise idle process; at the default
 * threshold (1 s) that is 10 a second rather than 50.
 */
export function delayResolutionMs(thresholdMs: number): number {
  return Math.min(100, Math.max(20, Math.floor(thresholdMs / 4)));
}

/** Pure transition: the next overloaded state from the current one and a sample. */
export function nextOverloaded(overloaded: boolean, sample: OverloadSample, t: OverloadThresholds): boolean {
  if (!overloaded) return sample.heapRatio >= t.heapRatio || sample.eventLoopLagMs >= t.eventLoopLagMs;
  return !(sample.heapRatio < t.heapRatio * RECOVER_HEAP && sample.eventLoopLagMs < t.eventLoopLagMs * RECOVER_LAG);
}

export class OverloadGuard {
  overloaded = false;
  private timer: NodeJS.Timeout | undefined;
  private histogram: IntervalHistogram | undefined;
  private lastTick = 0;
  private calmSamples = 0;
  private lagSamples = 0;
  private readonly resolutionMs: number;

  constructor(
    private readonly thresholds: OverloadThresholds,
    private readonly onChange: (overloaded: boolean, sample: OverloadSample) => void,
    /** Sees every sample (tests; a future gauge). */
    private readonly onSample?: (sample: OverloadSample) => void,
  ) {
    this.resolutionMs = delayResolutionMs(thresholds.eventLoopLagMs);
  }

  start(): void {
    if (this.timer) return;
    this.histogram = monitorEventLoopDelay({ resolution: this.resolutionMs });
    this.histogram.enable();
    this.lastTick = performance.now();
    this.timer = setInterval(() => this.tick(), SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.histogram?.disable();
  }

  private tick(): void {
    const heap = getHeapStatistics();
    const h = this.histogram as IntervalHistogram;
    // The sampler's own lateness catches a stall that the histogram has not recorded yet.
    const now = performance.now();
    const late = now - this.lastTick - SAMPLE_MS;
    this.lastTick = now;
    // The histogram records the whole time between its timer's runs, the period included: the lag is what
    // exceeds the period. (Read as it was, an idle loop lagged by the period, and a threshold at or below it
    // kept the gateway overloaded for good.) An empty histogram (a stall longer than the sample) reads 0.
    const delayed = h.count > 0 ? h.max / 1e6 - this.resolutionMs : 0;
    const sample: OverloadSample = { heapRatio: heap.used_heap_size / heap.heap_size_limit, eventLoopLagMs: Math.max(delayed, late, 0) };
    h.reset();
    this.onSample?.(sample);
    let next = nextOverloaded(this.overloaded, sample, this.thresholds);
    this.lagSamples = sample.eventLoopLagMs >= this.thresholds.eventLoopLagMs ? this.lagSamples + 1 : 0;
    if (!this.overloaded && next && sample.heapRatio < this.thresholds.heapRatio && this.lagSamples < LAG_SAMPLES) next = false;
    if (this.overloaded && !next) {
      this.calmSamples++;
      if (this.calmSamples < RECOVER_SAMPLES) next = true;
    } else this.calmSamples = 0;
    if (next !== this.overloaded) {
      this.calmSamples = 0;
      this.overloaded = next;
      this.onChange(next, sample);
    }
  }
}
