// SIGTERM drains: readiness turns 503, listeners stop accepting, the request in flight completes, exit 0.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { request } from '../support/client.js';
import { makeConfigDir, startGateway } from '../support/gateway-process.js';
import { freePort } from '../support/ports.js';
import { startEchoUpstream } from '../support/upstream.js';
import { waitFor } from '../support/wait.js';
import { gatewayYaml, serviceEntryYaml } from './manifests.js';

test('SIGTERM lets an in-flight request finish, refuses new connections, and exits 0', async () => {
  let arrived = false;
  const slow = await startEchoUpstream('slow', { delayMs: 1500, onRequest: () => (arrived = true) });
  const port = await freePort();
  const gw = await startGateway(
    makeConfigDir({
      'gateway.yaml': gatewayYaml('edge', [{ port, protocol: 'HTTP' }]),
      'se.yaml': serviceEntryYaml('slow', 'slow.internal', [{ port: slow.port }]),
      'vs.yaml': `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: slow, namespace: default }
spec:
  hosts: ["*"]
  gateways: [istio-system/edge]
  http:
  - route:
    - destination: { host: slow.internal }
`,
    }),
    { args: ['--drain-timeout', '10s'] },
  );
  try {
    const inFlight = request({ port, authority: 'slow.example.com', path: '/slow', timeoutMs: 10_000 });
    await waitFor(() => arrived, { what: 'the request to reach the upstream' });
    gw.child.kill('SIGTERM');
    await waitFor(async () => (await request({ port: gw.statusPort, path: '/healthz/ready' }).catch(() => ({ status: 0 }))).status !== 200, {
      what: 'readiness to fail',
    });
    const r = await inFlight;
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-upstream'], 'slow');
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', () => resolve(true));
    });
    assert.ok(refused, 'no new connections are accepted while draining');
    assert.equal(await gw.exited, 0);
  } finally {
    await gw.stop();
    await slow.close();
  }
});
