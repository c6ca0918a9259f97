// The IPC messages between the primary (control plane, cli/worker-pool.ts) and its data-plane workers
// (cli/worker.ts). Sent with the cluster channel's 'advanced' serialization (structured clone).
import type { ServeOptions } from './args.js';

/** One worker's view, for the admin port's /workers and for the e2e tests that prove both serve. */
export interface WorkerStatus {
  readonly id: number;
  readonly pid: number;
  /** Generation of the last snapshot this worker applied (0: none yet). */
  readonly generation: number;
  readonly snapshotVersion: number | null;
  readonly ready: boolean;
  readonly inFlight: number;
  /** Sum of this worker's istio_requests_total: which worker served how much. */
  readonly requestsTotal: number;
  readonly rssBytes: number;
  /**
   * The last snapshot message it applied: `base` is the generation it was a delta against (null: the full
   * snapshot), `chars` its length. Shows whether publishes reach it as deltas.
   */
  readonly lastSnapshot: { readonly base: number | null; readonly chars: number } | null;
  /** Gateway port → port bound. */
  readonly listeners: Readonly<Record<string, number>>;
}

/** A metric family as prom-client's getMetricsAsJSON returns it (input to AggregatorRegistry.aggregate). */
export type MetricsJson = readonly object[];

export type ToWorker =
  /** `snapshot`: core/snapshot-codec.ts's text, in full or as a delta against a generation the worker holds. */
  | { readonly t: 'gh:apply'; readonly generation: number; readonly snapshot: string }
  | { readonly t: 'gh:drain'; readonly timeoutMs: number }
  | { readonly t: 'gh:metrics'; readonly id: number }
  | { readonly t: 'gh:status'; readonly id: number };

export type FromWorker =
  | { readonly t: 'gh:hello' }
  /** `code`: the error's GH_ERR_* code, if it has one (GH_ERR_SNAPSHOT_WIRE: a delta against a base it does not hold). */
  | { readonly t: 'gh:applied'; readonly generation: number; readonly error?: string; readonly code?: string }
  | { readonly t: 'gh:metrics'; readonly id: number; readonly metrics: MetricsJson }
  | { readonly t: 'gh:status'; readonly id: number; readonly status: WorkerStatus };

export function isFromWorker(m: unknown): m is FromWorker {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string' && (m as { t: string }).t.startsWith('gh:');
}

/** ServeOptions reach a worker in its environment: it needs them before the channel says anything. */
export const WORKER_OPTIONS_ENV = 'GATEHOUSE_WORKER_OPTIONS';

/**
 * The gateway's TLS session ticket seed (base64), made by the primary at start and shared by its
 * workers (gateway/tls/secure-contexts.ts). The environment is readable only by the gateway's own user,
 * who can read its memory anyway; it never reaches a file or the admin port.
 */
export const WORKER_TICKET_SEED_ENV = 'GATEHOUSE_TICKET_SEED';

export function encodeWorkerOptions(options: ServeOptions): string {
  return JSON.stringify({ ...options, portMap: [...options.portMap] });
}

export function decodeWorkerOptions(text: string | undefined): ServeOptions {
  if (!text) throw new Error(`${WORKER_OPTIONS_ENV} is not set: a worker is started only by the gatehouse primary`);
  const raw = JSON.parse(text) as Omit<ServeOptions, 'portMap'> & { portMap: [number, number][] };
  return { ...raw, portMap: new Map(raw.portMap) };
}
