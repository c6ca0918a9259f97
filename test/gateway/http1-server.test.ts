// Gatehouse's own HTTP/1 server (gateway/http1, the default 'http1' data path) over real sockets, with
// the exact bytes a client sends: pipelines, Expect, request bodies and their backpressure, heads that
// arrive in pieces or in parts, response header safety, and the header and idle deadlines. Ends with
// the 'node' data path, which must keep serving as the fallback.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from './support/client.js';
import { startPlane, type TestPlane } from './support/plane.js';
import { cluster, forward, httpListener, ops, prefix, route, routeTable, snapshot, vhost } from './support/snapshot-builder.js';
import { CL_BODY, startHttp1Upstream, type Arrival, type EchoBody, type Http1Upstream } from './support/http1-upstream.js';
import { header, WireConnection, type WireResponse } from './support/http1-wire.js';
import { waitFor } from './support/wait.js';

const HOST = 'Host: a.example.com\r\n';

function echoOf(res: WireResponse): EchoBody {
  assert.equal(res.status, 200, `expected 200, got ${res.statusLine}: ${res.body.toString('latin1')}`);
  return JSON.parse(res.body.toString('latin1')) as EchoBody;
}

/** Arrivals at the upstream whose URL carries `t=<tag>`, in arrival order. */
function tagged(upstream: Http1Upstream, tag: string): Arrival[] {
  return upstream.arrivals.filter((a) => new URL(a.url, 'http://x').searchParams.get('t') === tag);
}

function snapshotFor(upstream: Http1Upstream, extraRoutes: ReturnType<typeof route>[] = []) {
  const c = cluster('web.default.svc.cluster.local', [{ port: upstream.port }]);
  const table = routeTable('http.80', [vhost(['a.example.com'], [...extraRoutes, route('web', forward([c.name]))])]);
  return { snap: snapshot({ listeners: [httpListener(80, 'http.80')], routeTables: [table], clusters: [c] }), clusterName: c.name };
}

/** A GET on a fresh connection, answered: the gateway has served at least one more turn of its loop. */
async function roundTrip(port: number, tag: string): Promise<void> {
  const other = await WireConnection.open(port);
  try {
    other.send(`GET /echo?t=${tag} HTTP/1.1\r\n${HOST}\r\n`, ['GET']);
    assert.equal(echoOf(await other.next()).url, `/echo?t=${tag}`);
  } finally {
    other.close();
  }
}

describe('the http1 data path over plain HTTP', () => {
  let upstream: Http1Upstream;
  let gw: TestPlane;
  let port: number;

  before(async () => {
    upstream = await startHttp1Upstream();
    gw = await startPlane(snapshotFor(upstream).snap, { dataPath: 'http1', format: 'json' });
    port = gw.port(80);
  });

  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  // --- pipelining ---

  it('answers three pipelined requests (GET, POST with a body, GET) in order, each reaching the upstream once, in order', async () => {
    const conn = await WireConnection.open(port);
    try {
      conn.send(
        `GET /echo?t=pipe&n=1 HTTP/1.1\r\n${HOST}\r\n` +
          `POST /echo?t=pipe&n=2 HTTP/1.1\r\n${HOST}Content-Length: 14\r\nContent-Type: text/plain\r\n\r\nthe-post-body!` +
          `GET /echo?t=pipe&n=3 HTTP/1.1\r\n${HOST}\r\n`,
        ['GET', 'POST', 'GET'],
      );
      const answers = [echoOf(await conn.next()), echoOf(await conn.next()), echoOf(await conn.next())];
      assert.deepEqual(
        answers.map((a) => [a.method, a.url, a.body]),
        [
          ['GET', '/echo?t=pipe&n=1', ''],
          ['POST', '/echo?t=pipe&n=2', 'the-post-body!'],
          ['GET', '/echo?t=pipe&n=3', ''],
        ],
      );
      assert.deepEqual(
        tagged(upstream, 'pipe').map((a) => `${a.method} ${a.url}`),
        ['GET /echo?t=pipe&n=1', 'POST /echo?t=pipe&n=2', 'GET /echo?t=pipe&n=3'],
      );
      assert.equal(await conn.fate(`GET /cl HTTP/1.1\r\n${HOST}\r\n`), 'open');
    } finally {
      conn.close();
    }
  });

  it('holds a pipelined request behind a slow one: it reaches the upstream only after the first is answered', async () => {
    const conn = await WireConnection.open(port);
    try {
      conn.send(`GET /gated?t=slow HTTP/1.1\r\n${HOST}\r\nGET /echo?t=behind-slow HTTP/1.1\r\n${HOST}\r\n`, ['GET', 'GET']);
      await waitFor(() => tagged(upstream, 'slow').length === 1, 'the slow request to reach the upstream');
      // Both requests came in one segment and were parsed together; a request answered on another
      // connection since shows the gateway has had every chance to send the second one on.
      await roundTrip(port, 'meanwhile');
      assert.equal(tagged(upstream, 'behind-slow').length, 0, 'the pipelined request was sent upstream while the one before it was unanswered');
      assert.equal(conn.text, '', 'nothing may be answered before the first request');
      upstream.release();
      assert.equal(echoOf(await conn.next()).url, '/gated?t=slow');
      assert.equal(echoOf(await conn.next()).url, '/echo?t=behind-slow');
      assert.equal(tagged(upstream, 'behind-slow').length, 1);
    } finally {
      upstream.release();
      conn.close();
    }
  });

  // --- Expect ---

  it('answers Expect: 100-continue with 100 Continue before the body is sent, then the final response', async () => {
    const conn = await WireConnection.open(port);
    try {
      const body = 'sent-after-continue';
      conn.send(`POST /echo?t=continue HTTP/1.1\r\n${HOST}Expect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`, ['POST']);
      const interim = await conn.next();
      assert.equal(interim.statusLine, 'HTTP/1.1 100 Continue');
      assert.equal(conn.responses.length, 1, 'the final response came before the body was sent');
      conn.send(body);
      const echo = echoOf(await conn.next());
      assert.equal(echo.body, body);
      // This hop met the expectation; undici could not send it on anyway.
      assert.equal(echo.headers.expect, undefined);
      assert.equal(await conn.fate(`GET /cl HTTP/1.1\r\n${HOST}\r\n`), 'open');
    } finally {
      conn.close();
    }
  });

  it('answers an unknown expectation with 417 and closes; the request never reaches the upstream', async () => {
    const conn = await WireConnection.open(port);
    try {
      conn.send(`POST /echo?t=expect-unknown HTTP/1.1\r\n${HOST}Expect: something-else\r\nContent-Length: 4\r\n\r\nbody`, ['POST']);
      const res = await conn.next();
      assert.equal(res.status, 417);
      assert.equal(header(res, 'connection'), 'close');
      await conn.whenClosed();
      assert.equal(conn.responses.length, 1);
    } finally {
      conn.close();
    }
    // Any later request reaches the upstream after the refused one would have.
    await roundTrip(port, 'after-417');
    assert.equal(tagged(upstream, 'expect-unknown').length, 0, 'a request with an unmet expectation was forwarded');
  });

  it('answers a pipelined request with an unknown expectation 417 after the answer to the request before it', async () => {
    // A regression test: an unmet expectation on a request that arrived while another was being answered
    // once destroyed the connection, losing the earlier, valid request's answer; node's server answers
    // both, in order.
    const conn = await WireConnection.open(port);
    try {
      conn.send(`GET /cl HTTP/1.1\r\n${HOST}\r\nPOST /echo?t=expect-queued HTTP/1.1\r\n${HOST}Expect: something-else\r\nContent-Length: 4\r\n\r\nbody`, ['GET', 'POST']);
      const first = await conn.next();
      assert.equal(first.status, 200);
      assert.equal(first.body.toString('latin1'), CL_BODY);
      assert.equal((await conn.next()).status, 417);
    } finally {
      conn.close();
    }
    await roundTrip(port, 'after-queued-417');
    assert.equal(tagged(upstream, 'expect-queued').length, 0, 'a request with an unmet expectation was forwarded');
  });

  it('sends 100 Continue to a pipelined Expect: 100-continue request when its turn comes', async () => {
    // A regression test: a request queued behind another was once started without its 100 Continue, so
    // the client, waiting for it before sending the body, never got one; node's server sends it once the
    // request before is answered.
    const conn = await WireConnection.open(port);
    try {
      conn.send(`GET /cl HTTP/1.1\r\n${HOST}\r\nPOST /echo?t=continue-queued HTTP/1.1\r\n${HOST}Expect: 100-continue\r\nContent-Length: 4\r\n\r\n`, ['GET', 'POST']);
      assert.equal((await conn.next()).status, 200);
      const interim = await conn.next(3_000);
      assert.equal(interim.statusLine, 'HTTP/1.1 100 Continue');
      conn.send('body');
      assert.equal(echoOf(await conn.next()).body, 'body');
    } finally {
      conn.close();
    }
  });

  // --- request bodies ---

  it('streams a large request body with backpressure (a stalled upstream stalls the client) and delivers it byte-exact', async () => {
    const total = 32 * 1024 * 1024;
    const block = randomBytes(64 * 1024);
    const hash = createHash('sha256');
    const conn = await WireConnection.open(port);
    try {
      conn.send(`POST /sink?t=big HTTP/1.1\r\n${HOST}Content-Length: ${total}\r\nContent-Type: application/octet-stream\r\n\r\n`, ['POST']);
      const socket = conn.socket;
      let written = 0;
      let finished = false;
      const pump = (): void => {
        while (written < total && !socket.destroyed) {
          // Every block differs (its first bytes are its index): a dropped or repeated block changes the hash.
          const chunk = Buffer.from(block);
          chunk.writeUInt32BE(written / block.length, 0);
          hash.update(chunk);
          written += chunk.length;
          if (!socket.write(chunk)) {
            socket.once('drain', pump);
            return;
          }
        }
        finished = true;
      };
      pump();
      await waitFor(() => upstream.sinkPending === 1, 'the request to reach the upstream, which does not read it');
      // Handed to the kernel: what the socket accepted minus what it still buffers. Stalled once it
      // stops growing for 30 polls in a row, or never, if the gateway read the whole body into memory.
      let last = -1;
      let steady = 0;
      await waitFor(
        () => {
          const handed = written - socket.writableLength;
          steady = handed === last ? steady + 1 : 0;
          last = handed;
          return steady >= 30 || finished;
        },
        'the client to stall',
        20_000,
      );
      assert.equal(finished, false, 'the client sent the whole body while the upstream read none of it');
      assert.ok(last < total / 2, `the client handed ${last} of ${total} bytes over while the upstream read nothing`);
      upstream.openSink();
      const echo = echoOf(await conn.next(30_000));
      assert.equal(finished, true);
      assert.equal(echo.length, total);
      assert.equal(echo.sha256, hash.digest('hex'));
    } finally {
      upstream.openSink();
      conn.close();
    }
  });

  it('delivers a chunked request body whole, reads the request after it, and logs its bytes received', async () => {
    const conn = await WireConnection.open(port);
    try {
      conn.send(
        `POST /echo?t=chunked HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n` +
          '5\r\nhello\r\n1;ext=yes\r\n \r\nA\r\nchunked bo\r\n3\r\ndy!\r\n0\r\n\r\n' +
          `GET /echo?t=after-chunked HTTP/1.1\r\n${HOST}\r\n`,
        ['POST', 'GET'],
      );
      const echo = echoOf(await conn.next());
      assert.equal(echo.body, 'hello chunked body!');
      assert.equal(echoOf(await conn.next()).url, '/echo?t=after-chunked');
    } finally {
      conn.close();
    }
    const line = async () => gw.accessLog.map((l) => JSON.parse(l) as { path: string; bytes_received: number; response_code: number }).find((l) => l.path === '/echo?t=chunked');
    await waitFor(async () => (await line()) !== undefined, 'the access log line of the chunked request');
    const logged = await line();
    assert.equal(logged?.response_code, 200);
    assert.equal(logged?.bytes_received, 'hello chunked body!'.length);
  });

  it('serves an h2c upgrade request with a body as a plain request: the body reaches the upstream, then the connection closes', async () => {
    // As Envoy does: h2c is not spoken here, so the Upgrade is dropped, not the body. Both data paths once lost it.
    const conn = await WireConnection.open(port);
    try {
      conn.send(
        `POST /echo?t=h2c-body HTTP/1.1\r\n${HOST}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nContent-Length: 5\r\n\r\nhello`,
        ['POST'],
      );
      const echo = echoOf(await conn.next());
      assert.equal(echo.url, '/echo?t=h2c-body');
      assert.equal(echo.body, 'hello');
      assert.equal(echo.headers.upgrade, undefined, 'the Upgrade header reached the upstream');
      await conn.whenClosed();
    } finally {
      conn.close();
    }
  });

  it('serves a WebSocket upgrade request that carries a body as a plain request (a handshake has none)', async () => {
    const conn = await WireConnection.open(port);
    try {
      conn.send(
        `POST /echo?t=ws-body HTTP/1.1\r\n${HOST}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: 7\r\n\r\npayload`,
        ['POST'],
      );
      const res = await conn.next();
      assert.equal(res.status, 200);
      assert.equal(echoOf(res).body, 'payload');
    } finally {
      conn.close();
    }
  });

  it('keeps the trailers of a chunked body to their request: the next request on the connection arrives as sent', async () => {
    // A regression test: node's parser hands a chunked body's trailer fields to kOnHeaders, with the
    // request's URL again, after the head is complete. Http1Connection.headParts once kept both as the
    // start of the next head, so the next request on the connection, sent by this client or (behind a
    // proxy that shares connections) by another, reached the upstream as
    // '/echo?t=trailer-1/echo?t=trailer-2' carrying X-Trailer.
    const conn = await WireConnection.open(port);
    try {
      conn.send(
        `POST /echo?t=trailer-1 HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\nTrailer: X-Trailer\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer: from-request-1\r\n\r\n`,
        ['POST'],
      );
      const first = echoOf(await conn.next());
      assert.equal(first.url, '/echo?t=trailer-1');
      assert.equal(first.body, 'abc');
      conn.send(`GET /echo?t=trailer-2 HTTP/1.1\r\n${HOST}\r\n`, ['GET']);
      const second = echoOf(await conn.next());
      assert.equal(second.url, '/echo?t=trailer-2');
      assert.equal(second.headers['x-trailer'], undefined, 'a trailer of the previous request became a header of this one');
    } finally {
      conn.close();
    }
  });

  // --- heads in pieces and in parts ---

  it('reads a request sent one byte per write, head and body', async () => {
    const conn = await WireConnection.open(port);
    try {
      await conn.sendInPieces(`POST /echo?t=bytewise HTTP/1.1\r\n${HOST}X-Piecewise: one byte at a time\r\nContent-Length: 10\r\n\r\n0123456789`, 1, ['POST']);
      const echo = echoOf(await conn.next());
      assert.equal(echo.url, '/echo?t=bytewise');
      assert.equal(echo.headers['x-piecewise'], 'one byte at a time');
      assert.equal(echo.body, '0123456789');
    } finally {
      conn.close();
    }
  });

  for (const [how, pieceSize] of [
    ['in one write', 0],
    ['split across many reads', 53],
  ] as const) {
    it(`forwards a head of 80 headers and a long URL (delivered by the parser in parts) intact, ${how}`, async () => {
      const tag = `many-${pieceSize}`;
      const url = `/echo?t=${tag}&pad=${'p'.repeat(600)}`;
      let head = `GET ${url} HTTP/1.1\r\n${HOST}`;
      const expected = new Map<string, string>();
      for (let i = 0; i < 80; i++) {
        const name = `X-Many-${i}`;
        const value = `value-${i}-${'v'.repeat(i)}`;
        expected.set(name.toLowerCase(), value);
        head += `${name}: ${value}\r\n`;
        // Repeats on either side of the parser's 32-field parts, which must still be joined.
        if (i === 3) head += 'X-Repeated: first\r\nCookie: a=1\r\n';
        if (i === 70) head += 'X-Repeated: second\r\nCookie: b=2\r\n';
      }
      const conn = await WireConnection.open(port);
      try {
        if (pieceSize === 0) conn.send(`${head}\r\n`, ['GET']);
        else await conn.sendInPieces(`${head}\r\n`, pieceSize, ['GET']);
        const echo = echoOf(await conn.next());
        assert.equal(echo.url, url);
        const [arrival] = tagged(upstream, tag);
        assert.ok(arrival);
        const names = arrival.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
        assert.equal(names.filter((n) => n.startsWith('x-many-')).length, 80);
        for (const [name, value] of expected) assert.equal(arrival.headers[name], value, name);
        assert.equal(arrival.headers['x-repeated'], 'first, second');
        assert.equal(arrival.headers.cookie, 'a=1; b=2');
        assert.equal(arrival.headers.host, 'a.example.com');
      } finally {
        conn.close();
      }
    });
  }
});

describe('the http1 data path keeps response headers safe', () => {
  let upstream: Http1Upstream;
  let gw: TestPlane;
  let port: number;
  let badUpstream: net.Server;
  let bytesUpstream: net.Server;
  // Header values with bytes above 0x7f: UTF-8 text, and a lone latin1 byte.
  const highBytes = Buffer.concat([Buffer.from('caf\u00e9 \u2603', 'utf8'), Buffer.from([0x20, 0xe9, 0xff])]);

  before(async () => {
    upstream = await startHttp1Upstream();
    bytesUpstream = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.on('data', () =>
        socket.write(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nX-Text: ', 'latin1'), highBytes, Buffer.from('\r\nContent-Length: 2\r\n\r\nok', 'latin1')])),
      );
    });
    await new Promise<void>((resolve) => bytesUpstream.listen(0, '127.0.0.1', resolve));
    const bytes = cluster('bytes.default.svc.cluster.local', [{ port: (bytesUpstream.address() as net.AddressInfo).port }]);
    // An upstream whose response carries a control character in a header value.
    badUpstream = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nX-Bad: a\x01b\r\nSet-Cookie: leaked=1\r\nContent-Length: 2\r\n\r\nok', 'latin1'));
    });
    await new Promise<void>((resolve) => badUpstream.listen(0, '127.0.0.1', resolve));
    const bad = cluster('bad.default.svc.cluster.local', [{ port: (badUpstream.address() as net.AddressInfo).port }]);
    const c = cluster('web.default.svc.cluster.local', [{ port: upstream.port }]);
    // Values no compiled snapshot would carry (validation refuses them): the server must refuse them too.
    const injected = { 'x-injected': 'ok\r\nSet-Cookie: evil=1' };
    const table = routeTable('http.80', [
      vhost(['a.example.com'], [
        route('inject-value', forward([c.name]), { match: [prefix('/inject-value')], responseHeaders: ops({ set: injected }) }),
        route('inject-name', forward([c.name]), { match: [prefix('/inject-name')], responseHeaders: ops({ set: { 'x-bad\r\nset-cookie': 'evil=1' } }) }),
        route('inject-direct', { type: 'direct', status: 200, body: 'direct\n' }, { match: [prefix('/inject-direct')], responseHeaders: ops({ set: injected }) }),
        route('bad-upstream', forward([bad.name]), { match: [prefix('/bad-upstream')] }),
        route('bytes-upstream', forward([bytes.name]), { match: [prefix('/bytes-upstream')] }),
        route(
          'configured',
          forward([c.name]),
          { match: [prefix('/configured')], responseHeaders: ops({ set: { 'x-frame-options': 'DENY', 'x-upstream': 'replaced' }, add: { 'x-added': 'yes' }, remove: ['x-remove-me'] }) },
        ),
      ]),
    ]);
    gw = await startPlane(snapshot({ listeners: [httpListener(80, 'http.80')], routeTables: [table], clusters: [c, bad, bytes] }), { dataPath: 'http1' });
    port = gw.port(80);
  });

  after(async () => {
    await gw?.close();
    await upstream?.close();
    await new Promise<void>((resolve) => badUpstream?.close(() => resolve()));
    await new Promise<void>((resolve) => bytesUpstream?.close(() => resolve()));
  });

  it('passes an upstream header value with bytes above 0x7f through byte for byte', async () => {
    const conn = await WireConnection.open(port);
    try {
      conn.send(`GET /bytes-upstream HTTP/1.1\r\n${HOST}\r\n`, ['GET']);
      const res = await conn.next();
      assert.equal(res.status, 200);
      assert.equal(header(res, 'x-text'), highBytes.toString('latin1'));
      assert.ok(conn.text.includes(`\r\nx-text: ${highBytes.toString('latin1')}\r\n`), JSON.stringify(conn.text));
    } finally {
      conn.close();
    }
  });

  for (const path of ['/inject-value', '/inject-name']) {
    it(`answers 502, never a split response, when a response header it would add (${path}) carries CR LF`, async () => {
      const conn = await WireConnection.open(port);
      try {
        conn.send(`GET ${path}/echo HTTP/1.1\r\n${HOST}\r\n`, ['GET']);
        const res = await conn.next();
        assert.equal(res.status, 502);
        assert.equal(header(res, 'set-cookie'), undefined);
        assert.equal(header(res, 'x-upstream'), undefined, 'headers of the refused upstream response were sent');
        // The connection goes on (or closes); either way nothing of the refused response follows.
        const fate = await conn.fate(`GET /echo?t=after-inject HTTP/1.1\r\n${HOST}\r\n`);
        assert.equal(conn.responses.length, fate === 'open' ? 2 : 1);
        assert.doesNotMatch(conn.text, /evil/i);
        assert.equal(conn.text.match(/HTTP\/1\.1 /g)?.length, conn.responses.length);
      } finally {
        conn.close();
      }
    });
  }

  it('cuts a local reply whose configured header carries CR LF rather than split it', async () => {
    const conn = await WireConnection.open(port);
    try {
      conn.send(`GET /inject-direct HTTP/1.1\r\n${HOST}\r\n`, ['GET']);
      await conn.whenClosed();
      assert.doesNotMatch(conn.text, /evil/i);
      assert.ok(conn.responses.length <= 1, `more than one response: ${JSON.stringify(conn.text)}`);
      if (conn.responses[0]) assert.ok(conn.responses[0].status >= 500, conn.responses[0].statusLine);
    } finally {
      conn.close();
    }
  });

  it('answers 502 to an upstream response header with a control character and forwards none of it', async () => {
    const conn = await WireConnection.open(port);
    try {
      conn.send(`GET /bad-upstream HTTP/1.1\r\n${HOST}\r\n`, ['GET']);
      const res = await conn.next();
      assert.equal(res.status, 502);
      assert.equal(header(res, 'x-bad'), undefined);
      assert.equal(header(res, 'set-cookie'), undefined);
      assert.doesNotMatch(conn.text, /leaked|\x01/);
    } finally {
      conn.close();
    }
  });

  it('applies the route response header operations (set, add, remove) to the upstream response', async () => {
    const conn = await WireConnection.open(port);
    try {
      conn.send(`GET /configured HTTP/1.1\r\n${HOST}\r\n`, ['GET']);
      const res = await conn.next();
      assert.equal(res.status, 200);
      assert.equal(header(res, 'x-frame-options'), 'DENY');
      assert.equal(header(res, 'x-upstream'), 'replaced');
      assert.equal(header(res, 'x-added'), 'yes');
      assert.equal(header(res, 'x-remove-me'), undefined);
      assert.equal(JSON.parse(res.body.toString('latin1')).url, '/configured');
    } finally {
      conn.close();
    }
  });
});

describe('the http1 data path enforces its header and idle deadlines', () => {
  let upstream: Http1Upstream;
  let gw: TestPlane;
  let port: number;

  before(async () => {
    upstream = await startHttp1Upstream();
    gw = await startPlane(snapshotFor(upstream).snap, { dataPath: 'http1', edge: { headersTimeoutMs: 400, idleTimeoutMs: 400 } });
    port = gw.port(80);
  });

  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('closes a connection that sends nothing at the header deadline (with a 408 if anything)', async () => {
    const conn = await WireConnection.open(port);
    try {
      await conn.whenClosed();
      assert.ok(conn.text === '' || conn.text.startsWith('HTTP/1.1 408 '), JSON.stringify(conn.text));
    } finally {
      conn.close();
    }
  });

  it('answers 408 and closes when a head stops half-way', async () => {
    const conn = await WireConnection.open(port);
    try {
      conn.send(`GET /echo?t=half-head HTTP/1.1\r\n${HOST}X-Unfinished: `);
      const res = await conn.next();
      assert.equal(res.status, 408);
      await conn.whenClosed();
      assert.equal(tagged(upstream, 'half-head').length, 0);
    } finally {
      conn.close();
    }
  });

  it('answers 408 when the second request of a kept connection stops half-way, after the first was answered', async () => {
    const conn = await WireConnection.open(port);
    try {
      conn.send(`GET /echo?t=first-whole HTTP/1.1\r\n${HOST}\r\n`, ['GET']);
      assert.equal(echoOf(await conn.next()).url, '/echo?t=first-whole');
      conn.send(`GET /echo?t=second-half HTTP/1.1\r\n${HOST}`, ['GET']);
      assert.equal((await conn.next()).status, 408);
      await conn.whenClosed();
      assert.equal(tagged(upstream, 'second-half').length, 0);
    } finally {
      conn.close();
    }
  });

  it('does not run the header deadline of a pipelined head it leaves unread behind a slow request', async () => {
    // A regression test: with a second request queued, the connection pauses its socket; a third head
    // that began in the same read stays half-parsed while its rest waits unread in the socket. The
    // header deadline once ran on it regardless and answered 408, which read as the answer to the first
    // request. Time the server holds a message back does not count; node's server answers all three.
    const conn = await WireConnection.open(port);
    try {
      conn.send(
        `GET /gated?t=paused-1 HTTP/1.1\r\n${HOST}\r\nGET /echo?t=paused-2 HTTP/1.1\r\n${HOST}\r\nGET /echo?t=paused-3 HTTP/1.1\r\nHo`,
        ['GET', 'GET', 'GET'],
      );
      await waitFor(() => tagged(upstream, 'paused-1').length === 1, 'the slow request to reach the upstream');
      conn.send(`st: a.example.com\r\n\r\n`);
      // A connection opened now that sends nothing is closed at the header deadline: by then the third
      // head's deadline, had it been counted from its first byte, has passed as well.
      const silent = await WireConnection.open(port);
      try {
        await silent.whenClosed();
      } finally {
        silent.close();
      }
      assert.equal(conn.closed, false, `the connection was closed: ${JSON.stringify(conn.text)}`);
      assert.equal(conn.text, '');
      upstream.release();
      assert.deepEqual(
        [echoOf(await conn.next()).url, echoOf(await conn.next()).url, echoOf(await conn.next()).url],
        ['/gated?t=paused-1', '/echo?t=paused-2', '/echo?t=paused-3'],
      );
    } finally {
      upstream.release();
      conn.close();
    }
  });

  it('closes an idle keep-alive connection at the idle deadline, but not one waiting for its answer', async () => {
    const busy = await WireConnection.open(port);
    const idle = await WireConnection.open(port);
    try {
      busy.send(`GET /gated?t=busy HTTP/1.1\r\n${HOST}\r\n`, ['GET']);
      await waitFor(() => tagged(upstream, 'busy').length === 1, 'the busy request to reach the upstream');
      // Started after the busy one: by the time its idle deadline has closed it, the busy connection has
      // been without a byte for longer than that.
      idle.send(`GET /echo?t=idle HTTP/1.1\r\n${HOST}\r\n`, ['GET']);
      assert.equal(echoOf(await idle.next()).url, '/echo?t=idle');
      await idle.whenClosed();
      assert.equal(idle.responses.length, 1, `bytes after the response: ${JSON.stringify(idle.text)}`);
      assert.equal(busy.closed, false, 'a connection waiting for its response was closed as idle');
      assert.equal(busy.text, '');
      upstream.release();
      assert.equal(echoOf(await busy.next()).url, '/gated?t=busy');
      // Now idle itself: closed in turn.
      await busy.whenClosed();
      assert.equal(busy.responses.length, 1);
    } finally {
      upstream.release();
      busy.close();
      idle.close();
    }
  });
});

describe('the node data path (the fallback) still serves', () => {
  it('answers a GET and forwards a POST body through node\'s own server', async () => {
    const upstream = await startHttp1Upstream();
    const gw = await startPlane(snapshotFor(upstream).snap, { dataPath: 'node' });
    try {
      const got = await request({ port: gw.port(80), path: '/cl', host: 'a.example.com' });
      assert.equal(got.status, 200);
      assert.equal(got.body, CL_BODY);
      const posted = await request({ port: gw.port(80), path: '/echo?t=node', method: 'POST', host: 'a.example.com', body: 'node-body' });
      assert.equal(posted.status, 200);
      assert.equal((JSON.parse(posted.body) as EchoBody).body, 'node-body');
      assert.equal(tagged(upstream, 'node').length, 1);
    } finally {
      await gw.close();
      await upstream.close();
    }
  });
});
