import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FilterChain, Listener, Route, RouteMatch, RouteTable, StringMatch, VirtualHost, WeightedCluster } from '../../core/snapshot.js';
import { indexVirtualHosts } from '../../routes/compile/route-table.js';
import { compileRegex } from '../../routes/compile/string-match.js';
import { findVirtualHost, matchRoute, matchString, matchTcpRoute, pickDestination, selectFilterChain } from '../../routes/match.js';
import type { RouteRequest } from '../../routes/match.js';

const exact = (value: string): StringMatch => ({ kind: 'exact', value });
const prefix = (value: string): StringMatch => ({ kind: 'prefix', value });
const regex = (value: string, i = false): StringMatch => ({ kind: 'regex', value, re: compileRegex(value, i) });

function req(over: Partial<RouteRequest> = {}): RouteRequest {
  return { host: 'a.com', path: '/', query: '', method: 'GET', scheme: 'http', port: 80, headers: {}, ...over };
}
function block(over: Partial<RouteMatch> = {}): RouteMatch {
  return { ignoreUriCase: false, headers: [], queryParams: [], ...over };
}
function route(name: string, match: RouteMatch[]): Route {
  return { name, virtualService: 'default/v', match, action: { type: 'direct', status: 200 }, timeoutMs: 0 };
}
function vhost(routes: Route[]): VirtualHost {
  return { name: 'a.com:80', domains: ['a.com'], requireTls: false, routes };
}
const first = (routes: Route[], r: RouteRequest): string | undefined => matchRoute(vhost(routes), r)?.name;

test('StringMatch: exact, prefix, and regex as a full anchored match', () => {
  assert.equal(matchString(exact('/a'), '/a'), true);
  assert.equal(matchString(exact('/a'), '/a/'), false);
  assert.equal(matchString(prefix('/api'), '/api/v1'), true);
  assert.equal(matchString(prefix('/api'), '/ap'), false);
  assert.equal(matchString(regex('/items/[0-9]+'), '/items/42'), true);
  assert.equal(matchString(regex('/items/[0-9]+'), '/items/42/x'), false, 'anchored at the end');
  assert.equal(matchString(regex('/items/[0-9]+'), '/x/items/42'), false, 'anchored at the start');
  assert.equal(matchString(regex('a|b'), 'ab'), false, 'alternation stays inside the anchors');
  assert.equal(matchString(regex('(?i)/Login'), '/LOGIN'), true, "RE2's (?i) is the i flag");
});

test('routes: first match wins, blocks OR, fields AND, empty match list matches everything', () => {
  const routes = [
    route('both', [block({ uri: prefix('/api'), method: exact('POST') })]),
    route('either', [block({ uri: exact('/x') }), block({ uri: exact('/y') })]),
    route('all', []),
  ];
  assert.equal(first(routes, req({ path: '/api/1', method: 'POST' })), 'both');
  assert.equal(first(routes, req({ path: '/api/1', method: 'GET' })), 'all');
  assert.equal(first(routes, req({ path: '/y' })), 'either');
  assert.equal(first(routes.slice(0, 2), req({ path: '/z' })), undefined);
});

test('ignoreUriCase compares exact and prefix without case; regex gets the i flag at compile time', () => {
  const routes = [route('ex', [block({ uri: exact('/login'), ignoreUriCase: true })]), route('pre', [block({ uri: prefix('/api'), ignoreUriCase: true })]), route('re', [block({ uri: regex('/v[0-9]', true), ignoreUriCase: true })])];
  assert.equal(first(routes, req({ path: '/LOGIN' })), 'ex');
  assert.equal(first(routes, req({ path: '/Api/Users' })), 'pre');
  assert.equal(first(routes, req({ path: '/V2' })), 're');
  assert.equal(first(routes, req({ path: '/LOGINX' })), undefined);
  assert.equal(first([route('cs', [block({ uri: exact('/login') })])], req({ path: '/LOGIN' })), undefined, 'case-sensitive by default');
});

test('headers: presence, value, absence, and withoutHeaders with a value', () => {
  const present = [route('r', [block({ headers: [{ name: 'x-a' }] })])];
  assert.equal(first(present, req({ headers: { 'x-a': '' } })), 'r');
  assert.equal(first(present, req()), undefined);
  const value = [route('r', [block({ headers: [{ name: 'x-a', match: prefix('v') }] })])];
  assert.equal(first(value, req({ headers: { 'x-a': 'v1' } })), 'r');
  assert.equal(first(value, req({ headers: { 'x-a': 'w1' } })), undefined);
  assert.equal(first(value, req()), undefined);
  const absent = [route('r', [block({ headers: [{ name: 'x-a', absent: true }] })])];
  assert.equal(first(absent, req()), 'r');
  assert.equal(first(absent, req({ headers: { 'x-a': 'v' } })), undefined);
  const without = [route('r', [block({ headers: [{ name: 'x-a', match: exact('bad'), absent: true }] })])];
  assert.equal(first(without, req()), 'r', 'missing counts as not matching');
  assert.equal(first(without, req({ headers: { 'x-a': 'good' } })), 'r');
  assert.equal(first(without, req({ headers: { 'x-a': 'bad' } })), undefined);
});

test('scheme, method, authority and port', () => {
  const routes = [
    route('https', [block({ scheme: exact('https') })]),
    route('auth', [block({ authority: regex('.*\\.internal') })]),
    route('port', [block({ port: 8080 })]),
  ];
  assert.equal(first(routes, req({ scheme: 'https' })), 'https');
  assert.equal(first(routes, req({ host: 'x.internal' })), 'auth');
  assert.equal(first(routes, req({ port: 8080 })), 'port');
  assert.equal(first(routes, req()), undefined);
});

test('query parameters: exact, regex and presence, first occurrence, only when asked for', () => {
  const routes = [
    route('exact', [block({ queryParams: [{ name: 'v', match: exact('2') }] })]),
    route('regex', [block({ queryParams: [{ name: 'id', match: regex('[0-9]+') }] })]),
    route('present', [block({ queryParams: [{ name: 'debug' }] })]),
  ];
  assert.equal(first(routes, req({ query: 'a=1&v=2' })), 'exact');
  assert.equal(first(routes, req({ query: 'vv=2' })), undefined, 'names match whole');
  assert.equal(first(routes, req({ query: 'v=21' })), undefined);
  assert.equal(first(routes, req({ query: 'id=123' })), 'regex');
  assert.equal(first(routes, req({ query: 'id=12a' })), undefined);
  assert.equal(first(routes, req({ query: 'x=1&debug' })), 'present');
  assert.equal(first(routes, req({ query: 'debug=' })), 'present');
  assert.equal(first(routes, req({ query: '' })), undefined);
});

test('virtual hosts: exact, then the longest wildcard suffix, then *', () => {
  const vh = (name: string, domains: string[]): VirtualHost => ({ name, domains, requireTls: false, routes: [] });
  const table: RouteTable = indexVirtualHosts('t', [vh('exact', ['a.example.com']), vh('short', ['*.com']), vh('long', ['*.example.com']), vh('all', ['*'])]);
  assert.deepEqual(table.wildcardBuckets.map((b) => b.suffixLength), ['.example.com'.length, '.com'.length]);
  assert.equal(findVirtualHost(table, 'a.example.com')?.name, 'exact');
  assert.equal(findVirtualHost(table, 'b.example.com')?.name, 'long');
  assert.equal(findVirtualHost(table, 'x.b.example.com')?.name, 'long');
  assert.equal(findVirtualHost(table, 'example.com')?.name, 'short', '*.example.com needs a label before the suffix');
  assert.equal(findVirtualHost(table, 'other.org')?.name, 'all');
  assert.equal(findVirtualHost(table, 'constructor')?.name, 'all', 'no prototype keys');
  assert.equal(findVirtualHost(table, '__proto__')?.name, 'all');
  assert.equal(findVirtualHost({ ...table, exactHosts: {}, wildcardBuckets: [] }, 'constructor')?.name, 'all', 'even with an ordinary object');
  const noCatchAll = indexVirtualHosts('t', [vh('long', ['*.example.com'])]);
  assert.equal(findVirtualHost(noCatchAll, 'other.org'), undefined);
  assert.equal(findVirtualHost(noCatchAll, '.example.com'), undefined);
});

test('filter chains by SNI: exact, longest wildcard, catch-all; no SNI only reaches a catch-all', () => {
  const chain = (name: string, serverNames: string[]): FilterChain => ({ name, serverNames });
  const listener = (chains: FilterChain[]): Listener => ({ name: 'l', port: 443, protocol: 'HTTPS', filterChains: chains });
  const l = listener([chain('wild', ['*.example.com']), chain('deep', ['*.a.example.com']), chain('exact', ['a.example.com', 'b.org']), chain('any', ['*'])]);
  assert.equal(selectFilterChain(l, 'a.example.com')?.name, 'exact');
  assert.equal(selectFilterChain(l, 'B.ORG')?.name, 'exact');
  assert.equal(selectFilterChain(l, 'x.a.example.com')?.name, 'deep');
  assert.equal(selectFilterChain(l, 'x.example.com')?.name, 'wild');
  assert.equal(selectFilterChain(l, 'other.net')?.name, 'any');
  assert.equal(selectFilterChain(l, undefined)?.name, 'any');
  const strict = listener([chain('exact', ['a.example.com'])]);
  assert.equal(selectFilterChain(strict, 'b.example.com'), undefined);
  assert.equal(selectFilterChain(strict, undefined), undefined);
  const plain: Listener = { name: 'l', port: 80, protocol: 'HTTP', filterChains: [chain('http.80', [])] };
  assert.equal(selectFilterChain(plain, undefined)?.name, 'http.80');
});

test('passthrough routes: first route whose SNI names cover the SNI', () => {
  const dest = (cluster: string): WeightedCluster[] => [{ cluster, weight: 100 }];
  const chain: FilterChain = {
    name: 'tls',
    serverNames: ['*.example.com'],
    tcpRoutes: [
      { name: 'a', sniHosts: ['a.example.com'], destinations: dest('A'), totalWeight: 100 },
      { name: 'wild', sniHosts: ['*.example.com'], destinations: dest('W'), totalWeight: 100 },
    ],
  };
  assert.equal(matchTcpRoute(chain, 'a.example.com')?.name, 'a');
  assert.equal(matchTcpRoute(chain, 'b.example.com')?.name, 'wild');
  assert.equal(matchTcpRoute(chain, 'example.com'), undefined);
  assert.equal(matchTcpRoute(chain, undefined), undefined);
  assert.equal(matchTcpRoute({ name: 'x', serverNames: [] }, 'a.example.com'), undefined);
});

test('pickDestination follows the weights (deterministic sequence, bounded loop)', () => {
  const dests: WeightedCluster[] = [{ cluster: 'a', weight: 10 }, { cluster: 'b', weight: 30 }, { cluster: 'c', weight: 60 }];
  const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
  const n = 10_000;
  // A low-discrepancy sequence in [0,1): fractional parts of i·φ.
  const phi = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < n; i++) {
    const c = pickDestination(dests, 100, (i * phi) % 1).cluster;
    counts[c] = (counts[c] ?? 0) + 1;
  }
  assert.ok(Math.abs((counts.a ?? 0) / n - 0.1) < 0.01, JSON.stringify(counts));
  assert.ok(Math.abs((counts.b ?? 0) / n - 0.3) < 0.01, JSON.stringify(counts));
  assert.ok(Math.abs((counts.c ?? 0) / n - 0.6) < 0.01, JSON.stringify(counts));
  // Boundaries: the cumulative ranges are [0,10), [10,40), [40,100).
  assert.equal(pickDestination(dests, 100, 0).cluster, 'a');
  assert.equal(pickDestination(dests, 100, 0.0999).cluster, 'a');
  assert.equal(pickDestination(dests, 100, 0.1).cluster, 'b');
  assert.equal(pickDestination(dests, 100, 0.3999).cluster, 'b');
  assert.equal(pickDestination(dests, 100, 0.4).cluster, 'c');
  assert.equal(pickDestination(dests, 100, 0.99999).cluster, 'c');
  // Relative weights need not sum to 100.
  assert.equal(pickDestination([{ cluster: 'x', weight: 1 }, { cluster: 'y', weight: 3 }], 4, 0.26).cluster, 'y');
});
