// Gatehouse's own HTTP/1 server (the 'http1' data path) answers exactly as node's server (the 'node'
// data path) did: the same raw request bytes, sent to two gateways with the same snapshot in front of
// the same upstream, get the same status lines, the same header lines in the same order (but Date and
// the upstream service time), the same body framing and body, and the same fate of the connection
// (kept for another request, or closed). Each case also states what the answer must be, so the two
// cannot agree on a wrong one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPlane, type TestPlane } from './support/plane.js';
import { cluster, forward, httpListener, prefix, route, routeTable, snapshot, vhost } from './support/snapshot-builder.js';
import { CL_BODY, NOCL_PARTS, startHttp1Upstream, UPSTREAM_DATE, type Http1Upstream } from './support/http1-upstream.js';
import { header, headerValues, WireConnection, type Framing, type WireResponse } from './support/http1-wire.js';

const HOST = 'Host: a.example.com\r\n';
const PROBE = `GET /cl HTTP/1.1\r\n${HOST}\r\n`;
/** Header lines whose values differ between any two answers, whoever sends them (compared by place only). */
const VARYING = new Set(['date', 'x-envoy-upstream-service-time']);
/** Where the servers differ on purpose: the keep-alive decision's lines. */
const KEEP_ALIVE_LINES = new Set(['connection', 'keep-alive']);

interface Expected {
  readonly status: number;
  readonly framing: Framing;
  readonly body?: string;
  /** Header values that must be there (name → value), or absent (name → undefined). */
  readonly headers?: Record<string, string | undefined>;
}

interface Case {
  readonly name: string;
  readonly bytes: string;
  readonly methods: string[];
  readonly expected: Expected[];
  readonly fate: 'open' | 'closed';
  /** The servers differ on the keep-alive decision on purpose: the http1 answer is asserted alone there. */
  readonly keepAliveDiffers?: boolean;
}

interface Outcome {
  readonly responses: Array<{ statusLine: string; headers: Array<[string, string]>; framing: Framing; body: string }>;
  readonly fate: 'open' | 'closed';
}

const cases: Case[] = [
  {
    name: 'HTTP/1.1 GET: a Content-Length body and the connection kept',
    bytes: `GET /cl HTTP/1.1\r\n${HOST}\r\n`,
    methods: ['GET'],
    expected: [{ status: 200, framing: 'length', body: CL_BODY, headers: { connection: 'keep-alive', 'x-upstream': 'u' } }],
    fate: 'open',
  },
  {
    name: 'HTTP/1.1 HEAD: no body, the upstream Content-Length kept',
    bytes: `HEAD /cl HTTP/1.1\r\n${HOST}\r\n`,
    methods: ['HEAD'],
    expected: [{ status: 200, framing: 'none', headers: { 'content-length': String(CL_BODY.length), 'transfer-encoding': undefined } }],
    fate: 'open',
  },
  {
    name: 'HTTP/1.0 GET without keep-alive, upstream Content-Length: Content-Length and Connection: close',
    bytes: `GET /cl HTTP/1.0\r\n${HOST}\r\n`,
    methods: ['GET'],
    expected: [{ status: 200, framing: 'length', body: CL_BODY, headers: { connection: 'close' } }],
    fate: 'closed',
  },
  {
    name: 'HTTP/1.0 GET without keep-alive, no upstream Content-Length: close-delimited',
    bytes: `GET /nocl HTTP/1.0\r\n${HOST}\r\n`,
    methods: ['GET'],
    expected: [{ status: 200, framing: 'close', body: NOCL_PARTS.join(''), headers: { connection: 'close', 'transfer-encoding': undefined } }],
    fate: 'closed',
  },
  {
    name: 'HTTP/1.0 Connection: keep-alive with an upstream Content-Length: the connection stays open',
    bytes: `GET /cl HTTP/1.0\r\n${HOST}Connection: keep-alive\r\n\r\n`,
    methods: ['GET'],
    expected: [{ status: 200, framing: 'length', body: CL_BODY, headers: { connection: 'keep-alive' } }],
    fate: 'open',
  },
  {
    name: 'HTTP/1.0 Connection: keep-alive without an upstream Content-Length: close-delimited, then closed',
    bytes: `GET /nocl HTTP/1.0\r\n${HOST}Connection: keep-alive\r\n\r\n`,
    methods: ['GET'],
    expected: [{ status: 200, framing: 'close', body: NOCL_PARTS.join(''), headers: { connection: 'close' } }],
    fate: 'closed',
  },
  {
    name: 'HTTP/1.1 GET, upstream without Content-Length: chunked to the client, connection kept',
    bytes: `GET /nocl HTTP/1.1\r\n${HOST}\r\n`,
    methods: ['GET'],
    expected: [{ status: 200, framing: 'chunked', body: NOCL_PARTS.join(''), headers: { 'transfer-encoding': 'chunked', 'content-length': undefined } }],
    fate: 'open',
  },
  {
    name: '204 from the upstream: no body, no framing header, connection kept',
    bytes: `GET /204 HTTP/1.1\r\n${HOST}\r\n`,
    methods: ['GET'],
    expected: [{ status: 204, framing: 'none', headers: { 'transfer-encoding': undefined, 'content-length': undefined, 'x-upstream': 'u' } }],
    fate: 'open',
  },
  {
    name: '304 from the upstream: no body, its ETag kept, connection kept',
    bytes: `GET /304 HTTP/1.1\r\n${HOST}If-None-Match: "v1"\r\n\r\n`,
    methods: ['GET'],
    expected: [{ status: 304, framing: 'none', headers: { etag: '"v1"', 'transfer-encoding': undefined } }],
    fate: 'open',
  },
  {
    name: 'the upstream Date kept (no second one), repeated Set-Cookie kept apart, an unknown status chunked',
    bytes: `GET /dated HTTP/1.1\r\n${HOST}\r\n`,
    methods: ['GET'],
    expected: [{ status: 299, framing: 'chunked', body: CL_BODY, headers: { date: UPSTREAM_DATE, 'set-cookie': 'a=1; Path=/' } }],
    fate: 'open',
  },
  {
    name: 'Connection: close from the client: answered with Connection: close, then closed',
    bytes: `GET /cl HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`,
    methods: ['GET'],
    expected: [{ status: 200, framing: 'length', body: CL_BODY, headers: { connection: 'close' } }],
    fate: 'closed',
  },
  {
    name: 'POST with a Content-Length body: answered, connection kept',
    bytes: `POST /cl HTTP/1.1\r\n${HOST}Content-Length: 11\r\n\r\nhello world`,
    methods: ['POST'],
    expected: [{ status: 200, framing: 'length', body: CL_BODY }],
    fate: 'open',
  },
  {
    name: 'local reply: 404 for a host no route serves',
    bytes: `GET /cl HTTP/1.1\r\nHost: nowhere.example.com\r\n\r\n`,
    methods: ['GET'],
    expected: [{ status: 404, framing: 'length', body: '', headers: { server: 'istio-envoy', 'content-length': '0' } }],
    fate: 'open',
  },
  {
    name: 'local reply: a 301 redirect',
    bytes: `GET /old?q=1 HTTP/1.1\r\n${HOST}\r\n`,
    methods: ['GET'],
    expected: [{ status: 301, framing: 'length', body: '', headers: { location: 'http://a.example.com/new?q=1' } }],
    fate: 'open',
  },
  {
    name: 'local reply: a direct response with a body',
    bytes: `GET /direct HTTP/1.1\r\n${HOST}\r\n`,
    methods: ['GET'],
    expected: [{ status: 200, framing: 'length', body: 'direct answer\n', headers: { 'content-type': 'text/plain' } }],
    fate: 'open',
  },
  {
    name: 'local reply to HTTP/1.0 without keep-alive: Content-Length and Connection: close',
    bytes: `GET /cl HTTP/1.0\r\nHost: nowhere.example.com\r\n\r\n`,
    methods: ['GET'],
    expected: [{ status: 404, framing: 'length', body: '', headers: { connection: 'close' } }],
    fate: 'closed',
  },
  {
    name: 'three pipelined requests (GET, HEAD, chunked GET) in one write',
    bytes: `GET /cl HTTP/1.1\r\n${HOST}\r\nHEAD /nocl HTTP/1.1\r\n${HOST}\r\nGET /nocl HTTP/1.1\r\n${HOST}\r\n`,
    methods: ['GET', 'HEAD', 'GET'],
    expected: [
      { status: 200, framing: 'length', body: CL_BODY },
      { status: 200, framing: 'none' },
      { status: 200, framing: 'chunked', body: NOCL_PARTS.join('') },
    ],
    fate: 'open',
  },
  {
    // A regression case: node's parser reports a chunked body's trailer fields through kOnHeaders, with
    // the request's URL again, after the head is complete; Gatehouse's connection once kept them as the
    // start of the NEXT head, whose URL became '/cl/nocl' and whose headers gained X-Trailer.
    name: 'a chunked request body with trailers, then another request on the connection: each answered as sent',
    bytes: `POST /cl HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer: v\r\n\r\nGET /nocl HTTP/1.1\r\n${HOST}\r\n`,
    methods: ['POST', 'GET'],
    expected: [
      { status: 200, framing: 'length', body: CL_BODY },
      { status: 200, framing: 'chunked', body: NOCL_PARTS.join('') },
    ],
    fate: 'open',
  },
  {
    // node's server keeps an HTTP/1.0 connection only when the response has a Content-Length (or is
    // chunked for a client that sent TE: chunked), even when the response can have no body at all.
    // Gatehouse's keeps it for a bodiless response too: a 204 is framed by its status alone, so the
    // next request cannot be mistaken for body bytes, and the client asked to keep the connection.
    name: 'HTTP/1.0 Connection: keep-alive, 204 from the upstream: kept open (node closes)',
    bytes: `GET /204 HTTP/1.0\r\n${HOST}Connection: keep-alive\r\n\r\n`,
    methods: ['GET'],
    expected: [{ status: 204, framing: 'none', headers: { connection: 'keep-alive' } }],
    fate: 'open',
    keepAliveDiffers: true,
  },
  {
    // As for the 204: a HEAD response has no body whatever its headers say, so it needs no
    // Content-Length to keep an HTTP/1.0 keep-alive connection; node closes it.
    name: 'HTTP/1.0 Connection: keep-alive, HEAD answered without Content-Length: kept open (node closes)',
    bytes: `HEAD /nocl HTTP/1.0\r\n${HOST}Connection: keep-alive\r\n\r\n`,
    methods: ['HEAD'],
    expected: [{ status: 200, framing: 'none', headers: { connection: 'keep-alive', 'content-length': undefined } }],
    fate: 'open',
    keepAliveDiffers: true,
  },
];

describe('the http1 data path answers raw requests as the node data path does', () => {
  let upstream: Http1Upstream;
  let http1: TestPlane;
  let node: TestPlane;

  before(async () => {
    upstream = await startHttp1Upstream();
    const c = cluster('web.default.svc.cluster.local', [{ port: upstream.port }]);
    const table = routeTable('http.80', [
      vhost(['a.example.com'], [
        route('redirect', { type: 'redirect', uri: '/new', code: 301 }, { match: [prefix('/old')] }),
        route('direct', { type: 'direct', status: 200, body: 'direct answer\n' }, { match: [prefix('/direct')] }),
        route('web', forward([c.name])),
      ]),
    ]);
    const snap = snapshot({ listeners: [httpListener(80, 'http.80')], routeTables: [table], clusters: [c] });
    http1 = await startPlane(snap, { dataPath: 'http1' });
    node = await startPlane(snap, { dataPath: 'node' });
  });

  after(async () => {
    await http1?.close();
    await node?.close();
    await upstream?.close();
  });

  for (const c of cases) {
    it(c.name, async () => {
      const mine = await exchange(http1.port(80), c);
      const theirs = await exchange(node.port(80), c);
      if (c.keepAliveDiffers) assert.deepEqual(withoutKeepAlive(mine), withoutKeepAlive(theirs), 'the answers differ beyond the keep-alive decision');
      else assert.deepEqual(mine, theirs, 'the http1 and node data paths answer differently');
      assertExpected(mine, c);
    });
  }
});

/** Sends a case's bytes on a fresh connection and reads its answers and the connection's fate. */
async function exchange(port: number, c: Case): Promise<Outcome> {
  const conn = await WireConnection.open(port);
  try {
    conn.send(c.bytes, c.methods);
    const responses: WireResponse[] = [];
    for (let i = 0; i < c.expected.length; i++) responses.push(await conn.next());
    const fate = await conn.fate(PROBE);
    // Nothing beyond the answers and the probe's: a server must not answer twice.
    assert.equal(conn.responses.length, c.expected.length + (fate === 'open' ? 1 : 0), `unexpected extra bytes: ${JSON.stringify(conn.text)}`);
    return {
      responses: responses.map((r) => ({
        statusLine: r.statusLine,
        headers: r.headers.map(([n, v]) => [n, VARYING.has(n.toLowerCase()) && v !== UPSTREAM_DATE ? '*' : v] as [string, string]),
        framing: r.framing,
        body: r.body.toString('latin1'),
      })),
      fate,
    };
  } finally {
    conn.close();
  }
}

function withoutKeepAlive(o: Outcome): unknown {
  return o.responses.map((r) => ({ ...r, headers: r.headers.filter(([n]) => !KEEP_ALIVE_LINES.has(n.toLowerCase())) }));
}

function assertExpected(o: Outcome, c: Case): void {
  assert.equal(o.responses.length, c.expected.length);
  c.expected.forEach((e, i) => {
    const r = o.responses[i] as Outcome['responses'][number];
    assert.equal(r.statusLine.split(' ')[1], String(e.status), `response ${i + 1} status`);
    assert.equal(r.framing, e.framing, `response ${i + 1} framing`);
    if (e.body !== undefined) assert.equal(r.body, e.body, `response ${i + 1} body`);
    else if (e.framing === 'none') assert.equal(r.body, '');
    const wire = { headers: r.headers } as unknown as WireResponse;
    // One Date on every final response: the server's own, or the upstream's kept (never both).
    if (e.status >= 200) assert.equal(headerValues(wire, 'date').length, 1, `response ${i + 1}: Date lines`);
    for (const [name, value] of Object.entries(e.headers ?? {})) assert.equal(header(wire, name), value, `response ${i + 1} header ${name}`);
  });
  assert.equal(o.fate, c.fate, 'the connection fate');
}
