// YAML manifests → Located resources, keeping file:line:col for every field.
// CONTRACT (owned by the parse/validate helper; signature fixed):
import type { Diagnostic } from '../core/diagnostics.js';
import type { Located } from './model/resource.js';

export interface ManifestFile {
  /** Path used in diagnostics (relative to the config directory when read from one). */
  readonly path: string;
  readonly text: string;
}

export interface ParseOptions {
  /** Namespace given to documents without metadata.namespace (kubectl apply's default). */
  readonly defaultNamespace: string;
  /** Read order offset, so several sources give distinct, stable `origin.order`. */
  readonly orderBase?: number;
}

export interface ParseResult {
  /** Every document of a known kind, in read order (files sorted by path, documents in order). */
  readonly resources: Located[];
  /** YAML syntax errors (error), missing kind (error), unknown kinds (info). */
  readonly diagnostics: Diagnostic[];
}

export declare function parseManifests(files: readonly ManifestFile[], options: ParseOptions): ParseResult;
