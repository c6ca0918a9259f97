// The data plane's public face. CONTRACT (owned by the data-plane helper; shape fixed):
// cli/main.ts constructs one DataPlane, hands it each new Snapshot, and drains it on SIGTERM.
import type { Listener, Snapshot } from '../core/snapshot.js';
import type { Generation } from './generation.js';
import { BoundListener } from './listeners/bound-listener.js';
import { dataPathFromEnv, type DataPath } from './listeners/mount.js';
import type { PlaneState } from './plane-state.js';
import { edgePolicy, type EdgePolicy } from './edge-policy.js';
import { OverloadGuard } from './overload.js';
import { createStdoutSink, type ByteLineSink } from './telemetry/stdout-sink.js';
import { keepTickObjectShape } from './tick-shape.js';
import { RequestMetrics, DEFAULT_IDENTITY, type MetricRegistry, type WorkloadIdentity } from './telemetry/metrics.js';
import { SecureContextCache } from './tls/secure-contexts.js';
import { ClusterManager } from './upstream/cluster-manager.js';

export type { WorkloadIdentity } from './telemetry/metrics.js';
export type { EdgePolicy } from './edge-policy.js';

export interface DataPlaneOptions {
  /**
   * Secret the TLS session ticket keys are derived from; the workers of one gateway share it so a
   * session made on one resumes on another. Default: random per process. Optional (additive).
   */
  readonly ticketSeed?: Buffer;
  /** Address listeners bind to (default '0.0.0.0'; tests use '127.0.0.1'). */
  readonly bindAddress: string;
  /** Gateway server port → port actually bound (`--port-map 80=8080,443=8443`). */
  readonly portMap: ReadonlyMap<number, number>;
  /** Where istio_* request metrics are registered: a prom-client Registry, or anything with its registerMetric/removeSingleMetric. */
  readonly registry: MetricRegistry;
  /** 'text' (Istio's default format), 'json', or 'off'. */
  readonly accessLogFormat: 'text' | 'json' | 'off';
  /**
   * Where access-log lines go (newline included): a function taking each line as a string, or a sink the
   * text format writes bytes into (stdout-sink.ts). Default: process.stdout, batched.
   */
  readonly accessLogSink?: ((line: string) => void) | ByteLineSink;
  /** Operational log (errors, listener changes). */
  readonly log: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
  /** The gateway's workload identity, reported as the source in istio_* metrics. Optional (additive). */
  readonly identity?: WorkloadIdentity;
  /** How HTTP/1 is served: 'http1' (Gatehouse's server on node's llhttp, the default), 'node' (node:http's) or 'fastify' (node:http + a catch-all route); default from GATEHOUSE_DATAPATH (gateway/listeners/mount.ts). */
  readonly dataPath?: DataPath;
  /** How long retired listeners' connections and pools may finish before being destroyed (default 30 s). */
  readonly retireGraceMs?: number;
  /** Edge limits and header policy; unset fields take DEFAULT_EDGE_POLICY's values. Optional (additive). */
  readonly edge?: Partial<EdgePolicy>;
}

export interface DataPlane {
  /**
   * Warm (pools, secure contexts, new listeners bound), swap (one assignment), retire (close listeners
   * and pools that are gone). Rejects, leaving the current snapshot serving, when a new listener cannot
   * bind. Resolves once the snapshot is live.
   */
  apply(snapshot: Snapshot): Promise<void>;
  /** The live snapshot, or undefined before the first apply. */
  readonly current: Snapshot | undefined;
  /** True once a snapshot is live and every listener it names is bound. */
  readonly ready: boolean;
  /** Stop accepting, let in-flight requests finish for up to `timeoutMs`, then destroy what is left. */
  drain(timeoutMs: number): Promise<void>;
}

/** The DataPlane plus what tests and the admin port may want to see. */
export interface DataPlaneInternals extends DataPlane {
  /** Gateway port → port actually bound (useful when the port map says 0). */
  boundPort(port: number): number | undefined;
  /** Requests currently in flight. */
  readonly inFlight: number;
}

export function createDataPlane(options: DataPlaneOptions): DataPlaneInternals {
  const log = options.log;
  const givenSink = options.accessLogSink;
  const stdoutSink = givenSink === undefined ? createStdoutSink() : undefined;
  const byteSink = typeof givenSink === 'function' ? undefined : (givenSink ?? stdoutSink);
  const dataPath = options.dataPath ?? dataPathFromEnv(process.env.GATEHOUSE_DATAPATH);
  const graceMs = options.retireGraceMs ?? 30_000;
  const plane: PlaneState = {
    current: undefined,
    draining: false,
    metrics: new RequestMetrics(options.registry, options.identity ?? DEFAULT_IDENTITY),
    accessLogFormat: options.accessLogFormat,
    accessLog: typeof givenSink === 'function' ? { write: givenSink } : (byteSink as ByteLineSink),
    accessLogBytes: byteSink,
    log,
    inFlight: 0,
    onIdle: undefined,
    edge: edgePolicy(options.edge),
    connections: 0,
    overloaded: false,
  };
  const overload = new OverloadGuard(
    { heapRatio: plane.edge.overloadHeapRatio, eventLoopLagMs: plane.edge.overloadEventLoopLagMs },
    (overloaded, sample) => {
      plane.overloaded = overloaded;
      const facts = `heap ${(sample.heapRatio * 100).toFixed(1)}% of limit, event-loop delay ${sample.eventLoopLagMs.toFixed(0)} ms`;
      log(overloaded ? 'warn' : 'info', overloaded ? `overloaded (${facts}): refusing new connections and requests` : `recovered from overload (${facts})`);
    },
  );
  overload.start();
  // Before the first request: node's tick objects must keep one shape however the heap is collected.
  keepTickObjectShape();
  const clusters = new ClusterManager();
  const contexts = new SecureContextCache(options.ticketSeed);
  const listeners = new Map<number, BoundListener>();
  let ready = false;
  let drained = false;
  // Applies run one at a time: a second snapshot waits for the first to be live or rejected.
  let applying: Promise<void> = Promise.resolve();

  async function applyNow(snapshot: Snapshot): Promise<void> {
    if (drained || plane.draining) throw new Error('data plane is draining');
    // Warm.
    const problems: string[] = [];
    const byPort = new Map<number, Listener>();
    for (const l of snapshot.listeners) byPort.set(l.port, l);
    const clusterSet = clusters.warm(snapshot);
    const gen: Generation = {
      snapshot,
      listeners: byPort,
      clusters: clusterSet,
      contexts: contexts.warm(snapshot, problems),
    };
    for (const p of problems) log('warn', `TLS: ${p}`);

    const added: BoundListener[] = [];
    const replaced: BoundListener[] = [];
    try {
      for (const l of snapshot.listeners) {
        const existing = listeners.get(l.port);
        if (existing && existing.protocol === l.protocol) continue;
        if (existing) {
          // A protocol change needs a different server on the same port: free the port first.
          existing.stopAccepting();
          replaced.push(existing);
        }
        const bound = await BoundListener.bind(
          { port: l.port, protocol: l.protocol, bindAddress: options.bindAddress, bindPort: options.portMap.get(l.port) ?? l.port },
          plane,
          dataPath,
        );
        added.push(bound);
      }
    } catch (err) {
      for (const b of added) {
        b.stopAccepting();
        b.destroyConnections();
      }
      clusters.discard();
      if (replaced.length > 0) log('error', `listener protocol change failed; ports ${replaced.map((r) => r.port).join(', ')} stopped`);
      for (const r of replaced) listeners.delete(r.port);
      throw err;
    }

    // Swap.
    for (const b of added) listeners.set(b.port, b);
    plane.current = gen;
    for (const b of listeners.values()) b.updateDefaultContext(gen);

    // Retire.
    for (const r of replaced) r.retire(graceMs);
    for (const [port, b] of listeners) {
      if (!byPort.has(port)) {
        listeners.delete(port);
        b.retire(graceMs);
        log('info', `listener ${port} closed`);
      }
    }
    clusters.commit(clusterSet, graceMs);
    for (const b of added) log('info', `listener ${b.port} (${b.protocol}) bound on ${options.bindAddress}:${b.boundPort}`);
    ready = true;
  }

  async function drain(timeoutMs: number): Promise<void> {
    if (drained) return;
    plane.draining = true;
    ready = false;
    overload.stop();
    for (const b of listeners.values()) b.stopAccepting();
    if (plane.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(0, timeoutMs));
        function done(): void {
          clearTimeout(timer);
          plane.onIdle = undefined;
          resolve();
        }
        plane.onIdle = done;
      });
    }
    for (const b of listeners.values()) b.destroyConnections();
    listeners.clear();
    await clusters.closeAll(0);
    stdoutSink?.flush();
    drained = true;
  }

  return {
    apply(snapshot: Snapshot): Promise<void> {
      const next = applying.then(() => applyNow(snapshot));
      applying = next.catch(() => undefined);
      return next;
    },
    get current() {
      return plane.current?.snapshot;
    },
    get ready() {
      return ready && plane.current !== undefined;
    },
    drain,
    boundPort(port: number) {
      return listeners.get(port)?.boundPort;
    },
    get inFlight() {
      return plane.inFlight;
    },
  };
}
