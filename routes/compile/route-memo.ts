// Incremental compile: a VirtualService's HTTP routes for one (Gateway, port, TLS) scope, reused from the
// previous compile when the VirtualService object is the same one (sources keep unchanged resources'
// identity) and nothing else those routes read has changed.
//
// What buildHttpRoutes reads besides the VirtualService and its scope: the compile options (identity
// labels and namespace, domain suffix) and, through ClusterBuilder.reference, the service registry
// (ServiceEntries and Services, in age/read order: a service's single port picks the cluster name). Those
// make the memo's key (`envKey`); any change there drops the whole memo and routes are built afresh.
// DestinationRules, Gateways, Secrets and endpoints are read only after routes exist (clusters, servers,
// secure contexts), so editing them keeps every route.
//
// A reused entry replays what building it did: the cluster references, in the same order (so the set of
// clusters and the referrer of each are what a full compile would record), and the diagnostics it
// reported. The Route objects themselves are the previous snapshot's, already frozen: deep-freeze skips them.
//
// On top of that, when the Gateways are the very same objects (so the ports, servers and route tables
// are the same) a compile is a delta (route-delta.ts): only VirtualServices added, removed or replaced
// since the previous compile are visited; the memo then carries the route tables' per-host contributions,
// the cluster references' first referrers and the unused VirtualServices from one compile to the next.
import type { Diagnostic } from '../../core/diagnostics.js';
import type { Route, RouteTable, VirtualHost } from '../../core/snapshot.js';
import type { VirtualServiceResource } from '../model/index.js';
import type { Located } from '../model/resource.js';
import type { DestinationRef } from './clusters.js';
import type { CompileContext } from './context.js';
import { buildHttpRoutes } from './http-routes.js';
import type { ClusterReferences, RouteScope } from './http-routes.js';
import type { DeltaRecorder, DeltaState } from './route-delta.js';

export interface RecordedReference {
  /** The cluster it named (in the memo's environment, the same destination names the same cluster). */
  readonly name: string;
  readonly dest: DestinationRef;
  readonly namespace: string;
  readonly listenerPort: number;
  readonly field: string;
}

export interface Entry {
  /** The VirtualService object these routes were built from. */
  readonly vs: object;
  /** Which (Gateway, port, TLS) these routes were built for; a VirtualService has one per scope. */
  readonly scope: string;
  readonly routes: Route[];
  readonly references: readonly RecordedReference[];
  readonly diagnostics: readonly Diagnostic[];
  /** The same VirtualService's entry for another scope (rare: bound to several Gateways or ports). */
  readonly next: Entry | undefined;
}

/** Most entries report nothing: one shared empty list instead of one per VirtualService. */
const NONE: readonly Diagnostic[] = Object.freeze([]);

function find(entry: Entry | undefined, scope: string): Entry | undefined {
  for (let e = entry; e; e = e.next) if (e.scope === scope) return e;
  return undefined;
}

/** Counters of one compile (tests and benchmarks). */
export interface RouteMemoStats {
  built: number;
  reused: number;
  virtualHostsReused: number;
  /** True when the compile visited only the changed VirtualServices (route-delta.ts). */
  delta: boolean;
  /** VirtualServices a delta compile visited (added or replaced). */
  changed: number;
}

export class RouteMemo {
  /** Entries of this compile only, so VirtualServices that went away are not kept alive. */
  #entries = new Map<object, Entry>();
  #previous: RouteMemo | undefined;
  /** Route tables of this compile, by name; the next one reuses their unchanged virtual hosts. */
  readonly #tables = new Map<string, RouteTable>();
  #previousTables: ReadonlyMap<string, RouteTable> | undefined;
  readonly stats: RouteMemoStats = { built: 0, reused: 0, virtualHostsReused: 0, delta: false, changed: 0 };
  /**
   * Clusters referenced in this compile (through the memo). ClusterBuilder.reference keeps the first
   * referrer of a cluster and changes nothing when the cluster is named again, so a replayed reference to
   * a cluster already named is skipped: 50,000 routes name ~1,000 clusters. Keyed by the cluster name, as
   * the builder is: no key string is built per reference.
   */
  readonly #referenced = new Set<string>();
  /**
   * Recorded references' field paths, one string per distinct value: 50,000 references come from a
   * handful of field paths (http-routes.ts makes most of them once per position already; this catches the
   * rest). Shared along the chain of memos of one environment; a new environment starts afresh, and so
   * does a table grown well past what the entries use.
   */
  #strings: Map<string, string>;
  #recorder: ReferenceRecorder | undefined;
  /** What the next compile needs to be a delta of this one; undefined when it cannot be (route-delta.ts). */
  state: DeltaState | undefined;
  /** Collects this compile's DeltaState; carries the delta plan when this compile is one. */
  recorder: DeltaRecorder | undefined;

  constructor(
    readonly envKey: string,
    previous: RouteMemo | undefined,
  ) {
    this.#previous = previous?.envKey === envKey ? previous : undefined;
    const before = this.#previous;
    this.#strings = before && before.#strings.size < 4 * before.#entries.size + 1024 ? before.#strings : new Map();
    // Virtual hosts are compared route by route (by identity), so they are safe to reuse whatever changed.
    this.#previousTables = previous ? previous.#tables : undefined;
  }

  /** The previous compile's memo when its routes are valid for this one (same environment). */
  get previous(): RouteMemo | undefined {
    return this.#previous;
  }

  /** The entries of VirtualService object `vs` in this compile (one per scope, chained). */
  entriesOf(vs: object): Entry | undefined {
    return this.#entries.get(vs);
  }

  /**
   * A delta compile takes over the previous compile's entries (with its DeltaState, see route-delta.ts)
   * minus those of the VirtualServices that went away or were replaced. What stays there is still right
   * for the previous memo's own lookups: entries by object identity, built in the same environment.
   */
  inheritEntries(previous: RouteMemo, gone: ReadonlySet<object>): void {
    const entries = previous.#entries;
    for (const vs of gone) entries.delete(vs);
    this.#entries = entries;
  }

  /**
   * The previous compile's virtual host `name` of table `table` when it is exactly what would be built now
   * (same single domain, same requireTls, the very same Route objects in the same order); it is frozen
   * already, so deep-freeze does not walk it again.
   */
  reusableVirtualHost(table: string, name: string, host: string, requireTls: boolean, routes: readonly Route[]): VirtualHost | undefined {
    const previous = this.#previousTables?.get(table);
    if (!previous || host.startsWith('*')) return undefined;
    const index = previous.exactHosts[host];
    const vh = index === undefined ? undefined : previous.virtualHosts[index];
    return vh && this.sameVirtualHost(vh, name, host, requireTls, routes) ? vh : undefined;
  }

  /** `vh` when it is what would be built from these parts (counted as reused), else undefined. */
  sameVirtualHost(vh: VirtualHost, name: string, host: string, requireTls: boolean, routes: readonly Route[]): boolean {
    if (vh.name !== name || vh.requireTls !== requireTls || vh.domains.length !== 1 || vh.domains[0] !== host) return false;
    if (vh.routes.length !== routes.length) return false;
    for (let i = 0; i < routes.length; i++) if (vh.routes[i] !== routes[i]) return false;
    this.stats.virtualHostsReused++;
    return true;
  }

  recordTable(table: RouteTable): void {
    this.#tables.set(table.name, table);
  }

  /** `scopeKey` names `scope` (built once per server by the caller, not once per VirtualService). */
  httpRoutes(ctx: CompileContext, vs: Located<VirtualServiceResource>, scope: RouteScope, scopeKey: string, clusters: ClusterReferences): Route[] {
    return this.routeEntry(ctx, vs, scope, scopeKey, clusters).entry.routes;
  }

  /**
   * The entry of `vs` for the scope, and whether this call made it (built or replayed it, as opposed to
   * returning the one an earlier route table of this compile made).
   */
  routeEntry(ctx: CompileContext, vs: Located<VirtualServiceResource>, scope: RouteScope, scopeKey: string, clusters: ClusterReferences): { entry: Entry; made: boolean } {
    const current = this.#entries.get(vs.object);
    // Already built or replayed in this compile (another route table for the same scope).
    const done = find(current, scopeKey);
    if (done) return { entry: done, made: false };
    const previous = this.#previous;
    const reusable = previous ? find(previous.#entries.get(vs.object), scopeKey) : undefined;
    if (reusable) {
      for (const r of reusable.references) {
        if (this.#referenced.has(r.name)) continue;
        this.#referenced.add(r.name);
        clusters.reference(r.dest, r.namespace, r.listenerPort, vs, r.field);
      }
      for (const d of reusable.diagnostics) ctx.diagnostics.push(d);
      const entry = reusable.next === current ? reusable : { ...reusable, next: current };
      this.#entries.set(vs.object, entry);
      this.stats.reused++;
      return { entry, made: true };
    }
    // One recorder per memo, pointed at one reused list (route building is synchronous, not reentrant);
    // the entry keeps an exact-length copy (the memo lives as long as its snapshot, a pushed-to list has
    // room for 17).
    const recorder = (this.#recorder ??= new ReferenceRecorder(this.#referenced, this.#strings));
    recorder.clusters = clusters;
    recorder.references = scratchReferences;
    recorder.count = 0;
    const before = ctx.diagnostics.length;
    const routes = buildHttpRoutes(ctx, vs, scope, recorder);
    const references = recorder.count === 0 ? NO_REFERENCES : scratchReferences.slice(0, recorder.count);
    // Nothing of this compile stays reachable through the memo (it lives as long as its snapshot).
    recorder.references = NO_REFERENCES;
    recorder.clusters = undefined;
    const diagnostics = ctx.diagnostics.length === before ? NONE : ctx.diagnostics.slice(before);
    const entry: Entry = { vs: vs.object, scope: scopeKey, routes, references, diagnostics, next: current };
    this.#entries.set(vs.object, entry);
    this.stats.built++;
    return { entry, made: true };
  }

  /** Called when the compile is done: the previous memo is not needed any more (no chain of memos). */
  seal(): void {
    this.#recorder = undefined;
    this.#previous = undefined;
    this.#previousTables = undefined;
  }
}

/** Stands in for the ClusterBuilder while one entry's routes are built: records what they reference. */
class ReferenceRecorder {
  clusters: ClusterReferences | undefined;
  /** Recorded into its first `count` places (places past it keep earlier entries' references). */
  references: RecordedReference[] = NO_REFERENCES;
  count = 0;

  constructor(
    private readonly referenced: Set<string>,
    private readonly strings: Map<string, string>,
  ) {}

  reference(dest: DestinationRef, namespace: string, listenerPort: number, referrer: Located, field: string): string {
    const name = (this.clusters as ClusterReferences).reference(dest, namespace, listenerPort, referrer, field);
    this.referenced.add(name);
    this.references[this.count++] = { name, dest, namespace, listenerPort, field: this.intern(field) };
    return name;
  }

  private intern(text: string): string {
    const known = this.strings.get(text);
    if (known !== undefined) return known;
    this.strings.set(text, text);
    return text;
  }
}

/** Between entries: a reference recorded outside any entry is a bug, and throws (the list is frozen). */
const NO_REFERENCES = Object.freeze([]) as unknown as RecordedReference[];
/** The list an entry's references are recorded into before they are copied to the entry (not cleared: see count). */
const scratchReferences: RecordedReference[] = [];
