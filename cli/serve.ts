// `gatehouse serve`: the composition root. The only place that wires the control plane to the data plane:
// directory sources → control plane → publish → data plane; admin ports read both. With `--workers N`
// (N > 1) this is the primary: the data plane is N worker processes (cli/worker-pool.ts) behind the same
// apply/ready/drain, and nothing here changes but where the snapshot goes.
import { join } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createControlPlane } from '../control/index.js';
import { createDirectorySource } from '../control/sources/directory.js';
import { createMeshIdentitySource } from '../control/sources/mesh-identity.js';
import { createTlsFileSource } from '../control/sources/tls-files.js';
import { MESH_IDENTITY_SECRET } from '../routes/compile/mesh-identity.js';
import { startAdminPorts } from '../gateway/admin/index.js';
import type { ServeOptions } from './args.js';
import { scheduleHeapSettle } from './heap-settle.js';
import { createLog } from './log.js';
import { startWorkerPool, type WorkerPool } from './worker-pool.js';
import { workloadIdentity } from './workload-identity.js';

/** kubectl apply's namespace for documents that name none. */
const DEFAULT_RESOURCE_NAMESPACE = 'default';
/** Distinct read-order ranges per source, so VirtualService merge order is stable across sources. */
const ORDER_STRIDE = 1_000_000;

export interface RunningGateway {
  /** Resolves with the exit code once the gateway has stopped. */
  readonly stopped: Promise<number>;
  shutdown(reason: string): Promise<void>;
}

export async function serve(options: ServeOptions): Promise<RunningGateway> {
  const log = createLog(options.logLevel);
  const registry = new Registry();
  // prom-client samples event-loop delay with a timer: every 10 ms by default, 100 wake-ups a second of an
  // idle gateway (with the overload guard's, ~1.3% of a core on the benchmark VM). Every 100 ms is enough
  // for a metric scraped every 15 s or more; nodejs_eventloop_lag_{min,mean,max,p50,p90,p99}_seconds
  // report the timer's whole period (0.1 s when idle), as prom-client always does.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });

  // One process: the data plane here, as before workers existed. Imported only then, so a primary does
  // not carry the proxy's modules.
  const pool: WorkerPool | undefined = options.workers > 1 ? startWorkerPool(options, log) : undefined;
  const dataPlane = pool ?? (await import('../gateway/index.js')).createDataPlane({
    identity: workloadIdentity(options),
    bindAddress: options.bindAddress,
    portMap: options.portMap,
    registry,
    accessLogFormat: options.accessLogFormat,
    edge: options.edge,
    log,
  });

  const directories = options.configDirs.map((dir, i) =>
    createDirectorySource(dir, { defaultNamespace: DEFAULT_RESOURCE_NAMESPACE, orderBase: i * ORDER_STRIDE }),
  );
  // The gateway's SPIFFE certificate is one more source: issued, rotated, and published like any Secret.
  const meshIdentity = createMeshIdentitySource({
    namespace: options.namespace,
    serviceAccount: options.serviceAccount,
    trustDomain: options.trustDomain,
    caStateDir: options.caDir ?? join(process.env.GATEHOUSE_STATE_DIR ?? '.gatehouse', 'ca'),
    ...(options.cacertsDir ? { cacertsDir: options.cacertsDir } : {}),
    certificateTtlMs: options.workloadCertTtlMs,
    orderBase: directories.length * ORDER_STRIDE,
    log,
  });
  // Files named by DestinationRule tls (caCertificates, clientCertificate, privateKey, caCrl), read as Secrets.
  const tlsFiles = createTlsFileSource({ namespace: options.namespace, orderBase: (directories.length + 1) * ORDER_STRIDE, log });
  const sources = [...directories, meshIdentity, tlsFiles];
  let startupSettled = false;
  const control = createControlPlane({
    sources,
    compile: {
      identity: { labels: options.labels, namespace: options.namespace, serviceAccount: options.serviceAccount },
      domainSuffix: options.domainSuffix,
      trustDomain: options.trustDomain,
    },
    publish: async (snapshot) => {
      await dataPlane.apply(snapshot);
      // Only a primary that serves nothing settles its heap: a forced full collection in a process that
      // serves requests put node's process.nextTick on V8's slow path for good (its tick objects built by
      // the runtime, ~30k more instructions per request under callgrind; cli/heap-settle.ts).
      if (pool && !startupSettled) {
        startupSettled = true;
        scheduleHeapSettle('the first config went live', log);
      }
      const ports = snapshot.listeners.map((l) => {
        const bound = options.portMap.get(l.port);
        return bound === undefined ? `${l.port}/${l.protocol}` : `${l.port}→${bound}/${l.protocol}`;
      });
      log('info', `config v${snapshot.version} (${snapshot.hash.slice(0, 12)}) live${pool ? ` on ${options.workers} workers` : ''}: ${snapshot.listeners.length} listener(s) [${ports.join(' ')}], ` +
        `${Object.keys(snapshot.clusters).length} cluster(s)`);
    },
    registry,
    log,
  });

  let draining = false;
  const admin = await startAdminPorts({
    statusPort: options.statusPort,
    statsPort: options.statsPort,
    adminPort: options.adminPort,
    bindAddress: options.bindAddress,
    registry,
    isServing: () => dataPlane.ready,
    isDraining: () => draining,
    configStatus: () => control.status(),
    meshIdentity: () => {
      const current = meshIdentity.current();
      const authority = meshIdentity.authority();
      return current && authority
        ? { secret: `${options.namespace}/${MESH_IDENTITY_SECRET}`, spiffeId: current.spiffeId, notBefore: current.notBefore.toISOString(), notAfter: current.notAfter.toISOString(), authority }
        : undefined;
    },
    ...(pool ? { workerMetrics: () => pool.metrics(), workers: () => pool.workers() } : {}),
  });
  log('info', `status on :${options.statusPort}, stats on :${options.statsPort}, admin on 127.0.0.1:${options.adminPort}`);

  await control.start();
  if (!dataPlane.ready) log('error', 'the initial configuration was rejected: not ready until a valid one arrives');

  let resolveStopped!: (code: number) => void;
  const stopped = new Promise<number>((r) => (resolveStopped = r));
  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    shuttingDown ??= (async () => {
      log('info', `${reason}: draining for up to ${options.drainTimeoutMs} ms`);
      draining = true;
      let code = 0;
      try {
        await control.stop();
        await dataPlane.drain(options.drainTimeoutMs);
      } catch (err) {
        log('error', `drain failed: ${(err as Error).message}`);
        code = 1;
      }
      await admin.close();
      log('info', 'stopped');
      resolveStopped(code);
    })();
    return shuttingDown;
  };
  return { stopped, shutdown };
}
