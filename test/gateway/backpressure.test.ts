// Bodies stream through without being buffered whole: a client that stops reading stalls the upstream
// (backpressure reaches it), and everything arrives once the client reads again.
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type ServerResponse } from 'node:http';
import { test } from 'node:test';
import { startPlane } from './support/plane.js';
import { cluster, forward, httpListener, route, routeTable, snapshot, vhost } from './support/snapshot-builder.js';
import { waitFor } from './support/wait.js';

const CHUNK = Buffer.alloc(64 * 1024, 0x62);
const TOTAL = 64 * 1024 * 1024;

test('a slow client pushes back on the upstream instead of the gateway buffering the body', async () => {
  let written = 0;
  let blockedAt = -1;
  const upstream = createServer((_req, res: ServerResponse) => {
    res.writeHead(200, { 'content-length': String(TOTAL) });
    const pump = (): void => {
      while (written < TOTAL) {
        written += CHUNK.length;
        if (!res.write(CHUNK)) {
          if (blockedAt < 0) blockedAt = written;
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const c = cluster('big.default.svc.cluster.local', [{ port: (upstream.address() as { port: number }).port }]);
  const gw = await startPlane(snapshot({ listeners: [httpListener(80, 't')], routeTables: [routeTable('t', [vhost(['*'], [route('big', forward([c.name]))])])], clusters: [c] }));
  try {
    let received = 0;
    let done = false;
    let stall: (() => void) | undefined;
    const req = httpRequest({ host: '127.0.0.1', port: gw.port(80), path: '/big', headers: { host: 'x' }, agent: false }, (res) => {
      res.pause();
      stall = () => {
        res.on('data', (c: Buffer) => (received += c.length));
        res.on('end', () => (done = true));
        res.resume();
      };
    });
    req.on('error', () => undefined);
    req.end();
    await waitFor(() => stall !== undefined && blockedAt > 0, 'the response to start');
    // The upstream is stalled once `written` stops growing for 30 polls in a row (or it wrote everything,
    // which is what a gateway that buffers whole bodies would let it do).
    let last = -1;
    let steady = 0;
    await waitFor(() => {
      steady = written === last ? steady + 1 : 0;
      last = written;
      return steady >= 30;
    }, 'the upstream to stop writing', 15_000);
    assert.ok(written < TOTAL / 2, `the upstream wrote ${written} of ${TOTAL} bytes while the client read nothing`);
    stall?.();
    await waitFor(() => done, 'the whole body to arrive', 20_000);
    assert.equal(received, TOTAL);
  } finally {
    await gw.close();
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  }
});
