// The TLS handshake deadline (edge tlsHandshakeTimeoutMs), kept by one sweep per listener instead of a
// timer per connection: a client that connects and stays silent, or sends its ClientHello and never
// finishes the handshake, is closed; a connection whose handshake finished is not, on a listener whose
// one chain serves every name (no pre-read) and on one with several chains (pre-read).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect, createServer, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { TestCa } from './support/pki.js';
import { startTlsListenersGateway, type TlsListenersGateway } from './support/tls-listeners.js';
import { waitFor } from './support/wait.js';

const HANDSHAKE_DEADLINE_MS = 300;

let tls: TlsListenersGateway;
let ca: TestCa;
let anyNamePort: number;
let multiChainPort: number;
let clientHello: Buffer;

before(async () => {
  tls = await startTlsListenersGateway('deadline', { tlsHandshakeTimeoutMs: HANDSHAKE_DEADLINE_MS });
  ({ ca, anyNamePort, multiChainPort } = tls);
  clientHello = await captureClientHello('a.example.com');
});

after(() => tls.close());

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
