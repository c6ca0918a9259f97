// HTTP/2 at the edge: the stream limit is advertised, and a client that opens and cancels streams as
// fast as it can (rapid reset, CVE-2023-44487) loses its session while others keep being served.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, test } from 'node:test';
import { Registry } from 'prom-client';
import { createDataPlane, type DataPlaneInternals } from '../../gateway/index.js';
import { createTestCa, type TestCa } from './support/pki.js';
import { cluster, forward, httpsListener, route, routeTable, snapshot, tlsChain, vhost } from './support/snapshot-builder.js';
import { startEchoUpstream, type EchoUpstream } from './support/upstream.js';

let ca: TestCa;
let up: EchoUpstream;
let plane: DataPlaneInternals;
let port: number;

before(async () => {
  ca = createTestCa('h2-edge-ca');
  up = await startEchoUpstream('up');
  const c = cluster('up.default.svc.cluster.local', [{ port: up.port }]);
  const leaf = ca.issue('h2.example.com', ['DNS:h2.example.com']);
  plane = createDataPlane({
    bindAddress: '127.0.0.1',
    portMap: new Map([[443, 0]]),
    registry: new Registry(),
    accessLogFormat: 'off',
    log: () => undefined,
    retireGraceMs: 500,
    edge: { maxStreamResetsPerSecond: 50 },
  });
  await plane.apply(
    snapshot({
      listeners: [httpsListener(443, [tlsChain('h2', ['h2.example.com'], 't', { secret: 'ns/h2' })])],
      routeTables: [routeTable('t', [vhost(['h2.example.com'], [route('r', forward([c.name]))])])],
      clusters: [c],
      secrets: [{ name: 'ns/h2', ...leaf }],
    }),
  );
  port = plane.boundPort(443) as number;
});

after(async () => {
  await plane?.drain(200);
  await up?.close();
  ca?.dispose();
});

function connect(): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { servername: 'h2.example.com', ca: ca.certPem });
    session.once('remoteSettings', () => resolve(session));
    session.once('error', reject);
  });
}

function get(session: http2.ClientHttp2Session): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': '/ok', ':authority': 'h2.example.com' });
    req.on('response', (h) => resolve(Number(h[':status'])));
    req.on('error', reject);
    req.resume();
    req.end();
  });
}

test('SETTINGS advertise at most 100 concurrent streams', async () => {
  const session = await connect();
  try {
    assert.equal(session.remoteSettings.maxConcurrentStreams, 100);
    assert.equal(await get(session), 200);
  } finally {
    session.destroy();
  }
});

test('rapid reset: a session cancelling streams faster than the limit is closed with ENHANCE_YOUR_CALM', async () => {
  const session = await connect();
  session.on('error', () => undefined);
  let goawayCode: number | undefined;
  session.on('goaway', (code: number) => (goawayCode = code));
  const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
  let opened = 0;
  // Bounded: 500 streams, each cancelled straight away: under nghttp2's own burst allowance (1000), so only
  // the gateway's limit can cut the session.
  for (let i = 0; i < 500 && !session.closed && !session.destroyed; i++) {
    try {
      const req = session.request({ ':path': `/r${i}`, ':authority': 'h2.example.com' });
      req.on('error', () => undefined);
      req.close(http2.constants.NGHTTP2_CANCEL);
      opened++;
    } catch {
      break;
    }
    if (i % 50 === 49) await new Promise((r) => setImmediate(r));
  }
  await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('session still open after 5 s')), 5000))]);
  assert.equal(goawayCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, `goaway code ${goawayCode} after ${opened} streams`);
  
  const fresh = await connect();
  try {
    assert.equal(await get(fresh), 200, 'other clients are still served');
  } finally {
    fresh.destroy();
  }
});
