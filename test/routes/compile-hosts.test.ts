import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostSet, hostSubsetOf, intersectHosts, parseServerHost, resolveShortname } from '../../routes/compile/hosts.js';
import { clusterName } from '../../routes/compile/clusters.js';
import { parseDurationMs } from '../../routes/compile/context.js';
import { resolveGatewayName } from '../../routes/compile/http-routes.js';

test('short names resolve in the referring namespace, as ResolveShortnameToFQDN does', () => {
  const cases: Array<[string, string, string, string]> = [
    ['reviews', 'default', 'cluster.local', 'reviews.default.svc.cluster.local'],
    ['reviews', 'bookinfo', 'cluster.local', 'reviews.bookinfo.svc.cluster.local'],
    ['reviews.other', 'default', 'cluster.local', 'reviews.other'],
    ['example.org', 'default', 'cluster.local', 'example.org'],
    ['*', 'default', 'cluster.local', '*'],
    ['*.example.com', 'default', 'cluster.local', '*.example.com'],
    ['Reviews', 'default', 'cluster.local', 'reviews.default.svc.cluster.local'],
    // Istio's unit-test harness has an empty domain: `<name>.<ns>`.
    ['productpage', 'default', '', 'productpage.default'],
  ];
  for (const [name, ns, domain, want] of cases) assert.equal(resolveShortname(name, ns, domain), want, `${name} in ${ns}`);
});

test('server hosts carry the namespace they admit', () => {
  assert.deepEqual(parseServerHost('foo.com', 'gw'), { namespace: '*', host: 'foo.com' });
  assert.deepEqual(parseServerHost('*/foo.com', 'gw'), { namespace: '*', host: 'foo.com' });
  assert.deepEqual(parseServerHost('./Foo.com', 'gw'), { namespace: 'gw', host: 'foo.com' });
  assert.deepEqual(parseServerHost('ns-1/*.example.com', 'gw'), { namespace: 'ns-1', host: '*.example.com' });
});

test('host subset rules follow host.Name.SubsetOf', () => {
  const rows: Array<[string, string, boolean]> = [
    ['a.example.com', '*.example.com', true],
    ['example.com', '*.example.com', false],
    ['a.b.example.com', '*.example.com', true],
    ['*.a.example.com', '*.example.com', true],
    ['*.example.com', '*.example.com', true],
    ['*.example.com', 'a.example.com', false],
    ['*.example.com', '*', true],
    ['*', '*.example.com', false],
    ['a.example.com', 'a.example.com', true],
    ['a.example.com', 'b.example.com', false],
    ['anything', '*', true],
  ];
  for (const [a, b, want] of rows) assert.equal(hostSubsetOf(a, b), want, `${a} ⊆ ${b}`);
});

test('intersection picks the more specific host of each pair', () => {
  const set = (...hosts: string[]): HostSet => {
    const s = new HostSet();
    for (const h of hosts) s.add(h);
    return s;
  };
  const rows: Array<[string[], string[], string[]]> = [
    [['*.example.com'], ['a.example.com', 'b.example.com'], ['a.example.com', 'b.example.com']],
    [['a.example.com', 'b.example.com', 'c.org'], ['*.example.com'], ['a.example.com', 'b.example.com']],
    [['*'], ['*.org'], ['*.org']],
    [['example.org'], ['*.org'], ['example.org']],
    [['foo.bar'], ['*'], ['foo.bar']],
    [['*'], ['*'], ['*']],
    [['*.example.com'], ['*.a.example.com'], ['*.a.example.com']],
    [['*.a.example.com'], ['*.example.com'], ['*.a.example.com']],
    [['foo.bar'], ['bad.bar'], []],
    [['*.example.com'], ['example.com'], []],
  ];
  for (const [server, vs, want] of rows) {
    assert.deepEqual(intersectHosts(set(...server), vs).sort(), want.sort(), `${server} ∩ ${vs}`);
  }
});

test('cluster names follow Istio: outbound|port|subset|fqdn', () => {
  assert.equal(clusterName(9080, '', 'reviews.default.svc.cluster.local'), 'outbound|9080||reviews.default.svc.cluster.local');
  assert.equal(clusterName(80, 'v1', 'reviews.default.svc.cluster.local'), 'outbound|80|v1|reviews.default.svc.cluster.local');
});

test('durations in Istio and Go forms', () => {
  assert.equal(parseDurationMs('1s'), 1000);
  assert.equal(parseDurationMs('0.5s'), 500);
  assert.equal(parseDurationMs('250ms'), 250);
  assert.equal(parseDurationMs('1m30s'), 90_000);
  assert.equal(parseDurationMs('1h'), 3_600_000);
  assert.equal(parseDurationMs('0s'), 0);
  assert.equal(parseDurationMs('ten'), undefined);
  assert.equal(parseDurationMs('10'), undefined);
});

test('gateway references resolve as Istio resolveGatewayName does', () => {
  assert.equal(resolveGatewayName('gw', 'apps'), 'apps/gw');
  assert.equal(resolveGatewayName('./gw', 'apps'), 'apps/gw');
  assert.equal(resolveGatewayName('istio-system/gw', 'apps'), 'istio-system/gw');
  assert.equal(resolveGatewayName('gw.edge', 'apps'), 'edge/gw');
  assert.equal(resolveGatewayName('gw.edge.svc.cluster.local', 'apps'), 'edge/gw');
  assert.equal(resolveGatewayName('mesh', 'apps'), 'mesh');
});
