// Gatehouse's HTTP/1 server drives node's own llhttp binding, reached through node's undocumented
// `_http_common`. On a node where it moved, the listeners would fall back to node's server with a
// warning: this proves the binding is found on this node, in the shape the server drives, and that a
// default data plane serves HTTP/1 with it rather than falling back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parserBinding } from '../../gateway/http1/parser-binding.js';
import { startPlane } from './support/plane.js';
import { cluster, forward, httpListener, prefix, route, routeTable, snapshot, vhost } from './support/snapshot-builder.js';
import { request } from './support/client.js';
import { startEchoUpstream } from './support/upstream.js';

test("node's parser binding is found and parses a request the way the server reads it", () => {
  const b = parserBinding();
  assert.ok(b, "node's HTTP/1 parser binding was not found: Gatehouse would serve HTTP/1 with node's server");
  const parser = new b.HTTPParser();
  parser.initialize(b.REQUEST, {}, 16 * 1024, b.kLenientNone);
  let head: unknown[] | undefined;
  let complete = false;
  parser[b.kOnHeadersComplete] = (...args: unknown[]) => {
    head = args;
    return 0;
  };
  parser[b.kOnMessageComplete] = () => {
    complete = true;
  };
  const bytes = Buffer.from('POST /a?b=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n', 'latin1');
  assert.equal(parser.execute(bytes), bytes.length);
  assert.ok(head);
  assert.deepEqual([head[0], head[1], b.methods[head[3] as number], head[4]], [1, 1, 'POST', '/a?b=1']);
  assert.deepEqual(head[2], ['Host', 'x', 'Content-Length', '0']);
  assert.ok(complete);
  // Strict: what node's server refuses, the binding refuses.
  const strict = new b.HTTPParser();
  strict.initialize(b.REQUEST, {}, 16 * 1024, b.kLenientNone);
  strict[b.kOnHeadersComplete] = () => 0;
  const refused = strict.execute(Buffer.from('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n', 'latin1'));
  assert.equal(typeof refused === 'number' ? 'accepted' : refused.code, 'HPE_INVALID_TRANSFER_ENCODING');
  parser.close();
  strict.close();
});

test('a default data plane serves HTTP/1 with its own server, without falling back', async () => {
  const upstream = await startEchoUpstream('b');
  const c = cluster('web.default.svc.cluster.local', [{ port: upstream.port }]);
  const gw = await startPlane(
    snapshot({ listeners: [httpListener(80, 'http.80')], routeTables: [routeTable('http.80', [vhost(['a.example.com'], [route('all', forward([c.name]), { match: [prefix('/')] })])])], clusters: [c] }),
  );
  try {
    const r = await request({ port: gw.port(80), path: '/x', host: 'a.example.com' });
    assert.equal(r.status, 200);
    assert.deepEqual(gw.logs.filter((l) => l.includes('parser binding')), []);
  } finally {
    await gw.close();
    await upstream.close();
  }
});
