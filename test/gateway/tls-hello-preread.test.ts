// The ClientHello pre-read of listeners with several chains: a ClientHello that arrives in pieces still
// selects its chain by SNI, a client that stalls before finishing its ClientHello (or never starts one)
// is dropped at the hello deadline, and a connection that goes away mid-hello is forgotten.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { ClientHelloReader } from '../../gateway/tls/hello-reader.js';
import { createTestCa, type TestCa } from './support/pki.js';
import { startPlane, type TestPlane } from './support/plane.js';
import { cluster, forward, httpsListener, route, routeTable, snapshot, tlsChain, vhost } from './support/snapshot-builder.js';
import { waitFor } from './support/wait.js';

/** The hello deadline follows the edge's header deadline when that is shorter than 10 s. */
const HEADER_DEADLINE_MS = 400;

let ca: TestCa;
let gw: TestPlane;
let port: number;

before(async () => {
  ca = createTestCa('preread-ca');
  const certA = ca.issue('a.example.com', ['DNS:a.example.com']);
  const certB = ca.issue('b.example.com', ['DNS:b.example.com']);
  const upstream = cluster('a.default.svc.cluster.local', [{ port: 9 }]);
  const table = routeTable('https.443', [vhost(['*'], [route('r', forward([upstream.name]))])]);
  const chains = [
    tlsChain('https.443.a', ['a.example.com'], 'https.443', { secret: 'istio-system/a-cert' }),
    tlsChain('https.443.b', ['b.example.com'], 'https.443', { secret: 'istio-system/b-cert' }),
  ];
  gw = await startPlane(
    snapshot({
      listeners: [httpsListener(443, chains)],
      routeTables: [table],
      clusters: [upstream],
      secrets: [{ name: 'istio-system/a-cert', ...certA }, { name: 'istio-system/b-cert', ...certB }],
    }),
    { edge: { headersTimeoutMs: HEADER_DEADLINE_MS } },
  );
  port = gw.port(443);
});

after(async () => {
  await gw.close();
  ca.dispose();
});

/**
 * A TLS client whose bytes pass through a relay that sends the ClientHello to the gateway in `pieces`
 * separate writes, a few milliseconds apart (so the gateway reads them separately), then relays both
 * ways. Resolves with the certificate the gateway served.
 */
async function handshakeThroughSplitter(servername: string, pieces: number[]): Promise<X509Certificate> {
  const relay: Server = createServer((client: Socket) => {
    const upstream = netConnect(port, '127.0.0.1');
    upstream.setNoDelay(true);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    let first: Buffer | undefined;
    client.once('data', async (chunk: Buffer) => {
      client.pause();
      first = chunk;
      let at = 0;
      for (const size of pieces) {
        upstream.write(first.subarray(at, Math.min(first.length, at + size)));
        at += size;
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
      upstream.write(first.subarray(at));
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  const relayPort = (relay.address() as { port: number }).port;
  try {
    const socket = tlsConnect({ host: '127.0.0.1', port: relayPort, servername, ca: ca.certPem });
    try {
      await once(socket, 'secureConnect');
      const cert = socket.getPeerX509Certificate();
      assert.ok(cert, 'the gateway served a certificate');
      return cert;
    } finally {
      socket.destroy();
    }
  } finally {
    relay.close();
  }
}

test('a ClientHello split across several reads still selects the chain of its SNI', async () => {
  // 3 bytes: not even the record header; then part of the hello; then the rest.
  const b = await handshakeThroughSplitter('b.example.com', [3, 40]);
  assert.equal(b.checkHost('b.example.com'), 'b.example.com');
  const a = await handshakeThroughSplitter('a.example.com', [1, 1, 1, 1, 1, 100]);
  assert.equal(a.checkHost('a.example.com'), 'a.example.com');
});

/** Opens a raw connection, sends `bytes`, and resolves when the gateway closes it (or rejects after 5 s). */
async function closedByGateway(bytes: Buffer): Promise<{ received: number }> {
  const socket = netConnect(port, '127.0.0.1');
  let received = 0;
  let closed = false;
  socket.on('data', (d: Buffer) => (received += d.length));
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  await once(socket, 'connect');
  if (bytes.length > 0) socket.write(bytes);
  try {
    await waitFor(() => closed, 'the gateway to close a connection stalled mid-ClientHello');
  } finally {
    socket.destroy();
  }
  return { received };
}

test('a client that stalls mid-ClientHello, or sends nothing, is dropped at the hello deadline', async () => {
  // A handshake record header announcing 512 bytes, and only part of them.
  const partial = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), Buffer.alloc(20, 7)]);
  assert.equal((await closedByGateway(partial)).received, 0, 'nothing is sent to a client that never finished its ClientHello');
  assert.equal((await closedByGateway(Buffer.alloc(0))).received, 0);
  // The listener still serves after dropping them.
  const a = await handshakeThroughSplitter('a.example.com', []);
  assert.equal(a.checkHost('a.example.com'), 'a.example.com');
});

test('the reader forgets connections that finish, time out or go away, and stops sweeping when none are left', async () => {
  const delivered: (string | undefined)[] = [];
  const reader = new ClientHelloReader((socket, parsed, sni) => {
    delivered.push(parsed ? sni : 'unparsed');
    socket.destroy();
  }, 200);
  const server = createServer((socket) => reader.read(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const serverPort = (server.address() as { port: number }).port;
  try {
    // One goes away mid-hello, one stalls, one sends a whole ClientHello, one sends something else.
    const gone = netConnect(serverPort, '127.0.0.1');
    gone.on('error', () => undefined);
    await once(gone, 'connect');
    gone.write(Buffer.from([0x16, 0x03]));
    const stalled = netConnect(serverPort, '127.0.0.1');
    stalled.on('error', () => undefined);
    await once(stalled, 'connect');
    await waitFor(() => reader.pending === 2, 'two connections being read');
    assert.equal(reader.sweeping, true);
    gone.destroy();
    const tls = tlsConnect({ host: '127.0.0.1', port: serverPort, servername: 'c.example.com', rejectUnauthorized: false });
    tls.on('error', () => undefined);
    const junk = netConnect(serverPort, '127.0.0.1');
    junk.on('error', () => undefined);
    junk.write('GET / HTTP/1.1\r\n\r\n');
    await waitFor(() => delivered.length === 2, 'the ClientHello and the junk delivered');
    assert.deepEqual([...delivered].sort(), ['c.example.com', 'unparsed']);
    const stalledClosed = once(stalled, 'close');
    await waitFor(() => reader.pending === 0, 'every connection forgotten');
    await stalledClosed;
    await waitFor(() => !reader.sweeping, 'the sweep to stop once nothing is being read');
    tls.destroy();
    junk.destroy();
  } finally {
    server.close();
  }
});
