// A config source produces complete resource sets; the store keeps one slice per source.
// The directory watcher is the first; the Kubernetes API source (k8s/) implements the same interface.
import type { Diagnostic } from '../core/diagnostics.js';
import type { Located } from '../routes/model/resource.js';

export interface SourceUpdate {
  /** Every resource this source currently holds (not a delta). */
  readonly resources: readonly Located[];
  /** Problems found while reading (unreadable file, YAML syntax). Errors reject the candidate. */
  readonly diagnostics: readonly Diagnostic[];
}

export interface ConfigSource {
  /** For logs and diagnostics, e.g. `directory:/etc/gatehouse`. */
  readonly name: string;
  /**
   * Reads the initial state, calls `emit` with it before resolving, then calls `emit` again with the
   * full set on every change until stop().
   */
  start(emit: (update: SourceUpdate) => void): Promise<void>;
  stop(): Promise<void>;
  /**
   * Optional: sees every other source's full set as it is stored (`from` = that source's index), also
   * before this source has started. For sources whose output depends on configuration others hold: the
   * mesh identity signs with the `cacerts` Secret, and DestinationRule file paths are read by a source.
   */
  observe?(from: number, resources: readonly Located[]): void;
}
