// Delta compiles: when the Gateways are the very same objects as in the previous compile (so ports,
// servers and route tables are the same) and no PASSTHROUGH server reads VirtualServices' `tls:` routes,
// only the VirtualServices added, removed or replaced since then are visited. Everything a full compile
// derives from all VirtualServices is kept per compile in a DeltaState and patched:
//
// - per route table, host → contributions (server, VirtualService, routes) in merge order (server order,
//   then VirtualService age order). Only the hosts of gone and changed VirtualServices are recomputed and
//   spliced into the previous sorted virtual-host list; when no host appears or disappears, the lookup
//   maps (exactHosts, wildcard buckets) are the previous table's, shared as they are;
// - the routes' diagnostics per table, in the order a full compile reports them;
// - per cluster, how many route entries name it and the first of them in build order (the referrer its
//   diagnostics point at), so clusters are seeded without walking 50,000 recorded references (only when
//   the VirtualService that first names a cluster goes is every entry looked at, to find the next one);
// - the VirtualServices reported as binding to a served Gateway but routing nothing.
//
// Unchanged VirtualServices keep their relative age order only if their read orders keep theirs: checked
// (in one pass over the VirtualServices), else the compile is a full one. The state is taken over by the
// next compile and changed in place (see DeltaState.consumed). Equality with a full compile is what
// test/control/delta-compile.test.ts and incremental-build.test.ts check, edit after edit.
import type { Diagnostic } from '../../core/diagnostics.js';
import { deepFreeze } from '../../core/freeze.js';
import type { Route, RouteTable, VirtualHost } from '../../core/snapshot.js';
import type { VirtualServiceResource } from '../model/index.js';
import type { Located } from '../model/resource.js';
import type { ClusterBuilder } from './clusters.js';
import { compareByAge } from './context.js';
import type { CompileContext } from './context.js';
import { intersectHosts } from './hosts.js';
import type { ClusterReferences } from './http-routes.js';
import type { Entry, RecordedReference, RouteMemo } from './route-memo.js';
import { indexVirtualHosts, sortCatchAllLast } from './route-table.js';
import { hostsFor } from './servers.js';
import type { GatewayServer, PortServers } from './servers.js';
import { gatewayKeysOf, resolvedHostsOf, visibleToGateway, warnUnused } from './virtual-services.js';

/** One VirtualService's routes on one host of a table, from server `g` (numbered across the compile). */
export interface Contribution {
  readonly g: number;
  readonly vs: object;
  readonly routes: readonly Route[];
}

/** Diagnostics a VirtualService's routes reported while table building visited it at server `g`. */
export interface RouteDiagnostics {
  readonly g: number;
  readonly vs: object;
  readonly list: readonly Diagnostic[];
}

export interface TableState {
  /** Every virtual host's contributions in merge order (empty for a host only a redirect server names). */
  readonly contributions: ReadonlyMap<string, readonly Contribution[]>;
  readonly diagnostics: readonly RouteDiagnostics[];
  /** The virtual hosts' names, sorted: `table.virtualHosts[i]` is host `hosts[i]` (unless none: blackhole). */
  readonly hosts: readonly string[];
  readonly table: RouteTable;
}

export interface FirstReference {
  readonly entry: Entry;
  readonly ref: RecordedReference;
}

export interface DeltaState {
  /** Unique per compile: which VirtualService objects this compile saw is stamped with it (`stamps`). */
  readonly generation: number;
  /** Gateway objects in read order: the same list means the same ports, servers and tables. */
  readonly gateways: readonly object[];
  /** This compile's VirtualService objects in read order. */
  readonly virtualServices: readonly object[];
  readonly tables: ReadonlyMap<string, TableState>;
  /** VirtualServices reported unused (bound to a served Gateway, routing nothing). */
  readonly unused: ReadonlySet<object>;
  /** Cluster name → how many route entries name it. */
  readonly counts: ReadonlyMap<string, number>;
  /** Cluster name → its first reference in build order. */
  readonly first: ReadonlyMap<string, FirstReference>;
  /** Entry → the server (numbered across the compile) where the compile made it. */
  readonly position: ReadonlyMap<Entry, number>;
  /**
   * Set when a later compile took this state over: its maps are then that compile's, changed in place
   * (copying 10,000-entry maps per compile was most of a delta's garbage). A compile from a consumed state
   * (the later one was rejected) is a full one.
   */
  consumed: boolean;
}

/** What the latest compile that saw a VirtualService object knew of it. */
interface Stamp {
  /** The compile (DeltaState.generation) that saw it last. */
  generation: number;
  /** Its read order in that compile. */
  order: number;
  /** Its Located in that compile (age comparisons of unchanged VirtualServices use the current one). */
  located: Located<VirtualServiceResource>;
  /** The compile that found it unchanged since the one before. */
  keptIn: number;
}

/** Per VirtualService object, updated in place by every compile (no per-compile map of 10,000). */
const stamps = new WeakMap<object, Stamp>();
let generations = 0;

function located(o: object): Located<VirtualServiceResource> {
  return (stamps.get(o) as Stamp).located;
}

/** What changed since the previous compile, when this compile can be a delta of it. */
export interface VsDelta {
  readonly previous: DeltaState;
  /** Added or replaced VirtualServices, in age order. */
  readonly changed: readonly Located<VirtualServiceResource>[];
  /** Objects of the previous compile that are not in this one (removed, or replaced by a changed one). */
  readonly gone: ReadonlySet<object>;
}

/**
 * Collects this compile's DeltaState (in a full compile from everything built; in a delta compile by
 * patching the previous one's maps, taken over) and, for a delta compile, carries the plan.
 */
export class DeltaRecorder {
  readonly tables = new Map<string, TableState>();
  readonly unused: Set<object>;
  readonly counts: Map<string, number>;
  readonly first: Map<string, FirstReference>;
  readonly position: Map<Entry, number>;
  /** Changed VirtualServices that routed something in this compile (delta only). */
  readonly usedNow = new Set<object>();
  /** Clusters whose first reference must be found again (delta only). */
  readonly #dirty = new Set<string>();
  #nextServer = 0;

  constructor(
    private readonly generation: number,
    private readonly gateways: readonly object[],
    private readonly virtualServices: readonly object[],
    readonly delta: VsDelta | undefined,
  ) {
    const p = delta?.previous;
    this.unused = (p?.unused as Set<object> | undefined) ?? new Set();
    this.counts = (p?.counts as Map<string, number> | undefined) ?? new Map();
    this.first = (p?.first as Map<string, FirstReference> | undefined) ?? new Map();
    this.position = (p?.position as Map<Entry, number> | undefined) ?? new Map();
    if (delta) for (const o of delta.gone) this.unused.delete(o);
  }

  /** Numbers the servers of the next route table; returns the first one's number. */
  nextServers(count: number): number {
    const g = this.#nextServer;
    this.#nextServer += count;
    return g;
  }

  /** Entry `entry` was made (built or replayed) at server `g`: its references count from there. */
  made(entry: Entry, g: number): void {
    this.position.set(entry, g);
    const refs = entry.references;
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i] as RecordedReference;
      const name = ref.name;
      if (!firstNaming(refs, i)) continue;
      this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
      const current = this.first.get(name);
      if (!current) this.first.set(name, { entry, ref });
      // In a delta, an entry made now may come before the first one (a full compile makes them in order).
      else if (this.delta && !this.#dirty.has(name) && this.#before(entry, current.entry)) this.first.set(name, { entry, ref });
    }
  }

  /** A gone VirtualService's entry: its references no longer count. */
  forget(entry: Entry): void {
    this.position.delete(entry);
    const refs = entry.references;
    for (let i = 0; i < refs.length; i++) {
      const name = (refs[i] as RecordedReference).name;
      if (!firstNaming(refs, i)) continue;
      const count = (this.counts.get(name) ?? 0) - 1;
      if (count <= 0) {
        this.counts.delete(name);
        this.first.delete(name);
        this.#dirty.delete(name);
      } else {
        this.counts.set(name, count);
        if (this.first.get(name)?.entry === entry) this.#dirty.add(name);
      }
    }
  }

  /** Build order of two entries made in this compile or kept from earlier ones: server, then age. */
  #before(a: Entry, b: Entry): boolean {
    const d = (this.position.get(a) as number) - (this.position.get(b) as number);
    return d < 0 || (d === 0 && compareByAge(located(a.vs), located(b.vs)) < 0);
  }

  /**
   * Delta only: the first referrer of clusters whose first referrer went away, found again over every
   * entry (only then: removing or replacing the VirtualService that first names a cluster), then every
   * cluster seeded.
   */
  seedClusters(clusters: ClusterBuilder): void {
    if (this.#dirty.size > 0) {
      const found = new Map<string, FirstReference>();
      for (const entry of this.position.keys()) {
        const refs = entry.references;
        for (let i = 0; i < refs.length; i++) {
          const ref = refs[i] as RecordedReference;
          if (!this.#dirty.has(ref.name)) continue;
          const best = found.get(ref.name);
          if (!best) found.set(ref.name, { entry, ref });
          else if (best.entry !== entry && this.#before(entry, best.entry)) found.set(ref.name, { entry, ref });
        }
      }
      for (const [name, f] of found) this.first.set(name, f);
    }
    for (const { entry, ref } of this.first.values()) clusters.reference(ref.dest, ref.namespace, ref.listenerPort, located(entry.vs), ref.field);
  }

  state(): DeltaState {
    return {
      generation: this.generation,
      gateways: this.gateways,
      virtualServices: this.virtualServices,
      tables: this.tables,
      unused: this.unused,
      counts: this.counts,
      first: this.first,
      position: this.position,
      consumed: false,
    };
  }
}

/**
 * The recorder of this compile: a delta of the previous one when its state is there and not taken over,
 * the Gateways are the same objects, no port is PASSTHROUGH (its `tls:` routes read every VirtualService;
 * not tracked) and unchanged VirtualServices kept their relative read order; undefined (no state kept)
 * with PASSTHROUGH ports.
 */
export function planDelta(ctx: CompileContext, ports: readonly PortServers[], memo: RouteMemo): DeltaRecorder | undefined {
  if (ports.some((p) => p.kind === 'TLS')) return undefined;
  const generation = ++generations;
  const gatewayList = ctx.index.gateways;
  const gateways: object[] = new Array<object>(gatewayList.length);
  for (let i = 0; i < gatewayList.length; i++) gateways[i] = (gatewayList[i] as Located).object;
  const previous = memo.previous?.state;
  const list = ctx.index.virtualServices;
  const virtualServices: object[] = new Array<object>(list.length);
  const changed: Located<VirtualServiceResource>[] = [];
  let possible =
    previous !== undefined &&
    !previous.consumed &&
    previous.gateways.length === gateways.length &&
    previous.gateways.every((g, i) => g === gateways[i]);
  const previousGeneration = previous?.generation ?? -1;
  let lastOrder = -Infinity;
  let kept = 0;
  for (let i = 0; i < list.length; i++) {
    const vs = list[i] as Located<VirtualServiceResource>;
    const object = vs.object;
    virtualServices[i] = object;
    const stamp = stamps.get(object);
    if (!stamp) {
      stamps.set(object, { generation, order: vs.origin.order, located: vs, keptIn: -1 });
      changed.push(vs);
      continue;
    }
    // Seen twice in this compile: the same object listed twice is not worth a delta.
    if (stamp.generation === generation) possible = false;
    else if (stamp.generation === previousGeneration) {
      if (stamp.order <= lastOrder) possible = false;
      lastOrder = stamp.order;
      stamp.keptIn = generation;
      kept++;
    } else changed.push(vs);
    stamp.generation = generation;
    stamp.order = vs.origin.order;
    stamp.located = vs;
  }
  if (!possible || !previous) return new DeltaRecorder(generation, gateways, virtualServices, undefined);
  const gone = new Set<object>();
  if (kept !== previous.virtualServices.length) {
    for (const o of previous.virtualServices) if (stamps.get(o)?.keptIn !== generation) gone.add(o);
  }
  changed.sort(compareByAge);
  previous.consumed = true;
  const recorder = new DeltaRecorder(generation, gateways, virtualServices, { previous, changed, gone });
  const memoBefore = memo.previous as RouteMemo;
  for (const o of gone) for (let e = memoBefore.entriesOf(o); e; e = e.next) recorder.forget(e);
  memo.inheritEntries(memoBefore, gone);
  memo.stats.delta = true;
  memo.stats.changed = changed.length;
  return recorder;
}

/** Whether refs[i] is the first of the entry's references naming its cluster (an entry counts once per cluster). */
function firstNaming(refs: readonly RecordedReference[], i: number): boolean {
  const name = (refs[i] as RecordedReference).name;
  for (let k = 0; k < i; k++) if ((refs[k] as RecordedReference).name === name) return false;
  return true;
}

function binarySearch(sorted: readonly string[], host: string): number {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const h = sorted[mid] as string;
    if (h === host) return mid;
    if (h < host) low = mid + 1;
    else high = mid - 1;
  }
  return -1;
}

/** Per changed VirtualService, what table building reads of it, computed once per compile. */
interface ChangedView {
  readonly vs: Located<VirtualServiceResource>;
  readonly gateways: readonly string[];
  readonly hosts: readonly string[];
}

const views = new WeakMap<VsDelta, ChangedView[]>();

function changedViews(ctx: CompileContext, delta: VsDelta): ChangedView[] {
  let list = views.get(delta);
  if (!list) {
    list = delta.changed
      .filter((vs) => visibleToGateway(ctx, vs.object))
      .map((vs) => ({ vs, gateways: gatewayKeysOf(vs.object), hosts: resolvedHostsOf(ctx, vs.object) }));
    views.set(delta, list);
  }
  return list;
}

/**
 * Route table `name` as buildRouteTable would build it, from the previous compile's table: only hosts a
 * gone or changed VirtualService had or has are recomputed.
 */
export function deltaRouteTable(
  ctx: CompileContext,
  name: string,
  servers: readonly GatewayServer[],
  memo: RouteMemo,
  recorder: DeltaRecorder,
  clusters: ClusterBuilder,
): RouteTable {
  const delta = recorder.delta as VsDelta;
  const previous = delta.previous.tables.get(name);
  // Same Gateways, same tables: a table missing here would be a bug in the delta's preconditions.
  if (!previous) throw new Error(`delta compile: route table ${name} was not in the previous compile`);
  const g0 = recorder.nextServers(servers.length);
  const port = servers[0]?.port ?? 0;
  const redirect = servers.map((s) => s.kind !== 'HTTPS' && s.server.tls?.httpsRedirect === true);
  const redirectHosts = new Set<string>();
  servers.forEach((s, i) => {
    if (redirect[i]) for (const h of s.hosts) redirectHosts.add(h.host);
  });
  const byAge = (a: { g: number; vs: object }, b: { g: number; vs: object }): number =>
    a.g !== b.g
      ? a.g - b.g
      : compareByAge(located(a.vs), located(b.vs));

  // Hosts the gone VirtualServices may have contributed to (a superset is harmless: recomputed the same).
  const affected = new Set<string>();
  for (const o of delta.gone) {
    const vs = o as VirtualServiceResource;
    if (!visibleToGateway(ctx, vs)) continue;
    const keys = gatewayKeysOf(vs);
    const hosts = resolvedHostsOf(ctx, vs);
    for (const s of servers) {
      if (!keys.includes(s.gatewayKey)) continue;
      for (const h of intersectHosts(hostsFor(s, vs.metadata.namespace), hosts)) affected.add(h);
    }
  }

  // The changed VirtualServices, visited as buildRouteTable visits every one: server by server, in age order.
  const names: ClusterReferences = { reference: (dest, namespace, listenerPort) => clusters.nameOf(dest, namespace, listenerPort) };
  const added = new Map<string, Contribution[]>();
  const newDiagnostics: RouteDiagnostics[] = [];
  servers.forEach((server, i) => {
    const g = g0 + i;
    const isTls = server.kind === 'HTTPS';
    const scope = { port: server.port, gateway: server.gatewayKey, isTls };
    const scopeKey = `${server.gatewayKey}|${server.port}|${isTls ? 's' : 'p'}`;
    for (const view of changedViews(ctx, delta)) {
      if (!view.gateways.includes(server.gatewayKey)) continue;
      const vs = view.vs;
      const hosts = intersectHosts(hostsFor(server, vs.object.metadata.namespace), view.hosts);
      if (hosts.length === 0) continue;
      const before = ctx.diagnostics.length;
      const { entry, made } = memo.routeEntry(ctx, vs, scope, scopeKey, names);
      if (made) recorder.made(entry, g);
      if (ctx.diagnostics.length > before) newDiagnostics.push({ g, vs: vs.object, list: ctx.diagnostics.splice(before) });
      if (entry.routes.length === 0) continue;
      recorder.usedNow.add(vs.object);
      for (const h of hosts) {
        affected.add(h);
        const c: Contribution = { g, vs: vs.object, routes: entry.routes };
        const list = added.get(h);
        if (list) list.push(c);
        else added.set(h, [c]);
      }
    }
  });

  // Taken over from the previous compile (its state is consumed): changed in place.
  const contributions = previous.contributions as Map<string, readonly Contribution[]>;
  const replaced = new Map<string, VirtualHost>();
  const appeared: string[] = [];
  const disappeared = new Set<string>();
  for (const host of affected) {
    const before = previous.contributions.get(host);
    const kept = before ? before.filter((c) => !delta.gone.has(c.vs)) : [];
    const merged = mergeSorted(kept, added.get(host) ?? [], byAge);
    const exists = merged.length > 0 || redirectHosts.has(host);
    if (!exists) {
      if (before) {
        contributions.delete(host);
        disappeared.add(host);
      }
      continue;
    }
    contributions.set(host, merged);
    if (!before) appeared.push(host);
    const requireTls = redirectHosts.has(host) || merged.some((c) => redirect[c.g - g0]);
    let routes: readonly Route[];
    if (merged.length === 1) routes = (merged[0] as Contribution).routes;
    else {
      const all: Route[] = [];
      for (const c of merged) for (const r of c.routes) all.push(r);
      routes = all;
    }
    routes = sortCatchAllLast(routes);
    const vhName = `${host}:${port}`;
    const index = before ? binarySearch(previous.hosts, host) : -1;
    const old = index >= 0 ? previous.table.virtualHosts[index] : undefined;
    replaced.set(host, old && memo.sameVirtualHost(old, vhName, host, requireTls, routes) ? old : { name: vhName, domains: [host], requireTls, routes });
  }

  let hosts: readonly string[];
  let table: RouteTable;
  if (appeared.length === 0 && disappeared.size === 0) {
    // Same hosts: same positions, same lookup maps (frozen with the previous snapshot).
    hosts = previous.hosts;
    const virtualHosts = previous.table.virtualHosts.slice();
    for (const [host, vh] of replaced) virtualHosts[binarySearch(hosts, host)] = deepFreeze(vh);
    // Every element is frozen now: so is the list, and the snapshot's deep-freeze stops at it instead of
    // walking 10,000 virtual hosts to find the one that changed.
    Object.freeze(virtualHosts);
    const { exactHosts, wildcardBuckets, catchAll } = previous.table;
    table = { name, virtualHosts, exactHosts, wildcardBuckets, catchAll };
  } else {
    appeared.sort();
    const out: string[] = [];
    const virtualHosts: VirtualHost[] = [];
    let a = 0;
    const take = (host: string, vh: VirtualHost): void => {
      out.push(host);
      virtualHosts.push(vh);
    };
    previous.hosts.forEach((host, k) => {
      while (a < appeared.length && (appeared[a] as string) < host) {
        const h = appeared[a++] as string;
        take(h, replaced.get(h) as VirtualHost);
      }
      if (disappeared.has(host)) return;
      take(host, replaced.get(host) ?? (previous.table.virtualHosts[k] as VirtualHost));
    });
    while (a < appeared.length) {
      const h = appeared[a++] as string;
      take(h, replaced.get(h) as VirtualHost);
    }
    hosts = out;
    if (virtualHosts.length === 0) virtualHosts.push({ name: `blackhole:${port}`, domains: ['*'], requireTls: false, routes: [] });
    table = indexVirtualHosts(name, virtualHosts);
  }

  // The routes' diagnostics, where a full compile reports them: during this table, in visiting order.
  const diagnostics = mergeSorted(
    delta.gone.size === 0 ? previous.diagnostics : previous.diagnostics.filter((d) => !delta.gone.has(d.vs)),
    newDiagnostics,
    byAge,
  );
  for (const d of diagnostics) for (const x of d.list) ctx.diagnostics.push(x);
  recorder.tables.set(name, { contributions, diagnostics, hosts, table });
  memo.recordTable(table);
  return table;
}

/** Both lists sorted by `compare`; equal elements keep `a` before `b`. */
function mergeSorted<T>(a: readonly T[], b: readonly T[], compare: (x: T, y: T) => number): readonly T[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (compare(b[j] as T, a[i] as T) < 0) out.push(b[j++] as T);
    else out.push(a[i++] as T);
  }
  while (i < a.length) out.push(a[i++] as T);
  while (j < b.length) out.push(b[j++] as T);
  return out;
}

/**
 * Delta only: the unused-VirtualService warnings a full compile gives. Unchanged VirtualServices keep
 * their verdict; a changed one is unused if bound to a served Gateway and it routed nothing. Reported in a
 * full compile's order: by the first served Gateway (sorted) it binds to, then age.
 */
export function reportUnusedDelta(ctx: CompileContext, servedGateways: ReadonlySet<string>, recorder: DeltaRecorder): void {
  const delta = recorder.delta as VsDelta;
  for (const view of changedViews(ctx, delta)) {
    if (recorder.usedNow.has(view.vs.object)) continue;
    if (view.gateways.some((g) => servedGateways.has(g))) recorder.unused.add(view.vs.object);
  }
  if (recorder.unused.size === 0) return;
  const list = [...recorder.unused].map((o) => {
    const vs = located(o);
    const gateway = gatewayKeysOf(vs.object)
      .filter((g) => servedGateways.has(g))
      .sort()[0] as string;
    return { vs, gateway };
  });
  list.sort((a, b) => (a.gateway < b.gateway ? -1 : a.gateway > b.gateway ? 1 : compareByAge(a.vs, b.vs)));
  for (const { vs, gateway } of list) warnUnused(ctx, gateway, vs);
}
