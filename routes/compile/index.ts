// Validated resources → the body of a Snapshot (listeners, route tables, clusters, secrets).
// CONTRACT (owned by the compile/match helper; signature fixed):
import type { Diagnostic } from '../../core/diagnostics.js';
import type { Snapshot } from '../../core/snapshot.js';
import type { Located } from '../model/resource.js';

/** The gateway workload this configuration is compiled for. */
export interface GatewayIdentity {
  /** Pod labels Gateway selectors are matched against; default `{istio: 'ingressgateway'}`. */
  readonly labels: Readonly<Record<string, string>>;
  /** The workload's namespace (default `istio-system`): credentialName Secrets are read here. */
  readonly namespace: string;
  readonly serviceAccount: string;
}

export interface CompileOptions {
  readonly identity: GatewayIdentity;
  /** Kubernetes cluster domain; short hosts resolve to `<name>.<ns>.svc.<domainSuffix>`. */
  readonly domainSuffix: string;
  /** Clock for certificate expiry checks. */
  readonly now?: Date;
}

export type SnapshotBody = Omit<Snapshot, 'version' | 'hash' | 'builtAt'>;

export interface CompileResult {
  readonly body: SnapshotBody;
  /** Warnings (e.g. invalid Secret: its server's handshakes are refused) and any blocking errors. */
  readonly diagnostics: Diagnostic[];
}

/** Pure: no fs, no net, no timers. Assumes validateResources found no errors. */
export declare function compileSnapshot(resources: readonly Located[], options: CompileOptions): CompileResult;
