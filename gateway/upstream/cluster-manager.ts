// Owns the upstream side: one ClusterRuntime (pools + balancer) per cluster, keyed by name and a hash
// of everything that shapes its connections. Unchanged clusters keep their pools (and warm
// keep-alive connections) across snapshots; gone or changed ones are closed, then destroyed.
import { createHash } from 'node:crypto';
import type { Cluster, Snapshot } from '../../core/snapshot.js';
import { createBalancer, type Balancer } from './balancer.js';
import { EndpointPool } from './endpoint-pool.js';

export class ClusterRuntime {
  readonly cluster: Cluster;
  readonly specHash: string;
  readonly pools: readonly EndpointPool[];
  readonly balancer: Balancer;
  /** Per-cluster telemetry cache slot, filled lazily by the telemetry module. */
  telemetry: unknown = undefined;

  constructor(cluster: Cluster, specHash: string, snapshot: Snapshot) {
    this.cluster = cluster;
    this.specHash = specHash;
    this.pools = cluster.endpoints.map((e) => new EndpointPool(cluster, e, snapshot.secrets));
    this.balancer = createBalancer(cluster.loadBalancer, this.pools);
  }
}

export type ClusterSet = ReadonlyMap<string, ClusterRuntime>;

export class ClusterManager {
  private live: Map<string, ClusterRuntime> = new Map();
  private readonly retiring = new Set<Promise<void>>();

  /** Builds the cluster set for a candidate snapshot, reusing runtimes whose spec is unchanged. */
  warm(snapshot: Snapshot): Map<string, ClusterRuntime> {
    const next = new Map<string, ClusterRuntime>();
    for (const [name, cluster] of Object.entries(snapshot.clusters)) {
      const hash = specHash(cluster, snapshot);
      const existing = this.live.get(name);
      next.set(name, existing && existing.specHash === hash ? existing : new ClusterRuntime(cluster, hash, snapshot));
    }
    return next;
  }

  /** Makes `next` the live set and retires runtimes it no longer holds. */
  commit(next: Map<string, ClusterRuntime>, graceMs: number): void {
    const kept = new Set(next.values());
    for (const runtime of this.live.values()) if (!kept.has(runtime)) this.retire(runtime, graceMs);
    this.live = next;
  }

  /** Discards a warmed set that was never committed (apply failed). */
  discard(candidate: Map<string, ClusterRuntime>): void {
    const live = new Set(this.live.values());
    for (const runtime of candidate.values()) if (!live.has(runtime)) this.retire(runtime, 0);
  }

  /** Closes every pool; in-flight requests get `graceMs` before being destroyed. */
  async closeAll(graceMs: number): Promise<void> {
    for (const runtime of this.live.values()) this.retire(runtime, graceMs);
    this.live = new Map();
    await Promise.all([...this.retiring]);
  }

  private retire(runtime: ClusterRuntime, graceMs: number): void {
    const done = Promise.all(runtime.pools.map((p) => closePool(p, graceMs))).then(() => undefined);
    this.retiring.add(done);
    void done.finally(() => this.retiring.delete(done));
  }
}

async function closePool(endpoint: EndpointPool, graceMs: number): Promise<void> {
  const pool = endpoint.pool;
  if (graceMs <= 0) {
    await pool.destroy().catch(() => undefined);
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
    timer.unref();
  });
  const outcome = await Promise.race([pool.close().then(() => 'closed' as const, () => 'closed' as const), deadline]);
  clearTimeout(timer);
  if (outcome === 'timeout') await pool.destroy().catch(() => undefined);
}

/** Everything that shapes a cluster's connections: its spec and the TLS material it references. */
function specHash(cluster: Cluster, snapshot: Snapshot): string {
  const h = createHash('sha256').update(JSON.stringify(cluster));
  const secretName = cluster.tls?.secret;
  if (secretName) h.update(JSON.stringify(snapshot.secrets[secretName] ?? null));
  return h.digest('hex');
}
