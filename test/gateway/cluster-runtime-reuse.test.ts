// A cluster's runtime (balancer and endpoint pools, so its warm connections) survives a snapshot swap
// when nothing about its connections changed: recognised at once when the snapshot hands over the very
// same cluster and secret objects (a worker's delta), by hashing otherwise; a rotated TLS secret under
// the same cluster object still gets fresh pools.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TlsSecret } from '../../core/snapshot.js';
import { ClusterManager } from '../../gateway/upstream/cluster-manager.js';
import { cluster, httpListener, snapshot } from './support/snapshot-builder.js';

const listeners = [httpListener(80, 'http.80')];
const secret = (certPem: string): TlsSecret => ({ name: 'istio-system/client', certPem, keyPem: 'KEY', caPem: 'CA' });

test('the same cluster and secret objects keep the runtime; an equal copy too; a rotated secret gets new pools', async () => {
  const c = cluster('reviews.bookinfo.svc.cluster.local', [{ port: 9 }], {
    tls: { mode: 'MUTUAL', secret: 'istio-system/client', subjectAltNames: [] } as never,
  });
  const plain = cluster('ratings.bookinfo.svc.cluster.local', [{ port: 10 }]);
  const s1 = secret('CERT-1');
  const manager = new ClusterManager();
  try {
    const first = manager.warm(snapshot({ listeners, clusters: [c, plain], secrets: [s1] }));
    manager.commit(first, 0);

    const same = manager.warm(snapshot({ listeners, clusters: [c, plain], secrets: [s1] }));
    assert.equal(same.get(c.name), first.get(c.name), 'same objects: the runtime is kept');
    assert.equal(same.get(plain.name), first.get(plain.name), 'same object, no TLS: the runtime is kept');
    manager.commit(same, 0);

    const copies = manager.warm(snapshot({ listeners, clusters: [{ ...c }, { ...plain }], secrets: [{ ...s1 }] }));
    assert.equal(copies.get(c.name)?.pools[0], first.get(c.name)?.pools[0], 'equal copies: the endpoint pool is kept');
    assert.equal(copies.get(plain.name)?.pools[0], first.get(plain.name)?.pools[0]);
    manager.commit(copies, 0);

    const rotated = manager.warm(snapshot({ listeners, clusters: [copies.get(c.name)!.cluster, plain], secrets: [secret('CERT-2')] }));
    assert.notEqual(rotated.get(c.name), copies.get(c.name), 'a rotated secret: a new runtime');
    assert.notEqual(rotated.get(c.name)?.pools[0], first.get(c.name)?.pools[0], 'and a new pool, with the new client certificate');
    assert.equal(rotated.get(plain.name)?.pools[0], first.get(plain.name)?.pools[0], 'the other cluster is untouched');
    manager.commit(rotated, 0);
  } finally {
    await manager.closeAll(0);
  }
});
