// Upstreams that break, driven through the real gateway: each failure is an Envoy-style status and
// response flag, a response cut mid-body is never presented to the client as complete, and a client
// that goes away mid-upload never lets the upstream see a complete body.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { closedPort } from '../../gateway/support/upstream.js';
import { waitFor } from '../../support/wait.js';
import { serviceEntryYaml } from '../manifests.js';
import { startHostileFixture, HOST, type HostileFixture } from './fixture.js';
import { sendRaw, statuses } from './raw-client.js';

let f: HostileFixture;
before(async () => {
  const refusedPort = await closedPort();
  f = await startHostileFixture({
    routesBefore: `  - match:
    - uri: { prefix: /refused }
    route:
    - destination: { host: refused.internal }
`,
    routeExtra: '    timeout: 1s\n',
    extraFiles: { 'refused.yaml': serviceEntryYaml('refused', 'refused.internal', [{ port: refusedPort }]) },
  });
});
after(async () => {
  await f?.stop();
});

/** The access-log line of the request whose path is `path` (text format: `"GET /path HTTP/1.1" status flags`). */
async function accessLine(path: string): Promise<string> {
  let line: string | undefined;
  await waitFor(() => (line = f.gw.stdout().split('\n').find((l) => l.includes(` ${path} HTTP/1.1"`))) !== undefined, { timeoutMs: 5000, what: `access log for ${path}` });
  return line as string;
}

async function statusAndFlag(path: string): Promise<[number | undefined, string]> {
  const answer = await sendRaw(f.port, `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`, { waitMs: 8000 });
  const line = await accessLine(path);
  const m = /" (\d{3}) (\S+) /.exec(line);
  return [statuses(answer.text)[0], m?.[2] ?? `unparsed: ${line}`];
}

test('connection refused: 503 UF', async () => {
  const [status, flags] = await statusAndFlag('/refused/x');
  assert.equal(status, 503);
  assert.match(flags, /UF/);
});

test('reset before any response byte: 503 UR/UC', async () => {
  const [status, flags] = await statusAndFlag('/fault/reset-early');
  assert.equal(status, 503);
  assert.match(flags, /U[RC]/);
});

test('hung upstream: 504 UT at the route timeout', async () => {
  const [status, flags] = await statusAndFlag('/fault/hang');
  assert.equal(status, 504);
  assert.match(flags, /UT/);
});

test('conflicting response framing (Content-Length and Transfer-Encoding): 502 UPE', async () => {
  const [status, flags] = await statusAndFlag('/fault/bad-framing');
  assert.equal(status, 502);
  assert.match(flags, /UPE/);
});

test('reset mid-body: the client sees no terminating chunk and a closed connection', async () => {
  const answer = await sendRaw(f.port, `GET /fault/reset-mid HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, { waitMs: 5000 });
  assert.deepEqual(statuses(answer.text), [200], 'the response had started');
  assert.match(answer.text, /hello/);
  assert.ok(!answer.text.endsWith('0\r\n\r\n'), `presented as complete: ${JSON.stringify(answer.text)}`);
  assert.ok(answer.closed, 'the connection is closed, not kept alive');
});

test('an upload cut off midway never reaches the upstream as a complete body', async () => {
  const requests = f.upstream.requests.length;
  const incomplete = f.upstream.incompleteBodies;
  const socket = net.connect(f.port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(`POST /upload HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(400)}`);
  await waitFor(() => f.upstream.heads.some((h) => h.startsWith('POST /upload ')), { timeoutMs: 5000, what: 'the upload to start upstream' });
  socket.destroy();
  await waitFor(() => f.upstream.incompleteBodies > incomplete, { timeoutMs: 5000, what: 'the upstream request to be aborted' });
  assert.equal(f.upstream.requests.length, requests, 'no complete request reached the upstream');
});
