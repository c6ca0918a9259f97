// Istio's standard request metrics, reported as Envoy at an ingress gateway reports them
// (reporter="source": the gateway is the source workload). Label children are bound once per
// (cluster, code, flags, protocol) and cached, so a request only does a map lookup and increments.
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Cluster } from '../../core/snapshot.js';

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

interface BoundSeries {
  readonly requests: { inc(): void };
  readonly duration: { observe(v: number): void };
  readonly requestBytes: { observe(v: number): void };
  readonly responseBytes: { observe(v: number): void };
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

export class RequestMetrics {
  private readonly requests: Counter<Label>;
  private readonly duration: Histogram<Label>;
  private readonly requestBytes: Histogram<Label>;
  private readonly responseBytes: Histogram<Label>;
  /** Cluster name ('' for none) → series key → bound series. */
  private readonly series = new Map<string, Map<string, BoundSeries>>();

  constructor(registry: Registry, private readonly identity: WorkloadIdentity = DEFAULT_IDENTITY) {
    this.requests = getOrCreate(registry, 'istio_requests_total', () =>
      new Counter({ name: 'istio_requests_total', help: 'Requests processed by the gateway', labelNames: LABELS, registers: [registry] }),
    );
    this.duration = getOrCreate(registry, 'istio_request_duration_milliseconds', () =>
      new Histogram({ name: 'istio_request_duration_milliseconds', help: 'Request duration', labelNames: LABELS, buckets: DURATION_BUCKETS, registers: [registry] }),
    );
    this.requestBytes = getOrCreate(registry, 'istio_request_bytes', () =>
      new Histogram({ name: 'istio_request_bytes', help: 'Request body size', labelNames: LABELS, buckets: SIZE_BUCKETS, registers: [registry] }),
    );
    this.responseBytes = getOrCreate(registry, 'istio_response_bytes', () =>
      new Histogram({ name: 'istio_response_bytes', help: 'Response body size', labelNames: LABELS, buckets: SIZE_BUCKETS, registers: [registry] }),
    );
  }

  record(o: RequestOutcome): void {
    const s = this.bind(o.cluster, o.responseCode, o.responseFlags, o.protocol, o.grpcStatus);
    s.requests.inc();
    s.duration.observe(o.durationMs);
    s.requestBytes.observe(o.requestBytes);
    s.responseBytes.observe(o.responseBytes);
  }

  private bind(cluster: Cluster | undefined, code: number, flags: string, protocol: string, grpcStatus: string): BoundSeries {
    const clusterKey = cluster ? cluster.name : '';
    let byKey = this.series.get(clusterKey);
    if (!byKey) {
      byKey = new Map();
      this.series.set(clusterKey, byKey);
    }
    const key = `${code}|${flags}|${protocol}|${grpcStatus}`;
    let bound = byKey.get(key);
    if (!bound) {
      const labels = this.labels(cluster, code, flags, protocol, grpcStatus);
      bound = {
        requests: this.requests.labels(labels),
        duration: this.duration.labels(labels),
        requestBytes: this.requestBytes.labels(labels),
        responseBytes: this.responseBytes.labels(labels),
      };
      byKey.set(key, bound);
    }
    return bound;
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

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  // A second DataPlane on the same registry (tests, restarts) shares the metric rather than throwing.
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}
