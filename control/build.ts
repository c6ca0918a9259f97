// The only producer of Snapshots. CONTRACT (owned by the control-plane helper; signature fixed).
import type { Diagnostic } from '../core/diagnostics.js';
import type { Snapshot } from '../core/snapshot.js';
import type { CompileOptions } from '../routes/compile/index.js';
import type { Located } from '../routes/model/resource.js';

export type BuildResult =
  | { readonly ok: true; readonly snapshot: Snapshot; readonly diagnostics: readonly Diagnostic[] }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] }
  /** The input hashes equal to `previous`'s: nothing to do. */
  | { readonly ok: 'unchanged' };

/** validate → compile → hash → deep-freeze. Any error-severity diagnostic rejects the candidate. */
export declare function buildSnapshot(
  resources: readonly Located[],
  sourceDiagnostics: readonly Diagnostic[],
  options: CompileOptions,
  previous: Snapshot | undefined,
): BuildResult;
