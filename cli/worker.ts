// One data-plane worker under `gatehouse serve --workers N` (N > 1): createDataPlane and nothing of the
// control plane, YAML or certificate building. Snapshots arrive from the primary (cli/worker-pool.ts) over
// the cluster channel with a generation number; each is applied, then acknowledged. Listeners are shared
// with the other workers through node:cluster.
import cluster from 'node:cluster';
import { decodeSnapshot, snapshotWireBase, type HeldSnapshot } from '../core/snapshot-codec.js';
import type { Snapshot } from '../core/snapshot.js';
import { createDataPlane } from '../gateway/index.js';
import { createStdoutSink } from '../gateway/telemetry/stdout-sink.js';
import { createLog } from './log.js';
import { wholeLineWriter } from './whole-line-writer.js';
import { WorkerMetricRegistry } from './worker-metrics.js';
import { workloadIdentity } from './workload-identity.js';
import { WORKER_OPTIONS_ENV, WORKER_TICKET_SEED_ENV, decodeWorkerOptions, type FromWorker, type ToWorker, type WorkerStatus } from './workers-protocol.js';

const REQUESTS_TOTAL = 'istio_requests_total';

export async function runWorker(): Promise<number> {
  const options = decodeWorkerOptions(process.env[WORKER_OPTIONS_ENV]);
  const id = cluster.worker?.id ?? 0;
  const baseLog = createLog(options.logLevel);
  const log: typeof baseLog = (level, message) => baseLog(level, `worker ${id}: ${message}`);
  // Only istio_* series here: process metrics are the primary's (docs/performance.md, workers).
  const registry = new WorkerMetricRegistry();
  const seed = process.env[WORKER_TICKET_SEED_ENV];
  // Not inherited by anything this worker might start.
  delete process.env[WORKER_TICKET_SEED_ENV];
  const accessLog = createStdoutSink(wholeLineWriter());
  const dataPlane = createDataPlane({
    identity: workloadIdentity(options),
    bindAddress: options.bindAddress,
    portMap: options.portMap,
    registry,
    accessLogFormat: options.accessLogFormat,
    accessLogSink: accessLog,
    edge: options.edge,
    ...(seed ? { ticketSeed: Buffer.from(seed, 'base64') } : {}),
    log,
  });
  let generation = 0;
  // The snapshot this worker applied last, as it was decoded: the base the primary's deltas reference
  // (the data plane holds the same object, so keeping it costs nothing).
  let held: HeldSnapshot | undefined;
  let lastSnapshot: WorkerStatus['lastSnapshot'] = null;
  const send = (m: FromWorker): void => {
    if (process.connected) process.send!(m);
  };

  let resolveStopped!: (code: number) => void;
  const stopped = new Promise<number>((r) => (resolveStopped = r));
  let draining: Promise<void> | undefined;
  const drain = (timeoutMs: number): Promise<void> =>
    (draining ??= dataPlane.drain(timeoutMs).then(
      () => {
        accessLog.flush();
        resolveStopped(0);
      },
      (err: unknown) => {
        log('error', `drain failed: ${(err as Error).message}`);
        accessLog.flush();
        resolveStopped(1);
      },
    ));

  const status = async (): Promise<WorkerStatus> => {
    const metric = registry.getSingleMetric(REQUESTS_TOTAL);
    let requestsTotal = 0;
    if (metric) for (const v of (await metric.get()).values) requestsTotal += v.value;
    const listeners: Record<string, number> = {};
    for (const l of dataPlane.current?.listeners ?? []) {
      const bound = dataPlane.boundPort(l.port);
      if (bound !== undefined) listeners[String(l.port)] = bound;
    }
    return {
      id,
      pid: process.pid,
      generation,
      snapshotVersion: dataPlane.current?.version ?? null,
      ready: dataPlane.ready,
      inFlight: dataPlane.inFlight,
      requestsTotal,
      rssBytes: process.memoryUsage.rss(),
      lastSnapshot,
      listeners,
    };
  };

  // Only the generation and the decoded snapshot outlive the decode: the message's text (megabytes at
  // scale in full) is garbage once decoded.
  const applyMessage = (applying: number, text: string): void => {
    let snapshot: Snapshot | undefined;
    // A snapshot that does not decode is refused like one that does not bind, not a crash. A delta is
    // decoded against what was applied last, when it arrives: messages are handled in order, and each
    // apply waits for the previous one in the data plane, so `held` is the base the primary sent it against
    // unless an earlier apply is still running, in which case the base is refused and the primary resends.
    Promise.resolve(text)
      .then((t) => {
        snapshot = decodeSnapshot(t, held);
        return dataPlane.apply(snapshot);
      })
      .then(
        () => {
          generation = applying;
          held = { generation: applying, snapshot: snapshot! };
          lastSnapshot = { base: snapshotWireBase(text) ?? null, chars: text.length };
          send({ t: 'gh:applied', generation: applying });
        },
        (err: unknown) => {
          log('error', `snapshot generation ${applying} not applied: ${(err as Error).message}`);
          const code = (err as { code?: unknown }).code;
          send({ t: 'gh:applied', generation: applying, error: (err as Error).message, ...(typeof code === 'string' ? { code } : {}) });
        },
      );
  };

  process.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'gh:apply':
        applyMessage(m.generation, m.snapshot);
        return;
      case 'gh:drain':
        void drain(m.timeoutMs);
        return;
      case 'gh:metrics':
        void registry.getMetricsAsJSON().then((metrics) => send({ t: 'gh:metrics', id: m.id, metrics }));
        return;
      case 'gh:status':
        void status().then((s) => send({ t: 'gh:status', id: m.id, status: s }));
        return;
    }
  });
  // The primary coordinates shutdown: a terminal's Ctrl-C reaches the whole process group, and the
  // primary then sends 'gh:drain'. SIGTERM to one worker alone drains it; the primary replaces it.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => void drain(options.drainTimeoutMs));
  // A primary that died cannot hand out config or collect metrics: finish what is in flight and go.
  process.on('disconnect', () => void drain(options.drainTimeoutMs));
  send({ t: 'gh:hello' });
  return stopped;
}
