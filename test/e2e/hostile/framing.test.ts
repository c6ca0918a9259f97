// Request smuggling and syntax tricks sent as exact bytes to the real gateway: each ambiguous request
// gets 400 (501 for an unknown transfer coding), the connection is closed, and neither it nor a second
// request hidden behind it reaches the upstream, which records every byte it receives.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startHostileFixture, HOST, type HostileFixture } from './fixture.js';
import { sendRaw, statuses } from './raw-client.js';

let f: HostileFixture;
before(async () => {
  f = await startHostileFixture();
});
after(async () => {
  await f?.stop();
});

const HIDDEN = `GET /hidden HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;

// `streamed`: the error is in the body, after the head was valid; the head may already be on its way
// upstream (bodies are streamed, as by Envoy), but the upstream never receives a complete request.
const refused: Array<{ name: string; bytes: string; status: number; streamed?: boolean }> = [
  { name: 'Content-Length with Transfer-Encoding', status: 400, bytes: `POST /s HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${HIDDEN}` },
  { name: 'duplicate Content-Length (different)', status: 400, bytes: `POST /s HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd${HIDDEN}` },
  { name: 'duplicate Content-Length (equal)', status: 400, bytes: `POST /s HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd${HIDDEN}` },
  { name: 'Content-Length list', status: 400, bytes: `POST /s HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 4, 4\r\n\r\nabcd${HIDDEN}` },
  { name: 'signed Content-Length', status: 400, bytes: `POST /s HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: +4\r\n\r\nabcd${HIDDEN}` },
  { name: 'hex Content-Length', status: 400, bytes: `POST /s HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 0x4\r\n\r\nabcd${HIDDEN}` },
  { name: 'Transfer-Encoding not ending in chunked', status: 400, bytes: `POST /s HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n${HIDDEN}` },
  { name: 'Transfer-Encoding with an unknown coding', status: 501, bytes: `POST /s HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n${HIDDEN}` },
  { name: 'Transfer-Encoding: identity', status: 400, bytes: `POST /s HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: identity\r\nContent-Length: 0\r\n\r\n${HIDDEN}` },
  { name: 'Transfer-Encoding twice', status: 400, bytes: `POST /s HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${HIDDEN}` },
  { name: 'Transfer-Encoding with a space before the colon', status: 400, bytes: `POST /s HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n${HIDDEN}` },
  { name: 'Transfer-Encoding obfuscated with a vertical tab', status: 400, bytes: `POST /s HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n${HIDDEN}` },
  { name: 'HTTP/1.0 with Transfer-Encoding', status: 400, bytes: `POST /s HTTP/1.0\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${HIDDEN}` },
  { name: 'bad chunk size', status: 400, bytes: `POST /s HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabcd\r\n0\r\n\r\n${HIDDEN}` },
  { name: 'chunk size overflow', status: 400, bytes: `POST /s HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nabcd\r\n0\r\n\r\n${HIDDEN}` },
  { name: 'chunk line ending in bare LF', status: 400, bytes: `POST /s HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n4\nabcd\n0\n\n${HIDDEN}` },
  { name: 'chunk data longer than its size', status: 400, streamed: true, bytes: `POST /s HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n${HIDDEN}` },
  { name: 'obs-fold continuation line', status: 400, bytes: `GET /s HTTP/1.1\r\nHost: ${HOST}\r\nX-Folded: a\r\n b\r\n\r\n${HIDDEN}` },
  { name: 'header line ending in bare LF', status: 400, bytes: `GET /s HTTP/1.1\r\nHost: ${HOST}\nX-A: b\r\n\r\n${HIDDEN}` },
  { name: 'NUL in a header value', status: 400, bytes: `GET /s HTTP/1.1\r\nHost: ${HOST}\r\nX-A: a\x00b\r\n\r\n${HIDDEN}` },
  { name: 'bare CR in a header value', status: 400, bytes: `GET /s HTTP/1.1\r\nHost: ${HOST}\r\nX-A: a\rb\r\n\r\n${HIDDEN}` },
  { name: 'space in a header name', status: 400, bytes: `GET /s HTTP/1.1\r\nHost: ${HOST}\r\nX A: b\r\n\r\n${HIDDEN}` },
  { name: 'space in the request target', status: 400, bytes: `GET /a b HTTP/1.1\r\nHost: ${HOST}\r\n\r\n${HIDDEN}` },
  { name: 'HTTP/0.9 request line', status: 400, bytes: `GET /s\r\n\r\n${HIDDEN}` },
  { name: 'unknown HTTP version', status: 400, bytes: `GET /s HTTP/1.2\r\nHost: ${HOST}\r\n\r\n${HIDDEN}` },
  { name: 'two Host headers', status: 400, bytes: `GET /s HTTP/1.1\r\nHost: ${HOST}\r\nHost: other.example.com\r\n\r\n${HIDDEN}` },
  { name: 'absolute-form target whose authority differs from Host', status: 400, bytes: `GET http://${HOST}/s HTTP/1.1\r\nHost: other.example.com\r\n\r\n${HIDDEN}` },
  { name: 'header name with an underscore', status: 400, bytes: `GET /s HTTP/1.1\r\nHost: ${HOST}\r\nX_Forwarded_For: 1.2.3.4\r\n\r\n${HIDDEN}` },
];

// Each case's target is its own (`/s` becomes `/s-N`): a streamed case's valid head may reach the upstream
// after its test has ended, and must not be counted against the next one.
const OTHER_CASE = /^[A-Z]+ \S*\/s-\d+ /;

refused.forEach((c, n) => {
  test(`${c.name}: ${c.status}, connection closed, nothing reaches the upstream`, async () => {
    const heads = f.upstream.heads.length;
    const requests = f.upstream.requests.length;
    const own = `/s-${n} `;
    const answer = await sendRaw(f.port, c.bytes.replace('/s', `/s-${n}`));
    assert.deepEqual(statuses(answer.text), [c.status], `answer: ${JSON.stringify(answer.text.slice(0, 200))}`);
    assert.ok(answer.closed, 'the gateway closes the connection');
    const received = f.upstream.heads.slice(heads).filter((h) => !OTHER_CASE.test(h) || h.includes(own));
    if (c.streamed) {
      assert.equal(f.upstream.requests.length, requests, 'no complete request reached the upstream');
      assert.ok(received.length <= 1 && !received.some((h) => h.includes('/hidden')), `upstream received: ${JSON.stringify(received)}`);
    } else assert.deepEqual(received, [], 'nothing reached the upstream');
  });
});

test('a well-formed pipelined pair reaches the upstream as two requests (the baseline)', async () => {
  const heads = f.upstream.heads.length;
  const answer = await sendRaw(f.port, `GET /one HTTP/1.1\r\nHost: ${HOST}\r\n\r\nGET /two HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`);
  assert.deepEqual(statuses(answer.text), [200, 200]);
  const got = f.upstream.heads.slice(heads).map((h) => h.split(' ')[1]);
  assert.deepEqual(got, ['/one', '/two']);
});

test('a chunked body is forwarded with exactly the bytes the client sent', async () => {
  const requests = f.upstream.requests.length;
  const answer = await sendRaw(f.port, `POST /body HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n`);
  assert.deepEqual(statuses(answer.text), [200]);
  const got = f.upstream.requests.slice(requests);
  assert.equal(got.length, 1);
  assert.equal(got[0]?.body.toString(), 'abcdefg');
});

test('garbage behind a request waits for that request\'s answer: the 400 is never taken for it', async () => {
  // The first request is fine and slow to answer; the bytes after it are garbage. Nothing may answer
  // the first request but its upstream: no 400 in its place, no second request upstream.
  const heads = f.upstream.heads.length;
  const answer = await sendRaw(f.port, `GET /fault/hang HTTP/1.1\r\nHost: ${HOST}\r\n\r\nGARBAGE\x00\r\n\r\n`, { waitMs: 1500 });
  assert.deepEqual(statuses(answer.text), [], `answers: ${JSON.stringify(answer.text)}`);
  assert.ok(f.upstream.heads.length - heads <= 1);
});

test('garbage behind a request is refused after that request\'s answer, and the connection closes', async () => {
  const heads = f.upstream.heads.length;
  const answer = await sendRaw(f.port, `GET /first HTTP/1.1\r\nHost: ${HOST}\r\n\r\nGARBAGE\x00\r\n\r\n`);
  assert.deepEqual(statuses(answer.text), [200, 400], `answers: ${JSON.stringify(answer.text)}`);
  assert.ok(answer.closed);
  assert.deepEqual(f.upstream.heads.slice(heads).map((h) => h.split(' ')[1]).filter((p) => p !== '/fault/hang'), ['/first']);
});

test('a pipelined flood behind a waiting request cuts the connection: the waiting ones never reach the upstream', async () => {
  // One read holds the first request (never answered) and 100 more: more than the 64 a connection may
  // have waiting. The gateway must not queue them all, and none of them may be forwarded.
  const heads = f.upstream.heads.length;
  const flood = Array.from({ length: 100 }, (_, i) => `GET /queued-${i} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`).join('');
  const answer = await sendRaw(f.port, `GET /fault/hang HTTP/1.1\r\nHost: ${HOST}\r\n\r\n${flood}`, { waitMs: 5000 });
  assert.ok(answer.closed, 'the gateway cuts the connection');
  assert.deepEqual(statuses(answer.text), []);
  assert.ok(!f.upstream.heads.slice(heads).some((h) => h.includes('/queued-')), 'a queued request reached the upstream');
});

test('pipelined requests within the limit are all answered, in order', async () => {
  const heads = f.upstream.heads.length;
  const burst = Array.from({ length: 40 }, (_, i) => `GET /burst-${i} HTTP/1.1\r\nHost: ${HOST}\r\n${i === 39 ? 'Connection: close\r\n' : ''}\r\n`).join('');
  const answer = await sendRaw(f.port, burst, { waitMs: 10_000 });
  assert.deepEqual(statuses(answer.text), Array.from({ length: 40 }, () => 200));
  // Earlier tests' /fault/hang heads may reach the upstream late: only this test's own are compared.
  const got = f.upstream.heads.slice(heads).map((h) => h.split(' ')[1]).filter((p) => p?.startsWith('/burst-'));
  assert.deepEqual(got, Array.from({ length: 40 }, (_, i) => `/burst-${i}`));
});
