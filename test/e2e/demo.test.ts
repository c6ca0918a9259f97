// `npm start` (gatehouse demo) works on a fresh checkout: it generates its certificate, starts its
// upstreams, and answers the curls the README promises.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from '../support/client.js';
import { GATEHOUSE_BIN } from '../support/gateway-process.js';
import { freePorts } from '../support/ports.js';
import { waitFor } from '../support/wait.js';

test('the bundled demo serves https on 8443 with a generated certificate and redirects 8080 to https', async () => {
  const [statusPort, statsPort, adminPort] = (await freePorts(3)) as [number, number, number];
  const stateDir = mkdtempSync(join(tmpdir(), 'gatehouse-demo-'));
  const child = spawn(
    process.execPath,
    [GATEHOUSE_BIN, 'demo', '--status-port', String(statusPort), '--stats-port', String(statsPort), '--admin-port', String(adminPort), '--bind', '127.0.0.1'],
    { env: { ...process.env, GATEHOUSE_STATE_DIR: stateDir }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdout.resume();
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  try {
    await waitFor(async () => (await request({ port: statusPort, path: '/healthz/ready' }).catch(() => undefined))?.status === 200, {
      timeoutMs: 20_000,
      what: `demo readiness (stderr so far: ${err})`,
    });
    const versions = new Set<string>();
    for (let i = 0; i < 60 && versions.size < 2; i++) {
      const r = await request({ port: 8443, host: '127.0.0.1', authority: 'localhost', path: '/', tls: { rejectUnauthorized: false } });
      assert.equal(r.status, 200);
      // The demo upstreams require mesh mTLS and report the identity the gateway presented.
      assert.equal(r.json().peer, 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account');
      versions.add(String(r.headers['x-demo-version']));
    }
    assert.ok(versions.has('v1'), `v1 answered: ${[...versions]}`);
    const canary = await request({ port: 8443, host: '127.0.0.1', authority: 'localhost', path: '/', headers: { 'x-canary': 'true' }, tls: { rejectUnauthorized: false } });
    assert.equal(canary.headers['x-demo-version'], 'v2');
    const redirect = await request({ port: 8080, host: '127.0.0.1', authority: 'localhost', path: '/' });
    assert.equal(redirect.status, 301);
    assert.match(String(redirect.headers.location), /^https:\/\/localhost/);
    const health = await request({ port: 8443, host: '127.0.0.1', authority: 'localhost', path: '/healthz', tls: { rejectUnauthorized: false } });
    assert.equal(health.status, 200);
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
  }
});
