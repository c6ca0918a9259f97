// A gateway that serves requests in its own process (--workers 1) never forces a full collection: after
// one, node's process.nextTick built its tick objects through V8's runtime for good (cli/heap-settle.ts).
// Only a primary that serves nothing settles its heap (test/e2e/workers-delta.test.ts has that side).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from '../support/client.js';
import { makeConfigDir, startGateway } from '../support/gateway-process.js';
import { freePort } from '../support/ports.js';
import { startEchoUpstream } from '../support/upstream.js';
import { gatewayYaml, routeAllYaml, serviceEntryYaml } from './manifests.js';

test('a single-process gateway serves without ever forcing a full collection', async () => {
  const upstream = await startEchoUpstream('single');
  const port = await freePort();
  const gw = await startGateway(
    makeConfigDir({
      'gateway.yaml': gatewayYaml('edge', [{ port, protocol: 'HTTP' }]),
      'services.yaml': serviceEntryYaml('app', 'app.internal', [{ port: upstream.port }]),
      'vs.yaml': routeAllYaml('app.internal'),
    }),
    { args: ['--workers', '1', '--log-level', 'debug'] },
  );
  try {
    // A settle is scheduled for the turn after the first publish, long before a request can be answered.
    const reply = await request({ port, authority: 'any.example.com', path: '/x' });
    assert.equal(reply.status, 200);
    assert.match(gw.stderr(), /config v\d+ \(\w+\) live/, 'the config went live (the moment a primary would settle)');
    assert.doesNotMatch(gw.stderr(), /heap settled/);
  } finally {
    await gw.stop();
    await upstream.close();
  }
});
