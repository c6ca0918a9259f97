// Owns the upstream side. A ClusterRuntime (pools + balancer) is kept while the cluster's spec is
// unchanged; when only its endpoints change (scaling, EndpointSlice churn) the runtime is rebuilt but
// each endpoint keeps its pool, and so its warm keep-alive connections, as long as the connection
// settings (TLS identity, protocol, timeouts) are the same. Pools no live cluster uses are closed,
// then destroyed after a grace period.
import { createHash } from 'node:crypto';
import type { Cluster, Snapshot, TlsSecret } from '../../core/snapshot.js';
import { createBalancer, type Balancer } from './balancer.js';
import { EndpointPool } from './endpoint-pool.js';

export class ClusterRuntime {
  readonly cluster: Cluster;
  /** The snapshot's entry for the cluster's TLS secret when this runtime was built (undefined: none). */
  readonly secret: TlsSecret | undefined;
  readonly specHash: string;
  readonly pools: readonly EndpointPool[];
  readonly balancer: Balancer;

  constructor(cluster: Cluster, secret: TlsSecret | undefined, specHash: string, pools: readonly EndpointPool[]) {
    this.cluster = cluster;
    this.secret = secret;
    this.specHash = specHash;
    this.pools = pools;
    this.balancer = createBalancer(
      cluster.loadBalancer,
      pools,
      cluster.endpoints.map((e) => e.weight),
    );
  }
}

export type ClusterSet = ReadonlyMap<string, ClusterRuntime>;

export class ClusterManager {
  private live: Map<string, ClusterRuntime> = new Map();
  /** `connection hash|address|port[|plaintext]` → pool, for every pool a live or candidate runtime uses. */
  private pools = new Map<string, EndpointPool>();
  private readonly retiring = new Set<Promise<void>>();

  /** Builds the cluster set for a candidate snapshot, reusing runtimes and pools where nothing changed. */
  warm(snapshot: Snapshot): Map<string, ClusterRuntime> {
    const next = new Map<string, ClusterRuntime>();
    for (const [name, cluster] of Object.entries(snapshot.clusters)) {
      const existing = this.live.get(name);
      const secretName = cluster.tls?.secret;
      const secret = secretName ? snapshot.secrets[secretName] : undefined;
      // Snapshots are immutable and a delta from the primary hands a worker its unchanged clusters (and
      // secrets) as the very objects it holds: those need no hashing. At 1,000 clusters the hashes were
      // most of a one-resource apply in a worker.
      if (existing && existing.cluster === cluster && existing.secret === secret) {
        next.set(name, existing);
        continue;
      }
      const connection = connectionHash(cluster, secret);
      const spec = createHash('sha256').update(connection).update(JSON.stringify(cluster.endpoints)).update(cluster.loadBalancer).digest('hex');
      if (existing && existing.specHash === spec && existing.cluster.name === cluster.name) {
        next.set(name, existing);
        continue;
      }
      const pools = cluster.endpoints.map((e) => {
        const key = `${connection}|${e.address}|${e.port}${e.plaintext ? '|plaintext' : ''}`;
        let pool = this.pools.get(key);
        if (!pool) {
          pool = new EndpointPool(cluster, e, snapshot.secrets);
          this.pools.set(key, pool);
        }
        return pool;
      });
      next.set(name, new ClusterRuntime(cluster, secret, spec, pools));
    }
    return next;
  }

  /** Makes `next` the live set and retires pools it no longer uses. */
  commit(next: Map<string, ClusterRuntime>, graceMs: number): void {
    this.live = next;
    this.retireUnused(graceMs);
  }

  /** Discards a warmed set that was never committed (apply failed). */
  discard(): void {
    this.retireUnused(0);
  }

  /** Closes every pool; in-flight requests get `graceMs` before being destroyed. */
  async closeAll(graceMs: number): Promise<void> {
    this.live = new Map();
    this.retireUnused(graceMs);
    await Promise.all([...this.retiring]);
  }

  private retireUnused(graceMs: number): void {
    const used = new Set<EndpointPool>();
    for (const runtime of this.live.values()) for (const p of runtime.pools) used.add(p);
    for (const [key, pool] of this.pools) {
      if (used.has(pool)) continue;
      this.pools.delete(key);
      const done = closePool(pool, graceMs);
      this.retiring.add(done);
      void done.finally(() => this.retiring.delete(done));
    }
  }
}

async function closePool(endpoint: EndpointPool, graceMs: number): Promise<void> {
  const pool = endpoint.retire();
  if (!pool) return; // never opened: nothing to close
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

/** Everything that shapes a cluster's connections (not its endpoint list): TLS and the material it references, protocol, timeouts. */
function connectionHash(cluster: Cluster, secret: TlsSecret | undefined): string {
  const h = createHash('sha256').update(
    JSON.stringify({ tls: cluster.tls ?? null, protocol: cluster.protocol, connectTimeoutMs: cluster.connectTimeoutMs, serviceHost: cluster.serviceHost }),
  );
  if (cluster.tls?.secret) h.update(JSON.stringify(secret ?? null));
  return h.digest('hex');
}
