// Rules across resources: duplicates, VirtualServices naming Gateways that do not exist, and
// destinations naming subsets that no DestinationRule defines. Everything here is a lookup in maps
// built once, so a configuration of thousands of resources stays linear.
import { CfgCode } from '../../core/codes.js';
import type { Diagnostic } from '../../core/diagnostics.js';
import type { Located } from '../model/resource.js';
import type { Path } from './schema.js';
import { ResourceContext, isRecord } from './schema.js';

/** Istio's reserved gateway name for the sidecars of the mesh; never a Gateway resource. */
const MESH = 'mesh';
/** Validation runs before compile knows the domain suffix; Istio's default is what manifests assume. */
const DOMAIN_SUFFIX = 'cluster.local';

/** Istio short-name resolution: a host without a dot is a Service in the referring resource's namespace. */
export function resolveHost(host: string, namespace: string): string {
  return host.includes('.') || host.includes('*') ? host : `${host}.${namespace}.svc.${DOMAIN_SUFFIX}`;
}

/**
 * A VirtualService's gateway reference as `namespace/name`: `ns/name` as given, a bare `name` in the
 * VirtualService's namespace, and Istio's legacy `name.namespace[.svc.cluster.local]`.
 */
export function resolveGatewayName(ref: string, namespace: string): string {
  const slash = ref.indexOf('/');
  if (slash >= 0) return `${ref.slice(0, slash)}/${ref.slice(slash + 1)}`;
  const dot = ref.indexOf('.');
  if (dot >= 0) {
    const rest = ref.slice(dot + 1);
    const ns = rest.split('.')[0] ?? namespace;
    return `${ns}/${ref.slice(0, dot)}`;
  }
  return `${namespace}/${ref}`;
}

/** What `array` gives for a field that is not a list: one shared empty list, not one per missing field. */
const NO_ITEMS: readonly unknown[] = Object.freeze([]);

function array(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : NO_ITEMS;
}

export function checkDuplicates(resources: readonly Located[], out: Diagnostic[]): void {
  const first = new Map<string, Located>();
  for (let i = 0; i < resources.length; i++) {
    const r = resources[i] as Located;
    const { kind, metadata } = r.object;
    const key = duplicateKey(r.object);
    const seen = first.get(key);
    if (!seen) {
      first.set(key, r);
      continue;
    }
    const at = seen.origin.source;
    new ResourceContext(r, out).error(
      CfgCode.DUPLICATE,
      `${kind} ${metadata.namespace}/${metadata.name} is defined twice; the first definition is at ${at.file}:${at.line}`,
      ['metadata', 'name'],
    );
  }
}

/** `kind/namespace/name` per object, made once (the objects are immutable, the check runs every build). */
const duplicateKeys = new WeakMap<object, string>();

export function duplicateKey(object: Located['object']): string {
  let key = duplicateKeys.get(object);
  if (key === undefined) {
    key = `${object.kind}/${object.metadata.namespace}/${object.metadata.name}`;
    duplicateKeys.set(object, key);
  }
  return key;
}

/** What the gateway-reference rule reads of other resources: the Gateways, and that set as a memo key. */
export interface GatewaySet {
  readonly gateways: ReadonlySet<string>;
  readonly key: string;
}

export function gatewaySet(resources: readonly Located[], memo?: CrossMemo): GatewaySet {
  const gateways = new Set<string>();
  for (let i = 0; i < resources.length; i++) {
    const r = resources[i] as Located;
    if (r.object.kind === 'Gateway') gateways.add(`${r.object.metadata.namespace}/${r.object.metadata.name}`);
  }
  // What every VirtualService's result depends on besides itself: the set of Gateways.
  return { gateways, key: memo ? [...gateways].sort().join('\n') : '' };
}

/** The rule for the VirtualServices among resources[from, to) (all other kinds are skipped). */
export function checkGatewayReferencesIn(resources: readonly Located[], from: number, to: number, set: GatewaySet, out: Diagnostic[], memo?: CrossMemo): void {
  for (let i = from; i < to; i++) {
    const r = resources[i] as Located;
    if (r.object.kind !== 'VirtualService' || !isRecord(r.object['spec'])) continue;
    reuseOrRun(memo, r, set.key, out, (into) => gatewayReferencesOf(r, set.gateways, into));
  }
}

export function checkGatewayReferences(resources: readonly Located[], out: Diagnostic[], memo?: CrossMemo): void {
  checkGatewayReferencesIn(resources, 0, resources.length, gatewaySet(resources, memo), out, memo);
}

function gatewayReferencesOf(r: Located, gateways: ReadonlySet<string>, out: Diagnostic[]): void {
  const spec = r.object['spec'] as Record<string, unknown>;
  const namespace = r.object.metadata.namespace;
  // Paths are built only for a reference that is reported: nearly all of them resolve.
  const gatewayRefs = array(spec['gateways']);
  for (let i = 0; i < gatewayRefs.length; i++) {
    if (!gatewayExists(gatewayRefs[i], namespace, gateways)) reportMissingGateway(r, out, gatewayRefs[i] as string, ['spec', 'gateways', i]);
  }
  for (let s = 0; s < GATEWAY_SECTIONS.length; s++) {
    const section = GATEWAY_SECTIONS[s] as (typeof GATEWAY_SECTIONS)[number];
    const routes = array(spec[section]);
    for (let i = 0; i < routes.length; i++) {
      const route = routes[i];
      if (!isRecord(route)) continue;
      const matches = array(route['match']);
      for (let j = 0; j < matches.length; j++) {
        const m = matches[j];
        if (!isRecord(m)) continue;
        const refs = array(m['gateways']);
        for (let k = 0; k < refs.length; k++) {
          if (!gatewayExists(refs[k], namespace, gateways)) reportMissingGateway(r, out, refs[k] as string, ['spec', section, i, 'match', j, 'gateways', k]);
        }
      }
    }
  }
}

const GATEWAY_SECTIONS = ['http', 'tls'] as const;

function gatewayExists(ref: unknown, namespace: string, gateways: ReadonlySet<string>): boolean {
  return typeof ref !== 'string' || ref === MESH || ref === '' || gateways.has(resolveGatewayName(ref, namespace));
}

function reportMissingGateway(r: Located, out: Diagnostic[], ref: string, path: Path): void {
  const ctx = new ResourceContext(r, out);
  const name = resolveGatewayName(ref, ctx.namespace);
  ctx.warn(CfgCode.GATEWAY_NOT_FOUND, `gateway ${JSON.stringify(ref)} (${name}) does not exist; routes bound only to it are not served`, path);
}

/**
 * Results of a cross-resource rule per VirtualService, kept across validations: valid while the object is
 * the same one, at the same place, and `key` (what else the rule read) is unchanged.
 */
export type CrossMemo = WeakMap<object, { readonly key: string; readonly file: string; readonly doc: number; readonly diagnostics: readonly Diagnostic[] }>;

/** Most resources have nothing to report: one shared empty list instead of one per resource. */
export const NONE: readonly Diagnostic[] = Object.freeze([]);

function reuseOrRun(memo: CrossMemo | undefined, r: Located, key: string, out: Diagnostic[], run: (into: Diagnostic[]) => void): void {
  if (!memo) return run(out);
  let entry = memo.get(r.object);
  if (!entry || entry.key !== key || entry.file !== r.origin.file || entry.doc !== r.origin.doc) {
    const own: Diagnostic[] = [];
    run(own);
    entry = { key, file: r.origin.file, doc: r.origin.doc, diagnostics: own.length === 0 ? NONE : own };
    memo.set(r.object, entry);
  }
  const found = entry.diagnostics;
  for (let k = 0; k < found.length; k++) out.push(found[k] as Diagnostic);
}

/** A memo entry of `r` still valid for `key` (same object, same place, same inputs), or undefined. */
function validEntry(memo: CrossMemo, r: Located, key: string): readonly Diagnostic[] | undefined {
  const entry = memo.get(r.object);
  return entry !== undefined && entry.key === key && entry.file === r.origin.file && entry.doc === r.origin.doc ? entry.diagnostics : undefined;
}

function remember(memo: CrossMemo, r: Located, key: string, found: Diagnostic[]): readonly Diagnostic[] {
  const diagnostics = found.length === 0 ? NONE : found;
  memo.set(r.object, { key, file: r.origin.file, doc: r.origin.doc, diagnostics });
  return diagnostics;
}

/**
 * The gateway-reference rule's findings for one VirtualService, from the memo or computed and kept there;
 * the memo's own list (NONE when nothing), not a copy: one per VirtualService per build at scale.
 */
export function gatewayReferencesFor(r: Located, set: GatewaySet, memo: CrossMemo): readonly Diagnostic[] {
  if (!isRecord(r.object['spec'])) return NONE;
  const known = validEntry(memo, r, set.key);
  if (known !== undefined) return known;
  const found: Diagnostic[] = [];
  gatewayReferencesOf(r, set.gateways, found);
  return remember(memo, r, set.key, found);
}

/** The subset-reference rule's findings for one VirtualService, as gatewayReferencesFor. */
export function subsetReferencesFor(r: Located, index: SubsetIndex, memo: CrossMemo): readonly Diagnostic[] {
  if (!isRecord(r.object['spec'])) return NONE;
  const known = validEntry(memo, r, index.key);
  if (known !== undefined) return known;
  const found: Diagnostic[] = [];
  subsetReferencesOf(r, index.subsetsFor, found);
  return remember(memo, r, index.key, found);
}

/** What the subset-reference rule reads of other resources: the subsets per host, and those as a memo key. */
export interface SubsetIndex {
  readonly subsetsFor: (host: string) => Set<string> | undefined;
  readonly key: string;
}

export function subsetIndex(resources: readonly Located[], memo?: CrossMemo): SubsetIndex {
  // host → subset names, merged over every DestinationRule for that host.
  const subsetsByHost = new Map<string, Set<string>>();
  const wildcardHosts: string[] = [];
  for (let i = 0; i < resources.length; i++) {
    const r = resources[i] as Located;
    if (r.object.kind !== 'DestinationRule' || !isRecord(r.object['spec'])) continue;
    const spec = r.object['spec'];
    if (typeof spec['host'] !== 'string') continue;
    const host = resolveHost(spec['host'], r.object.metadata.namespace);
    let names = subsetsByHost.get(host);
    if (!names) {
      names = new Set();
      subsetsByHost.set(host, names);
      if (host.startsWith('*')) wildcardHosts.push(host);
    }
    for (const s of array(spec['subsets'])) if (isRecord(s) && typeof s['name'] === 'string') names.add(s['name']);
  }
  // Most specific wildcard first, as Istio picks the DestinationRule for a host.
  wildcardHosts.sort((a, b) => b.length - a.length);

  const subsetsFor = (host: string): Set<string> | undefined => {
    const exact = subsetsByHost.get(host);
    if (exact) return exact;
    for (const w of wildcardHosts) if (w === '*' || host.endsWith(w.slice(1))) return subsetsByHost.get(w);
    return undefined;
  };

  // What every VirtualService's result depends on besides itself: the subsets defined per host.
  let key = '';
  if (memo) for (const [host, names] of subsetsByHost) key += `${host}\0${[...names].join('\0')}\n`;
  return { subsetsFor, key };
}

/** The rule for the VirtualServices among resources[from, to) (all other kinds are skipped). */
export function checkSubsetReferencesIn(resources: readonly Located[], from: number, to: number, index: SubsetIndex, out: Diagnostic[], memo?: CrossMemo): void {
  for (let i = from; i < to; i++) {
    const r = resources[i] as Located;
    if (r.object.kind !== 'VirtualService' || !isRecord(r.object['spec'])) continue;
    reuseOrRun(memo, r, index.key, out, (into) => subsetReferencesOf(r, index.subsetsFor, into));
  }
}

export function checkSubsetReferences(resources: readonly Located[], out: Diagnostic[], memo?: CrossMemo): void {
  checkSubsetReferencesIn(resources, 0, resources.length, subsetIndex(resources, memo), out, memo);
}

function subsetReferencesOf(r: Located, subsetsFor: (host: string) => Set<string> | undefined, out: Diagnostic[]): void {
  const spec = r.object['spec'] as Record<string, unknown>;
  const namespace = r.object.metadata.namespace;
  // Paths are built only for a destination that is reported: most name no subset.
  for (let s = 0; s < SUBSET_SECTIONS.length; s++) {
    const section = SUBSET_SECTIONS[s] as (typeof SUBSET_SECTIONS)[number];
    const routes = array(spec[section]);
    for (let i = 0; i < routes.length; i++) {
      const route = routes[i];
      if (!isRecord(route)) continue;
      const destinations = array(route['route']);
      for (let j = 0; j < destinations.length; j++) {
        const d = destinations[j];
        if (isRecord(d) && subsetMissing(d['destination'], namespace, subsetsFor)) {
          reportMissingSubset(r, out, d['destination'] as Record<string, string>, ['spec', section, i, 'route', j, 'destination', 'subset']);
        }
      }
      if (section !== 'http') continue;
      if (subsetMissing(route['mirror'], namespace, subsetsFor)) {
        reportMissingSubset(r, out, route['mirror'] as Record<string, string>, ['spec', section, i, 'mirror', 'subset']);
      }
      const mirrors = array(route['mirrors']);
      for (let j = 0; j < mirrors.length; j++) {
        const m = mirrors[j];
        if (isRecord(m) && subsetMissing(m['destination'], namespace, subsetsFor)) {
          reportMissingSubset(r, out, m['destination'] as Record<string, string>, ['spec', section, i, 'mirrors', j, 'destination', 'subset']);
        }
      }
    }
  }
}

const SUBSET_SECTIONS = ['http', 'tls', 'tcp'] as const;

function subsetMissing(dest: unknown, namespace: string, subsetsFor: (host: string) => Set<string> | undefined): boolean {
  if (!isRecord(dest) || typeof dest['host'] !== 'string' || typeof dest['subset'] !== 'string') return false;
  return subsetsFor(resolveHost(dest['host'], namespace))?.has(dest['subset']) !== true;
}

function reportMissingSubset(r: Located, out: Diagnostic[], dest: Record<string, string>, path: Path): void {
  const ctx = new ResourceContext(r, out);
  const host = resolveHost(dest['host'] as string, ctx.namespace);
  ctx.warn(
    CfgCode.SUBSET_NOT_FOUND,
    `subset ${JSON.stringify(dest['subset'])} of ${host} is not defined by any DestinationRule; requests routed to it fail`,
    path,
  );
}
