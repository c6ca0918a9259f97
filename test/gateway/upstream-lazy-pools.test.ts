// An endpoint's undici Pool is opened by its first request, not when a snapshot is warmed: at scale most
// clusters are idle in a given process and an idle Pool still costs its request queue. A retired endpoint
// that never opened one fails requests as a closed Pool would, and opens nothing nobody would close.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { ClusterManager } from '../../gateway/upstream/cluster-manager.js';
import type { EndpointPool } from '../../gateway/upstream/endpoint-pool.js';
import { cluster, httpListener, snapshot } from './support/snapshot-builder.js';
import { startEchoUpstream } from './support/upstream.js';

/** A GET through the endpoint's Pool, as the proxy dispatches on it (undici's request API over `endpoint.pool`). */
const get = (endpoint: EndpointPool, path: string) => request(`http://${endpoint.hostPort}${path}`, { dispatcher: endpoint.pool });

test('an endpoint opens its Pool on its first request; one retired unopened stays closed', async () => {
  const a = await startEchoUpstream('a');
  const b = await startEchoUpstream('b');
  const ca = cluster('a.default.svc.cluster.local', [{ port: a.port }]);
  const cb = cluster('b.default.svc.cluster.local', [{ port: b.port }]);
  const manager = new ClusterManager();
  try {
    const first = manager.warm(snapshot({ listeners: [httpListener(80, 'http.80')], clusters: [ca, cb] }));
    manager.commit(first, 1_000);
    const endpointA = first.get(ca.name)!.balancer.pick()!;
    const endpointB = first.get(cb.name)!.balancer.pick()!;
    assert.equal(endpointA.isOpen, false, 'warming opens no Pool');
    assert.equal(endpointB.isOpen, false, 'warming opens no Pool');

    const reply = await get(endpointA, '/first');
    assert.equal(reply.headers['x-upstream'], 'a');
    await reply.body.text();
    assert.equal(endpointA.isOpen, true, 'the first request opened a');
    assert.equal(endpointB.isOpen, false, 'b saw no request');

    // b is gone from the next snapshot: retired before any request opened its Pool.
    const second = manager.warm(snapshot({ listeners: [httpListener(80, 'http.80')], clusters: [ca] }));
    manager.commit(second, 1_000);
    assert.equal(second.get(ca.name)!.balancer.pick(), endpointA, 'a keeps its endpoint, and so its connections');
    await assert.rejects(get(endpointB, '/late'), (err: Error & { code?: string }) => err.code === 'UND_ERR_CLOSED');
    assert.equal(endpointB.isOpen, false, 'a retired endpoint opens no Pool');
    assert.equal(b.received.length, 0, 'nothing reached b');
    const again = await get(endpointA, '/second');
    assert.equal(again.headers['x-upstream'], 'a');
    await again.body.text();
    assert.equal(a.received.length, 2);
  } finally {
    await manager.closeAll(0);
    await a.close();
    await b.close();
  }
});
