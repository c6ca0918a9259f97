// What a serving gateway holds at idle: modules it would only need for work it is not doing stay unloaded.
// A gateway that restarts with its CA state and cached mesh identity builds no certificate, so node-forge is
// not loaded; the admin ports declare no schemas, so fastify's schema compilers (ajv, fast-json-stringify's
// compiler) are not loaded. Checked in this process (node --test runs each file in its own): the first start,
// which creates the CA and issues the identity, runs as a separate gatehouse process.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { test } from 'node:test';
import { parseServeArgs } from '../../cli/args.js';
import { serve } from '../../cli/serve.js';
import { gatewayYaml } from '../e2e/manifests.js';
import { request } from '../support/client.js';
import { makeConfigDir, startGateway } from '../support/gateway-process.js';
import { freePorts } from '../support/ports.js';
import { waitFor } from '../support/wait.js';

const loadedPackages = (): Set<string> => {
  const out = new Set<string>();
  for (const file of Object.keys(createRequire(import.meta.url).cache)) {
    const marker = `${sep}node_modules${sep}`;
    const at = file.lastIndexOf(marker);
    if (at < 0) continue;
    const [scope, name] = file.slice(at + marker.length).split(sep);
    out.add(scope?.startsWith('@') ? `${scope}/${name}` : scope!);
  }
  return out;
};

test('a gateway restarted with its CA and cached mesh identity serves without node-forge, fastify\'s schema compilers or undici\'s entry point', async () => {
  const [listenerPort, statusPort, statsPort, adminPort] = (await freePorts(4)) as [number, number, number, number];
  const configDir = makeConfigDir({ 'gateway.yaml': gatewayYaml('edge', [{ port: listenerPort, protocol: 'HTTP' }]) });
  const caDir = join(mkdtempSync(join(tmpdir(), 'gatehouse-idle-')), 'ca');

  const first = await startGateway(configDir, { args: ['--ca-dir', caDir] });
  assert.equal(await first.stop(), 0);
  assert.match(first.stderr(), /mesh identity .* issued, from the self-signed CA/, 'the first start issued the identity it caches');

  const gateway = await serve(
    parseServeArgs(['--config', configDir, '--ca-dir', caDir, '--workers', '1', '--bind', '127.0.0.1', '--log-level', 'error',
      '--status-port', String(statusPort), '--stats-port', String(statsPort), '--admin-port', String(adminPort)]),
  );
  try {
    await waitFor(async () => (await request({ port: statusPort, path: '/healthz/ready' }).catch(() => undefined))?.status === 200,
      { timeoutMs: 15_000, what: 'readiness' });
    const certs = await request({ port: adminPort, path: '/certs' });
    assert.equal(certs.status, 200);
    assert.match(certs.body, /"spiffeId": "spiffe:\/\/cluster\.local\/ns\/istio-system\/sa\//, 'the mesh identity is served');
    const loaded = loadedPackages();
    assert.ok(loaded.has('fastify') && loaded.has('yaml') && loaded.has('undici'), `the walk sees the gateway's packages: ${[...loaded].join(' ')}`);
    for (const pkg of ['node-forge', 'ajv', 'ajv-formats', '@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler']) {
      assert.ok(!loaded.has(pkg), `${pkg} is not loaded at idle`);
    }
    // The upstream pools come from undici's Pool module; its entry point (fetch, WebSocket, cache…) is never loaded.
    const files = Object.keys(createRequire(import.meta.url).cache);
    const undiciFile = (rel: string): boolean => files.some((f) => f.endsWith(`${sep}node_modules${sep}undici${sep}${rel}`));
    assert.ok(undiciFile(join('lib', 'dispatcher', 'pool.js')), 'undici\'s Pool module is loaded');
    assert.ok(!undiciFile('index.js'), 'undici\'s entry point is not loaded');
  } finally {
    await gateway.shutdown('test over');
    await gateway.stopped;
  }
});
