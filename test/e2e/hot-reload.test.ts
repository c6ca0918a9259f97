// Configuration changes apply live without failing a request, and a bad manifest is rejected with its
// file and line while the last good configuration keeps serving.
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdirSync, rmSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from '../support/client.js';
import { makeConfigDir, startGateway, writeConfig, type GatewayProcess } from '../support/gateway-process.js';
import { freePort } from '../support/ports.js';
import { startEchoUpstream, type EchoUpstream } from '../support/upstream.js';
import { waitFor } from '../support/wait.js';
import { blueGreenServicesYaml, gatewayYaml } from './manifests.js';

let gw: GatewayProcess;
let port: number;
let blue: EchoUpstream;
let green: EchoUpstream;

const routeTo = (host: string, weightLine = '') => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: app
  namespace: default
spec:
  hosts: [app.example.com]
  gateways: [istio-system/edge]
  http:
  - route:
    - destination:
        host: ${host}
${weightLine}`;

before(async () => {
  blue = await startEchoUpstream('blue');
  green = await startEchoUpstream('green');
  port = await freePort();
  const dir = makeConfigDir({
    'gateway.yaml': gatewayYaml('edge', [{ port, protocol: 'HTTP' }]),
    'services.yaml': blueGreenServicesYaml(blue.port, green.port),
    'vs.yaml': routeTo('blue.internal'),
  });
  gw = await startGateway(dir);
});

after(async () => {
  await gw?.stop();
  await blue?.close();
  await green?.close();
});

async function metric(name: string): Promise<number> {
  const text = (await request({ port: gw.statsPort, path: '/stats/prometheus' })).body;
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

test('a VirtualService edited under continuous traffic switches upstreams with zero failed requests', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const seen = new Set<string>();
  const failures: string[] = [];
  let sent = 0;
  let switched = false;
  const deadline = Date.now() + 20_000;
  const worker = async () => {
    // Bounded: stops once green has answered for a while, after 4000 requests, or after 20 s.
    while (sent < 4000 && Date.now() < deadline && !(switched && seen.has('green') && sent > 200)) {
      sent++;
      try {
        const r = await request({ port, authority: 'app.example.com', path: `/r${sent}`, agent });
        if (r.status !== 200) failures.push(`status ${r.status}`);
        seen.add(String(r.headers['x-upstream']));
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
  };
  const traffic = Promise.all([worker(), worker(), worker(), worker()]);
  await waitFor(() => seen.has('blue'), { what: 'traffic reaching blue' });
  writeConfig(gw.configDir, { 'vs.yaml': routeTo('green.internal') });
  switched = true;
  await traffic;
  agent.destroy();
  assert.deepEqual(failures, [], `${failures.length} of ${sent} requests failed`);
  assert.ok(seen.has('green'), 'the new route took effect');
  const after = await request({ port, authority: 'app.example.com', path: '/' });
  assert.equal(after.headers['x-upstream'], 'green');
});

test('a bad manifest is rejected with file and line; the last good config keeps serving; a fix applies', async () => {
  const rejectedBefore = await metric('gatehouse_config_rejected_total');
  writeConfig(gw.configDir, { 'vs.yaml': routeTo('blue.internal', '      weight: fifty\n') });
  await waitFor(async () => (await metric('gatehouse_config_rejected_total')) > rejectedBefore, {
    what: 'the rejection to be counted',
  });
  const served = await request({ port, authority: 'app.example.com', path: '/' });
  assert.equal(served.headers['x-upstream'], 'green', 'the last good snapshot still serves');

  const diagnostics = (await request({ port: gw.adminPort, path: '/diagnostics' })).json();
  const lines = JSON.stringify(diagnostics.lastRejection);
  assert.match(lines, /vs\.yaml/);
  const d = diagnostics.lastRejection.diagnostics.find((x: { field?: string }) => /weight/.test(String(x.field)));
  assert.ok(d, `a diagnostic names the weight field: ${lines}`);
  assert.equal(d.source.line, 14, 'the line of `weight: fifty`');
  assert.match(gw.stderr(), /vs\.yaml:14:\d+: GH_CFG_\w+/);

  writeConfig(gw.configDir, { 'vs.yaml': routeTo('blue.internal', '      weight: 100\n') });
  await waitFor(async () => (await request({ port, authority: 'app.example.com', path: '/' })).headers['x-upstream'] === 'blue', {
    what: 'the fixed config to apply',
  });
});

test('a file moved into a subfolder is still read, and an editor backup file is not config', async () => {
  writeConfig(gw.configDir, { 'vs.yaml~': routeTo('green.internal').replace('name: app', 'name: app-backup') });
  mkdirSync(join(gw.configDir, 'apps'));
  renameSync(join(gw.configDir, 'vs.yaml'), join(gw.configDir, 'apps', 'moved.yml'));
  writeConfig(gw.configDir, { 'apps/moved.yml': routeTo('green.internal') });
  await waitFor(async () => (await request({ port, authority: 'app.example.com', path: '/' })).headers['x-upstream'] === 'green', {
    what: 'the moved and edited VirtualService to apply',
  });
  rmSync(join(gw.configDir, 'apps', 'moved.yml'));
  // Only the backup (`vs.yaml~`) still routes app.example.com now; it is not config, so nothing does.
  await waitFor(async () => (await request({ port, authority: 'app.example.com', path: '/' })).status === 404, {
    what: 'the deleted VirtualService to stop routing',
  });
});
