// An HTTP/1 client that completes a TLS handshake and shuts down without sending a request (a preconnect,
// a TLS health check) is closed at once, with no close_notify written back to a peer that has left; a
// client that did send a request keeps node's handling (its response, then close_notify and FIN).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { startTlsListenersGateway, type TlsListenersGateway } from './support/tls-listeners.js';

let tls: TlsListenersGateway;

before(async () => {
  tls = await startTlsListenersGateway('unused');
});

after(() => tls.close());

/**
 * TLS 1.2 (every handshake message, session ticket included, arrives before secureConnect) through a
 * relay that counts what the gateway sends. Optionally sends one request and reads its whole response;
 * then shuts down (close_notify and FIN) and reports the bytes the gateway sent after that shutdown
 * reached it, until it closed, and the response.
 */
async function shutDownAfter(port: number, request: string | undefined): Promise<{ bytesAfterShutdown: number; response: string }> {
  let fromGateway = 0;
  let atShutdown = -1;
  let gatewayClosed!: () => void;
  const closedByGateway = new Promise<void>((resolve) => (gatewayClosed = resolve));
  const relay: Server = createServer({ allowHalfOpen: true }, (client: Socket) => {
    const toGateway = netConnect({ port, host: '127.0.0.1', allowHalfOpen: true });
    toGateway.on('data', (d: Buffer) => {
      fromGateway += d.length;
      if (client.writable) client.write(d);
    });
    client.on('data', (d: Buffer) => toGateway.write(d));
    client.on('end', () => {
      atShutdown = fromGateway;
      toGateway.end();
    });
    toGateway.on('close', () => {
      client.destroy();
      gatewayClosed();
    });
    toGateway.on('error', () => undefined);
    client.on('error', () => undefined);
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  try {
    const socket = tlsConnect({ host: '127.0.0.1', port: (relay.address() as { port: number }).port, servername: 'a.example.com', ca: tls.ca.certPem, maxVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] });
    socket.on('error', () => undefined);
    await once(socket, 'secureConnect');
    let response = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (response += d));
    if (request !== undefined) {
      socket.write(request);
      while (!complete(response)) await once(socket, 'data');
    }
    socket.end();
    await closedByGateway;
    socket.destroy();
    assert.ok(atShutdown >= 0, 'the relay saw the client shut down');
    return { bytesAfterShutdown: fromGateway - atShutdown, response };
  } finally {
    relay.close();
  }
}

/** A whole HTTP/1.1 response: its head, and a body of Content-Length bytes or a last chunk. */
function complete(response: string): boolean {
  const end = response.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const length = /\r\ncontent-length: *(\d+)/i.exec(response.slice(0, end));
  if (length) return response.length - end - 4 >= Number(length[1]);
  return response.endsWith('0\r\n\r\n');
}

for (const [kind, gatewayPort] of [['one chain for every name', 443], ['several chains', 8443]] as const) {
  test(`${kind}: a client that shuts down before any request is closed with nothing written back`, async () => {
    const unused = await shutDownAfter(tls.gw.port(gatewayPort), undefined);
    assert.equal(unused.bytesAfterShutdown, 0, 'no close_notify (or anything) is written to a client that sent no request and left');
  });

  test(`${kind}: a client that sent a request gets its response, and node's close_notify when it shuts down`, async () => {
    const used = await shutDownAfter(tls.gw.port(gatewayPort), 'GET /used HTTP/1.1\r\nHost: a.example.com\r\n\r\n');
    assert.match(used.response, /^HTTP\/1\.1 200 /);
    assert.ok(used.bytesAfterShutdown > 0, 'the gateway answers the shutdown of a used connection with close_notify');
  });
}
