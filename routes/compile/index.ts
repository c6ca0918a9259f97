// Validated resources → the body of a Snapshot (listeners, route tables, clusters, secrets).
// CONTRACT (owned by the compile/match helper; signature fixed):
//
// Stages, each in its own module: servers (Gateway selection and per-port merging), virtual-services
// (binding index), listeners → route-table → http-routes / tls-routes, clusters (with services and
// secrets). Pure: no fs, no net, no timers; node:crypto only to check certificates.
import { createHash } from 'node:crypto';
import type { Diagnostic } from '../../core/diagnostics.js';
import type { Snapshot } from '../../core/snapshot.js';
import type { Located } from '../model/resource.js';
import { ClusterBuilder } from './clusters.js';
import { CompileContext } from './context.js';
import { buildListeners } from './listeners.js';
import { SecretStore } from './secrets.js';
import { RouteMemo } from './route-memo.js';
import { planDelta, reportUnusedDelta } from './route-delta.js';
import { mergeGateways } from './servers.js';
import { ServiceRegistry } from './services.js';
import { VirtualServiceIndex } from './virtual-services.js';

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
  /** SPIFFE trust domain of the mesh (default `cluster.local`): expected peer identities are built in it. */
  readonly trustDomain?: string;
  /** Clock for certificate expiry checks. */
  readonly now?: Date;
}

export type SnapshotBody = Omit<Snapshot, 'version' | 'hash' | 'builtAt'>;

export interface CompileResult {
  readonly body: SnapshotBody;
  /** Warnings (e.g. invalid Secret: its server's handshakes are refused) and any blocking errors. */
  readonly diagnostics: Diagnostic[];
  /** Present for an incremental compile: hand it to the next one. */
  readonly memo?: CompileMemo;
}

/** What an incremental compile carries from one compile to the next (see route-memo.ts). */
export type CompileMemo = RouteMemo;

export interface IncrementalCompile {
  /** The memo of the compile this one follows; undefined for the first. */
  readonly previous: CompileMemo | undefined;
  /** A digest of a resource object's content: equal content, equal digest (the caller caches it). */
  readonly digest: (object: object) => string;
}

/**
 * Pure: no fs, no net, no timers. Assumes validateResources found no errors. With `incremental`, parts
 * whose inputs are unchanged since `incremental.previous` are reused; the result equals a full compile.
 */
export function compileSnapshot(resources: readonly Located[], options: CompileOptions, incremental?: IncrementalCompile): CompileResult {
  const memo = incremental ? new RouteMemo(routeEnvironment(resources, options, incremental.digest), incremental.previous) : undefined;
  const ctx = new CompileContext(resources, options, memo);
  const registry = new ServiceRegistry(ctx);
  const secrets = new SecretStore(ctx);
  const clusters = new ClusterBuilder(ctx, registry, secrets);
  const virtualServices = new VirtualServiceIndex(ctx);
  const ports = mergeGateways(ctx);
  const recorder = memo ? planDelta(ctx, ports, memo) : undefined;
  if (memo) memo.recorder = recorder;
  const { listeners, routeTables } = buildListeners(ctx, ports, virtualServices, clusters, secrets);
  const served = new Set(ports.filter((p) => p.kind !== 'TCP').flatMap((p) => p.servers.map((s) => s.gatewayKey)));
  if (recorder?.delta) {
    reportUnusedDelta(ctx, served, recorder);
    recorder.seedClusters(clusters);
  } else {
    virtualServices.reportUnused(ctx, served, recorder?.unused);
  }
  if (memo) {
    memo.state = recorder?.state();
    memo.recorder = undefined;
    memo.seal();
  }
  const builtClusters = clusters.build();
  const sortedTables: Record<string, (typeof routeTables)[string]> = {};
  for (const k of Object.keys(routeTables).sort()) sortedTables[k] = routeTables[k] as (typeof routeTables)[string];
  const sortedSecrets: Record<string, (typeof secrets.secrets)[string]> = {};
  for (const k of Object.keys(secrets.secrets).sort()) sortedSecrets[k] = secrets.secrets[k] as (typeof secrets.secrets)[string];
  return {
    body: {
      listeners,
      routeTables: sortedTables,
      clusters: builtClusters,
      secrets: sortedSecrets,
      diagnostics: ctx.diagnostics,
    },
    diagnostics: ctx.diagnostics,
    ...(memo ? { memo } : {}),
  };
}

/** The last resource list routeEnvironment saw (its objects), and what it gave for which options. */
let lastEnvironment: { readonly objects: readonly object[]; readonly options: string; readonly digest: (object: object) => string; readonly key: string } | undefined;

const SERVICE_KINDS = new Set(['ServiceEntry', 'Service']);

/**
 * Everything HTTP routes read besides their VirtualService: options and the service registry's inputs.
 * The same as the last call's when the options are and no ServiceEntry or Service lies between the
 * unchanged head and tail of the last list (same objects, same places).
 */
function routeEnvironment(resources: readonly Located[], options: CompileOptions, digest: (object: object) => string): string {
  const optionsKey = JSON.stringify([options.identity.namespace, options.domainSuffix, options.trustDomain ?? '', Object.entries(options.identity.labels).sort()]);
  const n = resources.length;
  const objects = new Array<object>(n);
  for (let i = 0; i < n; i++) objects[i] = (resources[i] as Located).object;
  const last = lastEnvironment;
  if (last && last.options === optionsKey && last.digest === digest) {
    const before = last.objects;
    const m = before.length;
    const min = Math.min(m, n);
    let head = 0;
    let tail = 0;
    while (head < min && before[head] === objects[head]) head++;
    while (tail < min - head && before[m - 1 - tail] === objects[n - 1 - tail]) tail++;
    let services = false;
    for (let i = head; i < n - tail && !services; i++) services = SERVICE_KINDS.has((objects[i] as Located['object']).kind);
    for (let i = head; i < m - tail && !services; i++) services = SERVICE_KINDS.has((before[i] as Located['object']).kind);
    if (!services) {
      lastEnvironment = { objects, options: optionsKey, digest, key: last.key };
      return last.key;
    }
  }
  // The same bytes as one update per service, in one update (an update costs more than its hashing).
  const parts: string[] = [optionsKey];
  for (let i = 0; i < n; i++) {
    const o = objects[i] as Located['object'];
    // In read order: only their relative order matters (the registry's age sort breaks ties by it), so
    // files added or removed elsewhere, which shift every later resource's order, keep the routes.
    if (SERVICE_KINDS.has(o.kind)) parts.push(`\n${digest(o)}`);
  }
  const key = createHash('sha256').update(parts.join('')).digest('hex');
  lastEnvironment = { objects, options: optionsKey, digest, key };
  return key;
}
