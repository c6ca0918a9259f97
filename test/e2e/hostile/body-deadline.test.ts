// The per-route request-body deadline (VirtualService annotation gatehouse.io/request-body-timeout): a
// body not whole by then gets 408 and a closed connection, and the upstream request is cut so the
// upstream never sees a complete body, however steadily the client trickles. Routes without the
// annotation keep only the edge's --request-timeout.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { GATEHOUSE_BIN, makeConfigDir } from '../../support/gateway-process.js';
import { waitFor } from '../../support/wait.js';
import { gatewayYaml } from '../manifests.js';
import { HOST, startHostileFixture, type HostileFixture } from './fixture.js';
import { sendRaw, statuses } from './raw-client.js';

const SLOW_HOST = 'upload.example.com';

function deadlineVs(value: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: upload
  namespace: default
  annotations:
    gatehouse.io/request-body-timeout: "${value}"
spec:
  hosts: [${SLOW_HOST}]
  gateways: [istio-system/edge]
  http:
  - route:
    - destination: { host: web.internal }
`;
}

let f: HostileFixture;

before(async () => {
  f = await startHostileFixture({ extraFiles: { 'upload.yaml': deadlineVs('1s') } });
});

after(async () => {
  await f?.stop();
});

/**
 * Sends the head of a `bytes`-long body, then one body byte every `everyMs` (at most `bytes - 1`, so
 * the body never completes unless `complete`), and collects the answer until the gateway closes or
 * `waitMs` passes.
 */
function trickle(host: string, path: string, { bytes, everyMs, complete, waitMs }: { bytes: number; everyMs: number; complete: boolean; waitMs: number }): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(f.port, '127.0.0.1');
    let text = '';
    let sent = 0;
    const toSend = complete ? bytes : bytes - 1;
    const finish = (closed: boolean) => {
      clearInterval(ticker);
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    const ticker = setInterval(() => {
      if (sent >= toSend || socket.destroyed) return;
      socket.write('x');
      sent++;
    }, everyMs);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.write(`POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${bytes}\r\n\r\n`);
  });
}

test('a body still trickling in at the route deadline gets 408, a closed connection, and the upstream never sees it whole', async () => {
  const cutBefore = f.upstream.incompleteBodies;
  // 100 ms per byte for 60 bytes: the client never stalls, but the whole body would take 6 s.
  const answer = await trickle(SLOW_HOST, '/trickle', { bytes: 60, everyMs: 100, complete: true, waitMs: 5000 });
  assert.deepEqual(statuses(answer.text), [408], answer.text);
  assert.equal(answer.closed, true, 'the connection stayed open after the 408');
  assert.equal(f.upstream.requests.filter((r) => r.head.includes('/trickle')).length, 0, 'the upstream received a complete request');
  await waitFor(() => f.upstream.incompleteBodies > cutBefore, { what: 'the upstream request to be cut short' });
});

test('a body that stops arriving gets 408 at the route deadline, not at the edge request timeout', async () => {
  const answer = await trickle(SLOW_HOST, '/stalled', { bytes: 10, everyMs: 20, complete: false, waitMs: 5000 });
  assert.deepEqual(statuses(answer.text), [408], answer.text);
  assert.equal(answer.closed, true);
  assert.equal(f.upstream.requests.filter((r) => r.head.includes('/stalled')).length, 0);
});

test('a body that arrives in time on the route is forwarded whole', async () => {
  const answer = await sendRaw(f.port, `POST /in-time HTTP/1.1\r\nHost: ${SLOW_HOST}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`);
  assert.deepEqual(statuses(answer.text), [200], answer.text);
  const forwarded = f.upstream.requests.find((r) => r.head.includes('/in-time'));
  assert.equal(forwarded?.body.toString(), 'hello');
});

test('a route without the annotation lets a slow body finish past the other route\'s deadline', async () => {
  // 15 bytes at 100 ms: 1.5 s, past the annotated route's 1 s, far below the edge's 300 s.
  const answer = await trickle(HOST, '/slow-ok', { bytes: 15, everyMs: 100, complete: true, waitMs: 8000 });
  assert.deepEqual(statuses(answer.text), [200], answer.text);
  assert.equal(f.upstream.requests.find((r) => r.head.includes('/slow-ok'))?.body.length, 15);
});

test('a request-body-timeout that is not a duration is reported with its code, file and line', () => {
  const dir = makeConfigDir({ 'gateway.yaml': gatewayYaml('edge', [{ port: 8080, protocol: 'HTTP' }]), 'upload.yaml': deadlineVs('soon') });
  const r = spawnSync(process.execPath, [GATEHOUSE_BIN, 'validate', dir], { encoding: 'utf8', timeout: 30_000 });
  const text = r.stdout + r.stderr;
  assert.match(text, /upload\.yaml:7:\d+: GH_CFG_VALUE/, text);
  assert.match(text, /request-body-timeout/);
});
