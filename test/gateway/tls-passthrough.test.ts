// TLS passthrough listeners route by the ClientHello's SNI and tunnel the encrypted bytes: the client
// completes its handshake with the upstream's own certificate. No matching route closes the connection.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { createTestCa } from './support/pki.js';
import { startPlane } from './support/plane.js';
import { cluster, passthroughListener, snapshot, tcpRoute } from './support/snapshot-builder.js';

test('passthrough tunnels by SNI to the upstream, which terminates TLS itself', async () => {
  const ca = createTestCa('pt-ca');
  const leaf = ca.issue('pt.example.com', ['DNS:pt.example.com']);
  const sockets = new Set<TLSSocket>();
  const upstream = createTlsServer({ cert: leaf.certPem, key: leaf.keyPem }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => s.write(`echo:${d.toString()}`));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upPort = (upstream.address() as { port: number }).port;
  const c = cluster('pt.default.svc.cluster.local', [{ port: upPort }], { port: 443 });
  const gw = await startPlane(snapshot({ listeners: [passthroughListener(443, [tcpRoute('pt', ['pt.example.com'], c.name)])], clusters: [c] }));
  const port = gw.port(443);

  const talk = (servername: string): Promise<string> =>
    new Promise((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port, servername, ca: ca.certPem });
      const timer = setTimeout(() => {
        s.destroy();
        resolve('timeout');
      }, 5_000);
      s.once('secureConnect', () => s.write('ping'));
      s.once('data', (d: Buffer) => {
        clearTimeout(timer);
        const subject = s.getPeerX509Certificate()?.subject ?? '';
        s.destroy();
        resolve(`${d.toString()} ${subject}`);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        resolve(`error: ${err.message}`);
      });
    });
  try {
    assert.equal(await talk('pt.example.com'), 'echo:ping CN=pt.example.com');
    assert.match(await talk('other.example.com'), /^error/);
  } finally {
    await gw.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
    ca.dispose();
  }
});
