// Istio's standard request metrics, reported as Envoy at an ingress gateway reports them
// (reporter="source": the gateway is the source workload). Counts are kept per label set in plain
// numbers, found by nested map lookups, and handed to the prom-client registry when it is scraped.
import type { Registry } from 'prom-client';
import type { Cluster } from '../../core/snapshot.js';

/**
 * Where the series are registered: a prom-client Registry, or a `--workers` worker's own
 * (cli/worker-metrics.ts), which keeps prom-client out of the worker.
 */
export type MetricRegistry = Pick<Registry, 'registerMetric' | 'removeSingleMetric'>;

/** The gateway's own workload identity, reported as the source. */
export interface WorkloadIdentity {
  readonly workload: string;
  readonly namespace: string;
  readonly app: string;
  readonly version: string;
  readonly principal: string;
  readonly cluster: string;
  readonly canonicalService: string;
  readonly canonicalRevision: string;
}

export const DEFAULT_IDENTITY: WorkloadIdentity = {
  workload: 'istio-ingressgateway',
  namespace: 'istio-system',
  app: 'istio-ingressgateway',
  version: 'unknown',
  principal: 'unknown',
  cluster: 'Kubernetes',
  canonicalService: 'istio-ingressgateway',
  canonicalRevision: 'latest',
};

const LABELS = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_cluster',
  'source_canonical_service',
  'source_canonical_revision',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_cluster',
  'destination_canonical_service',
  'destination_canonical_revision',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;

type Label = (typeof LABELS)[number];
type LabelValues = Record<Label, string>;

/** Envoy's default histogram buckets (ms). */
const DURATION_BUCKETS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];
/** Istio's size buckets: 1 B to 1 GB by factors of ten. */
const SIZE_BUCKETS = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

/**
 * One label set's counts. prom-client's bound children re-hash and re-validate their labels on every
 * observation; at four metrics per request that dominated the CPU profile, so the gateway keeps its
 * own counts and hands them over only when the registry is scraped.
 */
class Series {
  requests = 0;
  readonly duration = new Buckets(DURATION_BUCKETS);
  readonly requestBytes = new Buckets(SIZE_BUCKETS);
  readonly responseBytes = new Buckets(SIZE_BUCKETS);
  constructor(readonly labels: LabelValues) {}
}

class Buckets {
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(v: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && v > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += v;
    this.count++;
  }
}

/** What one finished request contributes to the metrics. */
export interface RequestOutcome {
  readonly cluster: Cluster | undefined;
  readonly responseCode: number;
  readonly responseFlags: string;
  /** 'http', 'grpc'. */
  readonly protocol: string;
  readonly grpcStatus: string;
  readonly durationMs: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
}

type Level<T> = Map<string | number, T>;

export class RequestMetrics {
  /** cluster name ('' for none) → code → flags → protocol → grpc status → series: no key strings built per request. */
  private readonly index: Level<Level<Level<Level<Level<Series>>>>> = new Map();
  private readonly all: Series[] = [];

  constructor(registry: MetricRegistry, private readonly identity: WorkloadIdentity = DEFAULT_IDENTITY) {
    const series = this.all;
    register(registry, {
      name: 'istio_requests_total',
      help: 'Requests processed by the gateway',
      type: 'counter',
      values: () => series.map((s) => ({ labels: s.labels, value: s.requests })),
    });
    const histogram = (name: string, help: string, pick: (s: Series) => Buckets): void =>
      register(registry, { name, help, type: 'histogram', values: () => histogramValues(name, series, pick) });
    histogram('istio_request_duration_milliseconds', 'Request duration', (s) => s.duration);
    histogram('istio_request_bytes', 'Request body size', (s) => s.requestBytes);
    histogram('istio_response_bytes', 'Response body size', (s) => s.responseBytes);
  }

  record(o: RequestOutcome): void {
    this.recordRequest(o.cluster, o.responseCode, o.responseFlags, o.protocol, o.grpcStatus, o.durationMs, o.requestBytes, o.responseBytes);
  }

  /** record() without the outcome object: the per-request path allocates nothing here once a series exists. */
  recordRequest(
    cluster: Cluster | undefined,
    responseCode: number,
    responseFlags: string,
    protocol: string,
    grpcStatus: string,
    durationMs: number,
    requestBytes: number,
    responseBytes: number,
  ): void {
    const s = this.series(cluster, responseCode, responseFlags, protocol, grpcStatus);
    s.requests++;
    s.duration.observe(durationMs);
    s.requestBytes.observe(requestBytes);
    s.responseBytes.observe(responseBytes);
  }

  private series(cluster: Cluster | undefined, code: number, flags: string, protocol: string, grpcStatus: string): Series {
    const byCode = child(this.index, cluster ? cluster.name : '');
    const byFlags = child(byCode, code);
    const byProtocol = child(byFlags, flags);
    const byGrpc = child(byProtocol, protocol);
    let s = byGrpc.get(grpcStatus);
    if (!s) {
      s = new Series(this.labels(cluster, code, flags, protocol, grpcStatus));
      byGrpc.set(grpcStatus, s);
      this.all.push(s);
    }
    return s;
  }

  private labels(cluster: Cluster | undefined, code: number, flags: string, protocol: string, grpcStatus: string): LabelValues {
    const id = this.identity;
    const dest = describeDestination(cluster);
    return {
      reporter: 'source',
      source_workload: id.workload,
      source_workload_namespace: id.namespace,
      source_principal: id.principal,
      source_app: id.app,
      source_version: id.version,
      source_cluster: id.cluster,
      source_canonical_service: id.canonicalService,
      source_canonical_revision: id.canonicalRevision,
      destination_workload: dest.workload,
      destination_workload_namespace: dest.namespace,
      destination_principal: cluster?.tls?.mode === 'ISTIO_MUTUAL' ? `spiffe://cluster.local/ns/${dest.namespace}/sa/${dest.workload}` : 'unknown',
      destination_app: dest.app,
      destination_version: dest.version,
      destination_service: cluster ? cluster.serviceHost : 'unknown',
      destination_service_name: dest.serviceName,
      destination_service_namespace: dest.namespace,
      destination_cluster: cluster ? id.cluster : 'unknown',
      destination_canonical_service: dest.canonicalService,
      destination_canonical_revision: dest.canonicalRevision,
      request_protocol: protocol,
      response_code: String(code),
      grpc_response_status: grpcStatus,
      response_flags: flags,
      connection_security_policy: 'unknown',
    };
  }
}

interface DestinationFacts {
  workload: string;
  namespace: string;
  app: string;
  version: string;
  serviceName: string;
  canonicalService: string;
  canonicalRevision: string;
}

/** What the cluster tells us of its workload: service name/namespace from the FQDN, the rest from labels. */
function describeDestination(cluster: Cluster | undefined): DestinationFacts {
  if (!cluster) {
    return { workload: 'unknown', namespace: 'unknown', app: 'unknown', version: 'unknown', serviceName: 'unknown', canonicalService: 'unknown', canonicalRevision: 'latest' };
  }
  const parts = cluster.serviceHost.split('.');
  const isKube = cluster.serviceHost.endsWith('.svc.cluster.local') || (parts.length >= 3 && parts[2] === 'svc');
  const serviceName = isKube ? (parts[0] ?? cluster.serviceHost) : cluster.serviceHost;
  const namespace = isKube ? (parts[1] ?? 'unknown') : 'unknown';
  const labels = cluster.endpoints[0]?.labels ?? {};
  const app = labels['app'] ?? labels['app.kubernetes.io/name'] ?? 'unknown';
  const version = labels['version'] ?? labels['app.kubernetes.io/version'] ?? 'unknown';
  return {
    workload: labels['service.istio.io/workload-name'] ?? (app !== 'unknown' ? app : 'unknown'),
    namespace,
    app,
    version,
    serviceName,
    canonicalService: labels['service.istio.io/canonical-name'] ?? (app !== 'unknown' ? app : serviceName),
    canonicalRevision: labels['service.istio.io/canonical-revision'] ?? (version !== 'unknown' ? version : 'latest'),
  };
}


function child<T>(level: Level<Level<T>>, key: string | number): Level<T> {
  let next = level.get(key);
  if (!next) {
    next = new Map();
    level.set(key, next);
  }
  return next;
}

interface MetricValue {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName?: string;
}

/** The shape prom-client's Registry reads from a metric (`get()`), without prom-client's per-call hashing. */
function register(
  registry: MetricRegistry,
  spec: { name: string; help: string; type: 'counter' | 'histogram'; values: () => MetricValue[] },
): void {
  const metric = {
    name: spec.name,
    help: spec.help,
    type: spec.type,
    aggregator: 'sum' as const,
    get: async () => ({ name: spec.name, help: spec.help, type: spec.type, aggregator: 'sum' as const, values: spec.values() }),
    reset: () => undefined,
  };
  // A second DataPlane on the same registry (tests, restarts) replaces the first one's series.
  registry.removeSingleMetric(spec.name);
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}

function histogramValues(name: string, series: readonly Series[], pick: (s: Series) => Buckets): MetricValue[] {
  const out: MetricValue[] = [];
  for (const s of series) {
    const b = pick(s);
    let cumulative = 0;
    for (let i = 0; i < b.bounds.length; i++) {
      cumulative += b.counts[i] as number;
      out.push({ metricName: `${name}_bucket`, labels: { le: b.bounds[i] as number, ...s.labels }, value: cumulative });
    }
    out.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', ...s.labels }, value: b.count });
    out.push({ metricName: `${name}_sum`, labels: s.labels, value: b.sum });
    out.push({ metricName: `${name}_count`, labels: s.labels, value: b.count });
  }
  return out;
}
