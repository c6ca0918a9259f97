// The primary's side of `--workers N` (N > 1): forks the data-plane workers with node:cluster, hands each
// published Snapshot to all of them with a generation number, and stands in for the DataPlane in the
// composition root (apply / ready / drain), so cli/serve.ts wires the control plane the same way for one
// process or many.
//
// Consistency: a snapshot is live only when every worker applied it. When every worker refuses it (a
// port that cannot bind fails the same way in all: the primary binds shared listeners), all are still on
// the previous one and apply() rejects, so the control plane keeps the last good config. When only some
// refuse it, the others are rolled back to the previous snapshot (as a new generation) and apply() still
// rejects; a worker that cannot even take the rollback, or that applied a first snapshot others refused,
// is replaced, and its replacement starts from the live snapshot. Readiness is true only when every
// live worker has acknowledged the current generation.
import { randomBytes } from 'node:crypto';
import cluster, { type Worker } from 'node:cluster';
import type { Snapshot } from '../core/snapshot.js';
import { ErrCode } from '../core/errors.js';
import { encodeSnapshot } from '../core/snapshot-codec.js';
import { DEFAULT_EDGE_POLICY } from '../gateway/edge-policy.js';
import type { ServeOptions } from './args.js';
import type { Log } from './log.js';
import { WORKER_OPTIONS_ENV, WORKER_TICKET_SEED_ENV, encodeWorkerOptions, isFromWorker, type FromWorker, type MetricsJson, type ToWorker, type WorkerStatus } from './workers-protocol.js';

/** A worker that dies sooner than this after its start is restarted only after the same delay (no fork loop). */
const RESTART_BACKOFF_MS = 1000;
/** How long a scrape or a /workers request waits for a worker; a worker that does not answer is left out. */
const QUERY_TIMEOUT_MS = 2000;
/** After the drain timeout, how long workers may take to flush and exit before they are killed. */
const EXIT_GRACE_MS = 5000;

/** How long a publish waits for forked workers to come up before going ahead with those that did. */
const STARTUP_WAIT_MS = 30_000;

/** Why a worker did not acknowledge a generation: it exited first. */
const GONE = Symbol('gone');
type Ack = undefined | string | typeof GONE;
/** A worker's answer to one 'gh:apply' as it came: `code` tells a refused encoding from a refused snapshot. */
type Reply = { readonly error?: string; readonly code?: string } | typeof GONE;

interface Slot {
  readonly worker: Worker;
  readonly startedAt: number;
  hello: boolean;
  /** Generation of the last snapshot it acknowledged. */
  generation: number;
  /**
   * The snapshot it holds as far as its own acknowledgements say (a refused one leaves it on the one
   * before, even where `generation` counts it on a rollback): what a delta to it is encoded against.
   */
  held: Live | undefined;
  readonly acks: Map<number, (reply: Reply) => void>;
  readonly queries: Map<number, (reply: FromWorker | undefined) => void>;
}

interface Live {
  readonly generation: number;
  readonly snapshot: Snapshot;
}

export interface WorkerPool {
  apply(snapshot: Snapshot): Promise<void>;
  readonly current: Snapshot | undefined;
  readonly ready: boolean;
  drain(timeoutMs: number): Promise<void>;
  /** Each answering worker's istio_* metrics, for the primary to sum. */
  metrics(): Promise<MetricsJson[]>;
  workers(): Promise<WorkerStatus[]>;
}

/**
 * Workers accept from the shared socket themselves (SCHED_NONE) rather than the primary accepting every
 * connection and passing it over IPC (SCHED_RR, node's default on Linux): measured equal per keep-alive
 * request, and ~0.6x the CPU per new connection, with no single accepting process to cap handshakes/s
 * (docs/performance.md, workers). NODE_CLUSTER_SCHED_POLICY=rr|none still wins when set.
 */
function chooseSchedulingPolicy(): void {
  if (process.env.NODE_CLUSTER_SCHED_POLICY === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE;
}

/**
 * The options one worker runs with. Connection limits are the gateway's (what an operator sets for the
 * pod), so each worker holds its share: N workers together refuse new connections at about the same
 * total a single process would. The kernel does not split connections evenly, so one worker may refuse
 * while another still has room; the total never exceeds the flag by more than N - 1.
 */
export function workerShare(options: ServeOptions): ServeOptions {
  const n = Math.max(1, options.workers);
  const edge = { ...DEFAULT_EDGE_POLICY, ...options.edge };
  return {
    ...options,
    edge: {
      ...options.edge,
      maxConnections: Math.ceil(edge.maxConnections / n),
      maxConnectionsPerListener: Math.ceil(edge.maxConnectionsPerListener / n),
    },
  };
}

export function startWorkerPool(options: ServeOptions, log: Log): WorkerPool {
  chooseSchedulingPolicy();
  // Structured clone for the channel: the snapshot travels as one string, copied once, not re-escaped.
  cluster.setupPrimary({ serialization: 'advanced' });
  const env = { [WORKER_OPTIONS_ENV]: encodeWorkerOptions(workerShare(options)), [WORKER_TICKET_SEED_ENV]: randomBytes(32).toString('base64') };
  const slots = new Map<number, Slot>();
  let live: Live | undefined;
  let nextGeneration = 1;
  let nextQuery = 1;
  let draining = false;
  // Applies and catch-ups run one at a time, so a new worker never misses a generation being published.
  let chain: Promise<unknown> = Promise.resolve();
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn);
    chain = next.catch(() => undefined);
    return next;
  };

  // Publishes wait for workers still starting, so "live" means live in every worker, from the first snapshot on.
  let upWaiters: (() => void)[] = [];
  const allUp = (): boolean => [...slots.values()].every((s) => s.hello);
  const checkUp = (): void => {
    if (!allUp()) return;
    const waiters = upWaiters;
    upWaiters = [];
    for (const w of waiters) w();
  };
  const everyoneUp = (): Promise<void> => {
    if (allUp()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        upWaiters = upWaiters.filter((w) => w !== done);
        log('warn', `worker(s) not started after ${STARTUP_WAIT_MS} ms; publishing to those that are`);
        resolve();
      }, STARTUP_WAIT_MS);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      upWaiters.push(done);
    });
  };

  const send = (slot: Slot, m: ToWorker): void => {
    if (slot.worker.isConnected()) slot.worker.send(m);
  };

  // The encoded text is not kept with the live snapshot (at 10,000 hosts it is ~11 MiB the primary would
  // hold for nothing). A publish encodes once per base the workers hold (normally one: the live snapshot),
  // as a delta against it (~60 KB after a one-resource edit at 10,000 hosts), and in full only for a
  // worker that holds nothing (a replacement), or one that refuses the delta's base (which the tracking
  // here should rule out: the full text is the way back if it ever does not).
  function encoderFor(state: Live): (slot: Slot) => string {
    const texts = new Map<number, string>();
    return (slot) => {
      const base = slot.held;
      const key = base?.generation ?? 0;
      let text = texts.get(key);
      if (text === undefined) {
        text = encodeSnapshot(state.snapshot, base);
        texts.set(key, text);
      }
      return text;
    };
  }

  function applyOn(slot: Slot, state: Live, encode: (slot: Slot) => string): Promise<Ack> {
    if (!slot.worker.isConnected()) return Promise.resolve(GONE);
    const delta = slot.held !== undefined;
    return sendApply(slot, state, encode(slot))
      .then((reply) => {
        if (!delta || reply === GONE || reply.code !== ErrCode.SNAPSHOT_WIRE) return reply;
        log('warn', `worker ${slot.worker.id} cannot decode a delta against generation ${slot.held?.generation} (${reply.error}); sending it the full snapshot`);
        slot.held = undefined;
        return sendApply(slot, state, encode(slot));
      })
      .then((reply) => {
        if (reply === GONE) return GONE;
        if (reply.error === undefined) slot.held = state;
        return reply.error;
      });
  }

  function sendApply(slot: Slot, state: Live, text: string): Promise<Reply> {
    if (!slot.worker.isConnected()) return Promise.resolve(GONE);
    return new Promise((resolve) => {
      slot.acks.set(state.generation, resolve);
      send(slot, { t: 'gh:apply', generation: state.generation, snapshot: text });
    });
  }

  function fork(): void {
    const worker = cluster.fork(env);
    const slot: Slot = { worker, startedAt: Date.now(), hello: false, generation: 0, held: undefined, acks: new Map(), queries: new Map() };
    slots.set(worker.id, slot);
    // A write to a worker that has just died (killed, out of memory) fails with EPIPE, or finds the
    // channel closed, before the primary has seen the exit: node reports it as an 'error' event, which
    // unhandled would take the primary, and so every other worker, down with it. The 'exit' handler below
    // settles that worker's pending acks and queries and replaces it.
    worker.on('error', (err: Error) => log('warn', `worker ${worker.id} (pid ${worker.process.pid}): IPC: ${err.message}`));
    worker.on('message', (m: unknown) => {
      if (!isFromWorker(m)) return;
      switch (m.t) {
        case 'gh:hello':
          slot.hello = true;
          checkUp();
          serialized(() => catchUp(slot)).catch((err: unknown) => log('error', `worker ${worker.id} did not catch up: ${(err as Error).message}`));
          return;
        case 'gh:applied': {
          if (m.error === undefined) slot.generation = Math.max(slot.generation, m.generation);
          const ack = slot.acks.get(m.generation);
          slot.acks.delete(m.generation);
          ack?.(m);
          return;
        }
        case 'gh:metrics':
        case 'gh:status': {
          const reply = slot.queries.get(m.id);
          slot.queries.delete(m.id);
          reply?.(m);
          return;
        }
      }
    });
    worker.on('exit', (code, signal) => {
      slots.delete(worker.id);
      for (const ack of slot.acks.values()) ack(GONE);
      for (const reply of slot.queries.values()) reply(undefined);
      checkUp();
      if (draining) return;
      log('warn', `worker ${worker.id} (pid ${worker.process.pid}) exited with ${signal ?? code}; starting a replacement`);
      const lived = Date.now() - slot.startedAt;
      if (lived >= RESTART_BACKOFF_MS) fork();
      else setTimeout(() => draining || fork(), RESTART_BACKOFF_MS - lived).unref();
    });
  }

  /** A new (or replacement) worker gets the live snapshot before it counts as ready. */
  async function catchUp(slot: Slot): Promise<void> {
    if (!live || slot.generation === live.generation) return;
    const ack = await applyOn(slot, live, encoderFor(live));
    if (typeof ack === 'string') {
      log('error', `worker ${slot.worker.id} cannot apply the live snapshot v${live.snapshot.version}: ${ack}; replacing it`);
      slot.worker.kill();
    }
  }

  async function applyAll(snapshot: Snapshot): Promise<void> {
    if (draining) throw new Error('the gateway is draining');
    await everyoneUp();
    const previous = live;
    const next: Live = { generation: nextGeneration++, snapshot };
    const targets = [...slots.values()].filter((s) => s.hello);
    const encode = encoderFor(next);
    const acks = await Promise.all(targets.map((s) => applyOn(s, next, encode)));
    const refused = targets.filter((_, i) => typeof acks[i] === 'string');
    const took = targets.filter((_, i) => acks[i] === undefined);
    if (refused.length === 0) {
      live = next;
      return;
    }
    const reason = acks.find((a): a is string => typeof a === 'string')!;
    if (took.length === 0) throw new Error(`every worker refused it: ${reason}`);
    const who = refused.map((s) => s.worker.id).join(', ');
    if (!previous) {
      for (const s of took) s.worker.kill();
      throw new Error(`worker(s) ${who} refused it (${reason}); the workers that took it are replaced`);
    }
    const rollback: Live = { ...previous, generation: nextGeneration++ };
    const encodeRollback = encoderFor(rollback);
    const rolled = await Promise.all(took.map((s) => applyOn(s, rollback, encodeRollback)));
    live = rollback;
    for (const s of refused) s.generation = rollback.generation; // still on the previous snapshot
    took.forEach((s, i) => {
      if (typeof rolled[i] === 'string') s.worker.kill();
    });
    throw new Error(`worker(s) ${who} refused it (${reason}); every worker is back on v${previous.snapshot.version}`);
  }

  function query(slot: Slot, make: (id: number) => ToWorker): Promise<FromWorker | undefined> {
    if (!slot.worker.isConnected()) return Promise.resolve(undefined);
    const id = nextQuery++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        slot.queries.delete(id);
        resolve(undefined);
      }, QUERY_TIMEOUT_MS);
      slot.queries.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      send(slot, make(id));
    });
  }

  for (let i = 0; i < options.workers; i++) fork();

  return {
    apply: (snapshot) => serialized(() => applyAll(snapshot)),
    get current() {
      return live?.snapshot;
    },
    get ready() {
      if (draining || !live || slots.size < options.workers) return false;
      for (const s of slots.values()) if (s.generation !== live.generation) return false;
      return true;
    },
    async drain(timeoutMs) {
      draining = true;
      const exits = [...slots.values()].map((s) => new Promise<void>((r) => (s.worker.isDead() ? r() : s.worker.once('exit', () => r()))));
      for (const s of slots.values()) {
        // Not yet listening for messages, so it could miss the drain; it serves nothing yet either.
        if (s.hello) send(s, { t: 'gh:drain', timeoutMs });
        else s.worker.kill();
      }
      const timer = setTimeout(() => {
        for (const s of slots.values()) {
          log('error', `worker ${s.worker.id} did not exit after draining; killing it`);
          s.worker.process.kill('SIGKILL');
        }
      }, timeoutMs + EXIT_GRACE_MS);
      await Promise.all(exits);
      clearTimeout(timer);
    },
    async metrics() {
      const replies = await Promise.all([...slots.values()].map((s) => query(s, (id) => ({ t: 'gh:metrics', id }))));
      return replies.flatMap((r) => (r?.t === 'gh:metrics' ? [r.metrics] : []));
    },
    async workers() {
      const replies = await Promise.all([...slots.values()].map((s) => query(s, (id) => ({ t: 'gh:status', id }))));
      return replies.flatMap((r) => (r?.t === 'gh:status' ? [r.status] : []));
    },
  };
}
