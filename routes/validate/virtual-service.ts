// networking.istio.io VirtualService (istio/api networking/v1alpha3/virtual_service.proto), plus Istio's
// rules on route actions: exactly one of route / redirect / directResponse / delegate, sane weights,
// 3xx redirects, and delegate VirtualServices (no hosts) not bound to gateways.
import { CfgCode } from '../../core/codes.js';
import type { Located } from '../model/resource.js';
import {
  checkBase64,
  checkRegex,
  checkServiceHost,
  destination,
  duration,
  headers,
  istioObject,
  portNumber,
  stringList,
  stringMap,
  stringMatch,
} from './common.js';
import type { Check, Path, ResourceContext } from './schema.js';
import { any, bool, int, isRecord, list, map, num, obj, required, str, unsupported, walk } from './schema.js';

const NOT_ACTED_ON = 'parsed, not acted on yet; ignored';

const matchRequest = obj('HTTPMatchRequest', {
  name: str(),
  uri: stringMatch,
  scheme: stringMatch,
  method: stringMatch,
  authority: stringMatch,
  headers: map(stringMatch),
  port: portNumber,
  sourceLabels: stringMap,
  gateways: stringList,
  queryParams: map(stringMatch),
  ignoreUriCase: bool(),
  withoutHeaders: map(stringMatch),
  sourceNamespace: str(),
  statPrefix: str(),
});

const INT32_MAX = 2147483647;

/** Istio: weights are relative and need not sum to 100, but several destinations cannot all weigh 0. */
const checkWeights: Check<unknown[]> = (routes, ctx, path) => {
  if (routes.length < 2) return;
  let total = 0;
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i];
    const w = isRecord(r) ? r['weight'] : undefined;
    if (typeof w === 'number') total += w;
  }
  if (total === 0) {
    ctx.error(CfgCode.VALUE, `the ${routes.length} destinations have a total weight of 0; at least one needs a positive weight`, path);
  }
};

const weight = int({ min: 0, max: INT32_MAX });

const routeDestination = obj('HTTPRouteDestination', {
  destination: required(destination),
  weight,
  headers,
});

const checkRedirect: Check<Record<string, unknown>> = (redirect, ctx, path) => {
  const set = ['uri', 'authority', 'port', 'derivePort', 'scheme'].some((k) => redirect[k] !== undefined && redirect[k] !== null);
  if (!set) ctx.error(CfgCode.REQUIRED, 'redirect must set at least one of uri, authority, scheme, port or derivePort', path);
};

const redirect = obj(
  'HTTPRedirect',
  {
    uri: str(),
    authority: str(),
    port: portNumber,
    derivePort: str({ enum: ['FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT'] }),
    scheme: str(),
    redirectCode: int({ min: 300, max: 399, range: 'a 3xx status (300-399)' }),
  },
  { oneOf: [['port', 'derivePort']], check: checkRedirect },
);

const directResponse = obj('HTTPDirectResponse', {
  status: required(int({ min: 200, max: 599 })),
  body: obj('HTTPBody', { string: str(), bytes: str({ check: checkBase64 }) }, { oneOf: [['string', 'bytes']] }),
});

const rewrite = obj(
  'HTTPRewrite',
  {
    uri: str(),
    authority: str(),
    uriRegexRewrite: obj('RegexRewrite', { match: required(str({ check: checkRegex })), rewrite: required(str()) }),
  },
  { oneOf: [['uri', 'uriRegexRewrite']] },
);

const retries = obj(
  'HTTPRetry',
  {
    attempts: int({ min: 0 }),
    perTryTimeout: duration,
    retryOn: str(),
    retryRemoteLocalities: bool(),
    retryIgnorePreviousHosts: bool(),
    backoff: duration,
  },
  { open: true },
);

const percent = obj('Percent', { value: num({ min: 0, max: 100 }) });

const ROUTE_ACTIONS = ['route', 'redirect', 'directResponse', 'delegate'];

const checkHttpRoute: Check<Record<string, unknown>> = (route, ctx, path) => {
  // Counted first, by named reads (50,000 routes at scale: no lookup by a key from a list per action);
  // the names are collected only for a route that is reported.
  const count = given(route['route']) + given(route['redirect']) + given(route['directResponse']) + given(route['delegate']);
  if (count === 0) {
    ctx.error(CfgCode.REQUIRED, 'an http route needs one of route, redirect, directResponse or delegate', path);
  } else if (count > 1) {
    reportTwoActions(route, ctx, path);
  }
  if (given(route['rewrite']) === 1 && given(route['redirect']) === 1) {
    ctx.error(CfgCode.VALUE, 'an http route cannot have both rewrite and redirect', [...path, 'rewrite']);
  }
};

/** Kept out of checkHttpRoute: its closure over `route` would cost a context on every call. */
function reportTwoActions(route: Record<string, unknown>, ctx: ResourceContext, path: Path): void {
  const actions = ROUTE_ACTIONS.filter((k) => isSet(route, k));
  ctx.error(CfgCode.VALUE, `an http route cannot have both ${actions[0]} and ${actions[1]}`, [...path, actions[1] as string]);
}

function isSet(o: Record<string, unknown>, k: string): boolean {
  return o[k] !== undefined && o[k] !== null;
}

/** 1 for a value that is set (neither undefined nor null), else 0. */
function given(v: unknown): number {
  return v !== undefined && v !== null ? 1 : 0;
}

const httpRoute = obj(
  'HTTPRoute',
  {
    name: str(),
    match: list(matchRequest),
    route: list(routeDestination, { check: checkWeights }),
    redirect,
    directResponse,
    delegate: unsupported(obj('Delegate', { name: required(str()), namespace: str() }), 'delegation is parsed, not acted on yet'),
    rewrite,
    timeout: duration,
    retries: unsupported(retries, NOT_ACTED_ON),
    fault: unsupported(any(), 'fault injection is parsed, not acted on yet; ignored'),
    mirror: unsupported(destination, 'mirroring is parsed, not acted on yet; ignored'),
    mirrorPercent: unsupported(int({ min: 0, max: 100 }), NOT_ACTED_ON),
    mirrorPercentage: unsupported(percent, NOT_ACTED_ON),
    mirrors: unsupported(
      list(obj('HTTPMirrorPolicy', { destination: required(destination), percentage: percent })),
      'mirroring is parsed, not acted on yet; ignored',
    ),
    corsPolicy: unsupported(any(), 'CORS is parsed, not acted on yet; ignored'),
    headers,
  },
  { check: checkHttpRoute },
);

const tlsMatch = obj('TLSMatchAttributes', {
  sniHosts: required(list(str({ check: checkServiceHost }))),
  destinationSubnets: stringList,
  port: portNumber,
  sourceLabels: stringMap,
  gateways: stringList,
  sourceNamespace: str(),
});

const tlsRoute = obj('TLSRoute', {
  match: required(list(tlsMatch)),
  route: list(obj('RouteDestination', { destination: required(destination), weight }), { check: checkWeights }),
});

const checkSpec: Check<Record<string, unknown>> = (spec, ctx, path) => {
  const hosts = spec['hosts'];
  if (Array.isArray(hosts) && hosts.length > 0) return;
  // Istio reads a VirtualService without hosts as a delegate, which only a parent's `delegate` can use.
  const gateways = spec['gateways'];
  if (Array.isArray(gateways) && gateways.length > 0) {
    ctx.error(CfgCode.REQUIRED, 'a VirtualService bound to gateways needs at least one host', [...path, 'hosts']);
  } else {
    ctx.warn(CfgCode.UNSUPPORTED, 'a VirtualService without hosts is a delegate; delegation is parsed, not acted on yet', [
      ...path,
      'hosts',
    ]);
  }
};

export const virtualServiceSchema = istioObject(
  'VirtualService',
  obj(
    'VirtualServiceSpec',
    {
      hosts: list(str({ check: checkServiceHost })),
      gateways: stringList,
      http: list(httpRoute),
      tls: list(tlsRoute),
      tcp: unsupported(list(any()), 'TCP routes are parsed, not acted on yet; ignored'),
      exportTo: stringList,
    },
    { check: checkSpec },
  ),
);

export function validateVirtualService(r: Located, ctx: ResourceContext): void {
  walk(virtualServiceSchema, r.object, [], ctx);
}
