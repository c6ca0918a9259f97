// The TLS handshake deadline (edge tlsHandshakeTimeoutMs), kept by one sweep per listener instead of a
// timer per connection: a client that connects and stays silent, or sends its ClientHello and never
// finishes the handshake, is closed; a connection whose handshake finished is not, on a listener whose
// one chain serves every name (no pre-read) and on one with several chains (pre-read).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect, createServer, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { createTestCa, type TestCa } from './support/pki.js';
import { startPlane, type TestPlane } from './support/plane.js';
import { cluster, forward, httpsListener, route, routeTable, snapshot, tlsChain, vhost } from './support/snapshot-builder.js';
import { startEchoUpstream, type EchoUpstream } from './support/upstream.js';
import { waitFor } from './support/wait.js';

const HANDSHAKE_DEADLINE_MS = 300;

let ca: TestCa;
let upstream: EchoUpstream;
let gw: TestPlane;
let anyNamePort: number;
let multiChainPort: number;
let clientHello: Buffer;

before(async () => {
  ca = createTestCa('deadline-ca');
  const cert = ca.issue('a.example.com', ['DNS:a.example.com', 'DNS:b.example.com']);
  upstream = await startEchoUpstream('deadline');
  const c = cluster('a.default.svc.cluster.local', [{ port: upstream.port }]);
  const table = routeTable('https.routes', [vhost(['*'], [route('r', forward([c.name]))])]);
  const secret = { name: 'istio-system/cert', ...cert };
  gw = await startPlane(
    snapshot({
      listeners: [
        httpsListener(443, [tlsChain('https.443', ['*'], 'https.routes', { secret: secret.name })]),
        httpsListener(8443, [
          tlsChain('https.8443.a', ['a.example.com'], 'https.routes', { secret: secret.name }),
          tlsChain('https.8443.b', ['b.example.com'], 'https.routes', { secret: secret.name }),
        ]),
      ],
      routeTables: [table],
      clusters: [c],
      secrets: [secret],
    }),
    { edge: { tlsHandshakeTimeoutMs: HANDSHAKE_DEADLINE_MS } },
  );
  anyNamePort = gw.port(443);
  multiChainPort = gw.port(8443);
  clientHello = await captureClientHello('a.example.com');
});

after(async () => {
  await gw.close();
  await upstream.close();
  ca.dispose();
});

/** The first record a real TLS client sends: its ClientHello. */
async function captureClientHello(servername: string): Promise<Buffer> {
  const sink = createServer();
  const first = new Promise<Buffer>((resolve) => sink.once('connection', (s: Socket) => s.once('data', (d: Buffer) => {
    resolve(d);
    s.destroy();
  })));
  sink.listen(0, '127.0.0.1');
  await once(sink, 'listening');
  const client = tlsConnect({ host: '127.0.0.1', port: (sink.address() as { port: number }).port, servername, rejectUnauthorized: false });
  client.on('error', () => undefined);
  try {
    return await first;
  } finally {
    client.destroy();
    sink.close();
  }
}

/** A raw connection that sends `bytes` and then nothing; `closed` turns true when the gateway closes it. */
async function stalledClient(port: number, bytes: Buffer): Promise<{ socket: Socket; closed: () => boolean; received: () => number }> {
  const socket = netConnect(port, '127.0.0.1');
  let closed = false;
  let received = 0;
  socket.on('data', (d: Buffer) => (received += d.length));
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  await once(socket, 'connect');
  if (bytes.length > 0) socket.write(bytes);
  return { socket, closed: () => closed, received: () => received };
}

async function finishedHandshake(port: number): Promise<TLSSocket> {
  const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'a.example.com', ca: ca.certPem });
  await once(socket, 'secureConnect');
  return socket;
}

function get(socket: TLSSocket): Promise<string> {
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (text += d));
  socket.write('GET /after-deadline HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n');
  return new Promise((resolve) => socket.once('close', () => resolve(text)));
}

for (const [kind, port] of [['one chain for every name', () => anyNamePort], ['several chains', () => multiChainPort]] as const) {
  test(`${kind}: a silent client and a client stalled mid-handshake are closed at the handshake deadline; a finished one is not`, async () => {
    const done = await finishedHandshake(port());
    const silent = await stalledClient(port(), Buffer.alloc(0));
    const midHandshake = await stalledClient(port(), clientHello);
    await waitFor(() => midHandshake.received() > 0, 'the server flight of the stalled handshake');
    await waitFor(() => silent.closed() && midHandshake.closed(), 'the gateway to close both unfinished handshakes');
    // Both were accepted after the finished connection, so its deadline has passed too: it still works.
    assert.equal(done.destroyed, false);
    assert.match(await get(done), /^HTTP\/1\.1 200 /);
  });
}
