// The control plane's public face. CONTRACT (owned by the control-plane helper; shape fixed):
// sources → store (a slice per source) → debounce (100 ms quiet, 1 s cap, one build in flight)
// → build (parse already done by sources; validate → compile → hash → freeze) → publish.
import type { Registry } from 'prom-client';
import type { Diagnostic } from '../core/diagnostics.js';
import type { Snapshot } from '../core/snapshot.js';
import type { CompileOptions } from '../routes/compile/index.js';
import type { ConfigSource } from './source.js';

export interface ControlPlaneOptions {
  readonly sources: readonly ConfigSource[];
  readonly compile: CompileOptions;
  /** Defaults: quietMs 100, maxDelayMs 1000. */
  readonly debounce?: { readonly quietMs: number; readonly maxDelayMs: number };
  /**
   * Hands a new snapshot to the data plane. A rejection (e.g. a port that cannot bind) counts as a
   * rejected config: the previous snapshot stays live.
   */
  readonly publish: (snapshot: Snapshot) => Promise<void>;
  /** Where gatehouse_config_* metrics are registered. */
  readonly registry: Registry;
  readonly log: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
}

export interface Rejection {
  readonly at: string;
  readonly diagnostics: readonly Diagnostic[];
  /** Set when the data plane refused the snapshot (bind failure), rather than validation. */
  readonly publishError?: string;
}

export interface ControlStatus {
  readonly live: Snapshot | undefined;
  /** The most recent rejected candidate, cleared when a later candidate is published. */
  readonly lastRejection: Rejection | undefined;
  readonly rejectedTotal: number;
  readonly publishedTotal: number;
}

export interface ControlPlane {
  /** Starts every source and resolves after the first build has been published or rejected. */
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): ControlStatus;
}

export declare function createControlPlane(options: ControlPlaneOptions): ControlPlane;
