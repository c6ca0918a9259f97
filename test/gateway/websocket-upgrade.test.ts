// WebSocket upgrades (on by default at an Istio gateway): routed like any request, then tunnelled once
// the upstream answers 101; a request with no route still gets its 404.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { startPlane } from './support/plane.js';
import { cluster, forward, httpListener, prefix, route, routeTable, snapshot, vhost } from './support/snapshot-builder.js';
import { waitFor } from './support/wait.js';

test('a WebSocket upgrade is routed, answered 101 by the upstream, and tunnelled both ways', async () => {
  const upstreamSockets = new Set<Socket>();
  let seenHeaders: Record<string, string | string[] | undefined> = {};
  const upstream = createServer((_req, res) => res.end('not an upgrade'));
  upstream.on('upgrade', (req, socket: Socket) => {
    upstreamSockets.add(socket);
    seenHeaders = req.headers;
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: test\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(d.toString().toUpperCase()));
    socket.on('error', () => undefined);
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const c = cluster('ws.default.svc.cluster.local', [{ port: (upstream.address() as { port: number }).port }]);
  const table = routeTable('http.80', [vhost(['ws.example.com'], [route('ws', forward([c.name]), { match: [prefix('/chat')] })])]);
  const gw = await startPlane(snapshot({ listeners: [httpListener(80, 'http.80')], routeTables: [table], clusters: [c] }));

  const exchange = (path: string, send: string | undefined): Promise<string> =>
    new Promise((resolve) => {
      const s = connect(gw.port(80), '127.0.0.1');
      let text = '';
      const timer = setTimeout(() => {
        s.destroy();
        resolve(`${text}<timeout>`);
      }, 5_000);
      s.on('connect', () =>
        s.write(`GET ${path} HTTP/1.1\r\nHost: ws.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`),
      );
      s.on('data', (d: Buffer) => {
        text += d.toString();
        if (send && text.includes('\r\n\r\n') && !text.includes(send.toUpperCase())) {
          if (!text.endsWith('<sent>')) {
            s.write(send);
            text += '<sent>';
          }
        }
        if (send && text.includes(send.toUpperCase())) {
          clearTimeout(timer);
          s.destroy();
          resolve(text);
        }
      });
      s.on('error', () => undefined);
      s.on('close', () => {
        clearTimeout(timer);
        resolve(text);
      });
    });
  try {
    const tunnelled = await exchange('/chat', 'hello');
    assert.match(tunnelled, /^HTTP\/1\.1 101 /);
    assert.match(tunnelled, /HELLO/);
    assert.equal(String(seenHeaders.upgrade).toLowerCase(), 'websocket');
    assert.ok(seenHeaders['x-forwarded-for'], 'edge headers are added to upgrades too');
    await waitFor(() => gw.accessLog.some((l) => l.includes('"GET /chat HTTP/1.1" 101 ')), `the 101 access log line (have: ${gw.accessLog.join('')})`);
    const refused = await exchange('/other', undefined);
    assert.match(refused, /^HTTP\/1\.1 404 /);
    await waitFor(() => gw.plane.inFlight === 0, 'tunnels and requests to finish');
  } finally {
    await gw.close();
    for (const s of upstreamSockets) s.destroy();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  }
});
