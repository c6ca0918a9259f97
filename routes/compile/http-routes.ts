// A VirtualService's `http:` section → gateway routes, as Istio's BuildHTTPRoutesForVirtualService does for
// one listener port and one Gateway: each match block becomes its own route (so catch-all sorting works
// per block), blocks restricted to other gateways, ports or source labels are dropped, and nothing after
// a catch-all block is kept.
import type { HeaderMatch, HeaderOps, QueryParamMatch, Route, RouteAction, RouteMatch, WeightedCluster } from '../../core/snapshot.js';
import type { HeaderOperations, Headers, HTTPMatchRequest, HTTPRoute, VirtualServiceResource } from '../model/index.js';
import type { Located } from '../model/resource.js';
import type { ClusterBuilder } from './clusters.js';

/** What route building needs of the ClusterBuilder: naming (and recording) a destination's cluster. */
export type ClusterReferences = Pick<ClusterBuilder, 'reference'>;
import { CfgCode, parseDurationMs } from './context.js';
import type { CompileContext } from './context.js';
import { compileStringMatch, isPresenceMatch } from './string-match.js';
import type { RegexCache } from './string-match.js';

export interface RouteScope {
  /** The Gateway server port (listener port). */
  readonly port: number;
  /** `namespace/name` of the Gateway the server belongs to. */
  readonly gateway: string;
  /** True when the server terminates TLS (redirect scheme defaults to https). */
  readonly isTls: boolean;
}

/**
 * Gateway names in a VirtualService (`gateways:`, `match[].gateways`) as Istio's resolveGatewayName reads
 * them: `ns/name`, `./name` and a bare `name` (the VirtualService's namespace), and the legacy dotted
 * forms `name.ns` and `name.ns.svc.cluster.local`.
 */
export function resolveGatewayName(name: string, vsNamespace: string): string {
  if (name === 'mesh') return name;
  const slash = name.indexOf('/');
  if (slash >= 0) return name.slice(0, slash) === '.' ? `${vsNamespace}/${name.slice(slash + 1)}` : name;
  const dot = name.indexOf('.');
  if (dot < 0) return `${vsNamespace}/${name}`;
  const rest = name.slice(dot + 1);
  const nextDot = rest.indexOf('.');
  return `${nextDot < 0 ? rest : rest.slice(0, nextDot)}/${name.slice(0, dot)}`;
}

export function buildHttpRoutes(
  ctx: CompileContext,
  vs: Located<VirtualServiceResource>,
  scope: RouteScope,
  clusters: ClusterReferences,
): Route[] {
  // Collected in one reused list (its first `count` places) and copied out at exact length (below): a list
  // per VirtualService grown by push() has room for 17 routes, garbage as soon as it is copied. Not
  // reentrant, like the build. Places past `count` keep routes of earlier calls (routes live on anyway).
  const out = scratchRoutes;
  let count = 0;
  const meta = vs.object.metadata;
  const vsKey = `${meta.namespace}/${meta.name}`;
  const http = vs.object.spec.http ?? [];
  const bodyTimeoutMs = requestBodyTimeoutMs(ctx, vs);
  for (let i = 0; i < http.length; i++) {
    const h = http[i] as HTTPRoute;
    const field = httpField(i);
    if (h.delegate) {
      ctx.warn(CfgCode.UNSUPPORTED, 'delegate VirtualServices are not supported; route skipped', vs, `${field}.delegate`);
      continue;
    }
    const baseName = h.name ?? `${meta.namespace}.${meta.name}.${i}`;
    // Built on first use, once per HTTPRoute: its match blocks share one action and one set of extras.
    let action: RouteAction | undefined;
    let extra: RouteExtras | undefined;
    let catchAll = false;
    const matches = h.match ?? [];
    if (matches.length === 0) {
      action ??= buildAction(ctx, vs, h, i, field, scope, clusters);
      extra ??= routeExtras(ctx, vs, h, field, bodyTimeoutMs);
      out[count++] = makeRoute(baseName, vsKey, NONE, action, extra);
      catchAll = true;
    } else {
      for (let m = 0; m < matches.length; m++) {
        const block = matches[m] as HTTPMatchRequest;
        if (!blockApplies(ctx, block, scope, meta.namespace)) continue;
        // The shared list when one equal to this block's is made already (no RouteMatch per route).
        const matchList = ctx.shared.knownUriOnly(block) ?? ctx.shared.matchList(translateMatch(block, ctx.regexes));
        const rm = matchList[0] as RouteMatch;
        action ??= buildAction(ctx, vs, h, i, field, scope, clusters);
        extra ??= routeExtras(ctx, vs, h, field, bodyTimeoutMs);
        const name = block.name ? `${baseName}.${block.name}` : baseName;
        out[count++] = makeRoute(name, vsKey, matchList, action, extra);
        if (isCatchAllMatch(rm)) {
          catchAll = true;
          break;
        }
      }
    }
    if (catchAll) break;
  }
  // Kept as long as the VirtualService is (route memo, virtual hosts): exact length, no push() slack.
  return out.slice(0, count);
}

const scratchRoutes: Route[] = [];

// Field paths of routes and their destinations, made once per position rather than per route (50,000 at
// scale): the route memo records one per cluster reference, and a shared string is hashed once.
const FIELD_CACHE_ROUTES = 256;
const FIELD_CACHE_DESTINATIONS = 16;
const httpFields: string[] = [];
const destinationFields: string[][] = [];

function httpField(i: number): string {
  if (i >= FIELD_CACHE_ROUTES) return `spec.http[${i}]`;
  return (httpFields[i] ??= `spec.http[${i}]`);
}

function destinationField(i: number, j: number): string {
  if (i >= FIELD_CACHE_ROUTES || j >= FIELD_CACHE_DESTINATIONS) return `spec.http[${i}].route[${j}].destination`;
  const row = (destinationFields[i] ??= []);
  return (row[j] ??= `spec.http[${i}].route[${j}].destination`);
}

/** Routes share one shape (absent fields undefined), like RouteMatch, for monomorphic reads. */
function makeRoute(name: string, virtualService: string, match: readonly RouteMatch[], action: RouteAction, extra: RouteExtras): Route {
  return {
    name,
    virtualService,
    match,
    action,
    requestHeaders: extra.requestHeaders,
    responseHeaders: extra.responseHeaders,
    timeoutMs: extra.timeoutMs ?? 0,
    requestBodyTimeoutMs: extra.requestBodyTimeoutMs,
  };
}

interface RouteExtras {
  requestHeaders?: HeaderOps;
  responseHeaders?: HeaderOps;
  timeoutMs?: number;
  requestBodyTimeoutMs?: number;
}

/** Istio has no field for a request-body deadline; this annotation gives one to every HTTP route of the VirtualService. */
export const REQUEST_BODY_TIMEOUT_ANNOTATION = 'gatehouse.io/request-body-timeout';
/**
 * Parsed once per VirtualService and build, so a bad value is reported once however many ports it binds
 * to (and again in every build: parsed resources can be reused across builds).
 */
const bodyTimeoutsByBuild = new WeakMap<CompileContext, Map<Located, number | null>>();

function requestBodyTimeoutMs(ctx: CompileContext, vs: Located<VirtualServiceResource>): number | undefined {
  // Most VirtualServices carry no such annotation: nothing to parse or report, nothing to remember.
  if (vs.object.metadata.annotations?.[REQUEST_BODY_TIMEOUT_ANNOTATION] === undefined) return undefined;
  let bodyTimeouts = bodyTimeoutsByBuild.get(ctx);
  if (!bodyTimeouts) bodyTimeoutsByBuild.set(ctx, (bodyTimeouts = new Map()));
  const known = bodyTimeouts.get(vs);
  if (known !== undefined) return known ?? undefined;
  const raw = vs.object.metadata.annotations?.[REQUEST_BODY_TIMEOUT_ANNOTATION];
  let ms: number | undefined;
  if (raw !== undefined) {
    ms = parseDurationMs(raw);
    if (ms === undefined || ms <= 0) {
      ctx.warn(CfgCode.VALUE, `${REQUEST_BODY_TIMEOUT_ANNOTATION} ${JSON.stringify(raw)} is not a positive duration (e.g. "30s"); no request-body deadline applied`, vs, `metadata.annotations["${REQUEST_BODY_TIMEOUT_ANNOTATION}"]`);
      ms = undefined;
    }
  }
  bodyTimeouts.set(vs, ms ?? null);
  return ms;
}

/** Istio's translateRoute guards: `port` must be this listener's, `gateways` must name this Gateway,
 * otherwise `sourceLabels`/`sourceNamespace` must describe the gateway workload itself. */
function blockApplies(ctx: CompileContext, block: HTTPMatchRequest, scope: RouteScope, vsNamespace: string): boolean {
  if (block.port && block.port !== scope.port) return false;
  // Loops, not closures: a closure over `scope` or `labels` would allocate a context on every call (once
  // per match block, 40,000 at scale) whether or not the block has gateways or source labels.
  const gateways = block.gateways;
  if (gateways && gateways.length > 0) {
    for (let i = 0; i < gateways.length; i++) if (resolveGatewayName(gateways[i] as string, vsNamespace) === scope.gateway) return true;
    return false;
  }
  if (block.sourceLabels && !sourceLabelsMatch(block.sourceLabels, ctx.options.identity.labels)) return false;
  return !block.sourceNamespace || block.sourceNamespace === ctx.options.identity.namespace;
}

function sourceLabelsMatch(sourceLabels: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(sourceLabels)) if (labels[k] !== v) return false;
  return true;
}

/** Shared by every match without headers or query parameters: fewer allocations at 50,000 routes. */
const NONE: readonly never[] = Object.freeze([]);

/**
 * Every RouteMatch has the same keys in the same order (absent ones undefined), so the hot path's
 * property reads stay monomorphic; JSON dumps drop the undefined ones.
 */
export function translateMatch(block: HTTPMatchRequest, regexes?: RegexCache): RouteMatch {
  const ignoreUriCase = block.ignoreUriCase === true;
  let headers: HeaderMatch[] | undefined;
  if (block.headers) {
    for (const rawName in block.headers) {
      const spec = block.headers[rawName];
      const name = rawName.toLowerCase();
      const match = isPresenceMatch(spec) ? undefined : compileStringMatch(spec, false, regexes);
      (headers ??= []).push(match ? { name, match } : { name });
    }
  }
  if (block.withoutHeaders) {
    for (const rawName in block.withoutHeaders) {
      const spec = block.withoutHeaders[rawName];
      const name = rawName.toLowerCase();
      // `absent` with a `match` means "absent, or present with a value that does not match" (Envoy's
      // invert_match with treat_missing_header_as_empty).
      const match = isPresenceMatch(spec) ? undefined : compileStringMatch(spec, false, regexes);
      (headers ??= []).push(match ? { name, match, absent: true } : { name, absent: true });
    }
  }
  if (headers && headers.length > 1) headers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let queryParams: QueryParamMatch[] | undefined;
  if (block.queryParams) {
    for (const name in block.queryParams) {
      const spec = block.queryParams[name];
      const emptyExact = typeof spec?.exact === 'string' && spec.exact === '';
      const match = emptyExact || isPresenceMatch(spec) ? undefined : compileStringMatch(spec, false, regexes);
      (queryParams ??= []).push(match ? { name, match } : { name });
    }
  }
  if (queryParams && queryParams.length > 1) queryParams.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    uri: compileStringMatch(block.uri, ignoreUriCase, regexes, false),
    ignoreUriCase,
    scheme: compileStringMatch(block.scheme, false, regexes),
    method: compileStringMatch(block.method, false, regexes),
    authority: compileStringMatch(block.authority, true, regexes),
    headers: headers ?? NONE,
    queryParams: queryParams ?? NONE,
    port: undefined,
  };
}

/** Istio's IsCatchAllRoute on the Envoy route: path prefix `/` (or none) and nothing else to match. */
export function isCatchAllMatch(m: RouteMatch): boolean {
  if (m.uri && !(m.uri.kind === 'prefix' && m.uri.value === '/')) return false;
  return m.headers.length === 0 && m.queryParams.length === 0 && !m.scheme && !m.method && !m.authority && m.port === undefined;
}

export function isCatchAllRoute(r: Route): boolean {
  if (r.match.length === 0) return true;
  return r.match.length === 1 && isCatchAllMatch(r.match[0] as RouteMatch);
}

/** What most HTTPRoutes have: no extras (one shared object, not an empty one per route). */
const NO_EXTRAS: RouteExtras = Object.freeze({});

function routeExtras(ctx: CompileContext, vs: Located, h: HTTPRoute, field: string, bodyTimeoutMs: number | undefined): RouteExtras {
  if (bodyTimeoutMs === undefined && h.headers === undefined && h.timeout === undefined) return NO_EXTRAS;
  const extras: RouteExtras = {};
  if (bodyTimeoutMs !== undefined) extras.requestBodyTimeoutMs = bodyTimeoutMs;
  const req = headerOps(h.headers?.request);
  const res = headerOps(h.headers?.response);
  if (req) extras.requestHeaders = req;
  if (res) extras.responseHeaders = res;
  if (h.timeout !== undefined) {
    const ms = parseDurationMs(h.timeout);
    if (ms === undefined) ctx.warn(CfgCode.VALUE, `timeout ${JSON.stringify(h.timeout)} is not a duration; no timeout applied`, vs, `${field}.timeout`);
    else extras.timeoutMs = ms;
  }
  return extras;
}

/** Names lower-cased; pseudo-headers and Host are not settable (Istio drops them; Host becomes a rewrite). */
function headerOps(ops: HeaderOperations | undefined): HeaderOps | undefined {
  if (!ops) return undefined;
  const set: Record<string, string> = {};
  const add: Record<string, string> = {};
  const remove: string[] = [];
  for (const [k, v] of Object.entries(ops.set ?? {})) if (!isInternalHeader(k)) set[k.toLowerCase()] = String(v);
  for (const [k, v] of Object.entries(ops.add ?? {})) if (!isInternalHeader(k)) add[k.toLowerCase()] = String(v);
  for (const k of ops.remove ?? []) if (!isInternalHeader(k)) remove.push(k.toLowerCase());
  if (Object.keys(set).length === 0 && Object.keys(add).length === 0 && remove.length === 0) return undefined;
  return { set, add, remove };
}

function isInternalHeader(name: string): boolean {
  return name.startsWith(':') || name.toLowerCase() === 'host';
}

/** Istio: a `host`/`:authority` value in request set (preferred) or add becomes the upstream authority. */
function authorityFromHeaders(headers: Headers | undefined): string | undefined {
  // Most routes set no request headers: nothing to look at (this runs once per route).
  if (headers?.request?.set === undefined && headers?.request?.add === undefined) return undefined;
  const pick = (m: Record<string, string> | undefined): string | undefined => {
    let found: string | undefined;
    for (const [k, v] of Object.entries(m ?? {})) if (k.toLowerCase() === 'host' || k.toLowerCase() === ':authority') found = String(v);
    return found;
  };
  return pick(headers?.request?.set) ?? pick(headers?.request?.add);
}

function buildAction(
  ctx: CompileContext,
  vs: Located<VirtualServiceResource>,
  h: HTTPRoute,
  httpIndex: number,
  field: string,
  scope: RouteScope,
  clusters: ClusterReferences,
): RouteAction {
  if (h.redirect) {
    const r = h.redirect;
    // Istio resolves FROM_REQUEST_PORT to the listener (server) port: routes are built per port.
    let port: number | 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT' | undefined =
      r.port ?? (r.derivePort === 'FROM_REQUEST_PORT' ? scope.port : r.derivePort);
    const scheme = r.scheme ?? (scope.isTls ? 'https' : 'http');
    // Istio leaves out a port that is the scheme's default.
    if ((port === 80 && scheme === 'http') || (port === 443 && scheme === 'https')) port = undefined;
    return {
      type: 'redirect',
      ...(r.uri !== undefined ? { uri: r.uri } : {}),
      ...(r.authority !== undefined ? { authority: r.authority } : {}),
      ...(r.scheme !== undefined ? { scheme: r.scheme } : {}),
      ...(port !== undefined ? { port } : {}),
      code: r.redirectCode ?? 301,
    };
  }
  if (h.directResponse) {
    const d = h.directResponse;
    let body: string | undefined;
    if (typeof d.body?.string === 'string') body = d.body.string;
    else if (typeof d.body?.bytes === 'string') body = Buffer.from(d.body.bytes, 'base64').toString('utf8');
    return { type: 'direct', status: d.status, ...(body !== undefined ? { body } : {}) };
  }
  const ns = vs.object.metadata.namespace;
  const dests = h.route ?? [];
  const destinations: WeightedCluster[] = [];
  if (dests.length === 1) {
    // A single destination takes all traffic whatever its weight says (Istio ignores it).
    const d = dests[0];
    if (d) {
      const cluster = clusters.reference(d.destination, ns, scope.port, vs, destinationField(httpIndex, 0));
      // The common case, one object per cluster for all its routes.
      if (!d.headers && !h.rewrite && !authorityFromHeaders(h.headers)) return ctx.shared.singleClusterAction(cluster);
      destinations.push(weighted(cluster, 100, d.headers));
    }
  } else {
    for (let i = 0; i < dests.length; i++) {
      const d = dests[i];
      if (!d || !d.weight) continue;
      destinations.push(weighted(clusters.reference(d.destination, ns, scope.port, vs, destinationField(httpIndex, i)), d.weight, d.headers));
    }
    if (destinations.length === 0 && dests.length > 0) {
      ctx.warn(CfgCode.VALUE, 'every destination has weight 0; traffic is split evenly', vs, `${field}.route`);
      for (let i = 0; i < dests.length; i++) {
        const d = dests[i];
        if (d) destinations.push(weighted(clusters.reference(d.destination, ns, scope.port, vs, destinationField(httpIndex, i)), 1, d.headers));
      }
    }
  }
  let totalWeight = 0;
  for (const d of destinations) totalWeight += d.weight;
  const rewrite: { uri?: string; authority?: string } = {};
  if (h.rewrite?.uri !== undefined && h.rewrite.uri !== '') rewrite.uri = h.rewrite.uri;
  if (h.rewrite?.uriRegexRewrite) ctx.warn(CfgCode.UNSUPPORTED, 'uriRegexRewrite is not supported yet; path left unchanged', vs, `${field}.rewrite.uriRegexRewrite`);
  const authority = h.rewrite?.authority || authorityFromHeaders(h.headers);
  if (authority) rewrite.authority = authority;
  return {
    type: 'forward',
    destinations: destinations.slice(),
    totalWeight,
    rewrite: rewrite.uri !== undefined || rewrite.authority !== undefined ? rewrite : undefined,
  };
}

function weighted(cluster: string, weight: number, headers: Headers | undefined): WeightedCluster {
  return {
    cluster,
    weight,
    requestHeaders: headers ? headerOps(headers.request) : undefined,
    responseHeaders: headers ? headerOps(headers.response) : undefined,
  };
}
