// A worker's registry of istio_* metrics. The worker never renders Prometheus text: it only holds what
// RequestMetrics registers and hands its primary the JSON prom-client's getMetricsAsJSON gives (the
// primary sums it with AggregatorRegistry). prom-client's own Registry would load prom-client and
// @opentelemetry/api into every worker for that: about 2 MiB of heap per worker, held idle.
import type { Metric, MetricObjectWithValues, MetricValue, Registry } from 'prom-client';

/** What prom-client's Registry reads of a metric (its typings leave `name` out). */
type Registered = Metric & { readonly name: string };

export class WorkerMetricRegistry implements Pick<Registry, 'registerMetric' | 'removeSingleMetric' | 'getSingleMetric' | 'getMetricsAsJSON'> {
  readonly #metrics = new Map<string, Registered>();

  registerMetric<T extends string>(metric: Metric<T>): void {
    const m = metric as unknown as Registered;
    const existing = this.#metrics.get(m.name);
    if (existing && existing !== m) throw new Error(`A metric with the name ${m.name} has already been registered.`);
    this.#metrics.set(m.name, m);
  }

  removeSingleMetric(name: string): void {
    this.#metrics.delete(name);
  }

  getSingleMetric<T extends string>(name: string): Metric<T> | undefined {
    return this.#metrics.get(name) as unknown as Metric<T> | undefined;
  }

  /** In registration order, each metric's get() as is: prom-client's shape with no default labels. */
  getMetricsAsJSON(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    return Promise.all([...this.#metrics.values()].map((m) => m.get()));
  }
}
