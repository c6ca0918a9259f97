// The data plane's public face. CONTRACT (owned by the data-plane helper; shape fixed):
// cli/main.ts constructs one DataPlane, hands it each new Snapshot, and drains it on SIGTERM.
import type { Registry } from 'prom-client';
import type { Snapshot } from '../core/snapshot.js';

export interface DataPlaneOptions {
  /** Address listeners bind to (default '0.0.0.0'; tests use '127.0.0.1'). */
  readonly bindAddress: string;
  /** Gateway server port → port actually bound (`--port-map 80=8080,443=8443`). */
  readonly portMap: ReadonlyMap<number, number>;
  /** Where istio_* request metrics are registered. */
  readonly registry: Registry;
  /** 'text' (Istio's default format), 'json', or 'off'. */
  readonly accessLogFormat: 'text' | 'json' | 'off';
  /** Writes one access-log line (newline included). Default: process.stdout. */
  readonly accessLogSink?: (line: string) => void;
  /** Operational log (errors, listener changes). */
  readonly log: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
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

export declare function createDataPlane(options: DataPlaneOptions): DataPlane;
