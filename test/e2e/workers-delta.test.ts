// `--workers 2` with a one-VirtualService edit: the primary sends each worker a delta against the snapshot
// it holds (core/snapshot-codec.ts), and both workers must then route the edited host the new way and every
// other host as before (an unchanged host is decoded from the worker's own objects: a wrong reference would
// route it elsewhere). A replacement worker gets the full snapshot; a snapshot every worker refused leaves
// them on the one they hold, and the next edit is a delta against that one. Proven over real sockets.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { request } from '../support/client.js';
import { makeConfigDir, startGateway, writeConfig, type GatewayProcess } from '../support/gateway-process.js';
import { freePort } from '../support/ports.js';
import { startEchoUpstream, type EchoUpstream } from '../support/upstream.js';
import { waitFor } from '../support/wait.js';
import { blueGreenServicesYaml, gatewayYaml } from './manifests.js';

interface WorkerView {
  pid: number;
  generation: number;
  ready: boolean;
  requestsTotal: number;
  lastSnapshot: { base: number | null; chars: number } | null;
}

let gw: GatewayProcess;
let port: number;
let blue: EchoUpstream;
let green: EchoUpstream;

/** One VirtualService per file, as a config directory holds them: `host` to `to`. */
function hostVs(name: string, host: string, to: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name}, namespace: default }
spec:
  hosts: ["${host}"]
  gateways: [istio-system/edge]
  http:
  - match: [{ uri: { prefix: /api } }]
    route: [{ destination: { host: ${to} } }]
  - route: [{ destination: { host: ${to} } }]
`;
}

const HOSTS = ['a.example.com', 'b.example.com', 'c.example.com'] as const;
const vsFiles = (to: Record<(typeof HOSTS)[number], string>): Record<string, string> =>
  Object.fromEntries(HOSTS.map((h) => [`vs-${h[0]}.yaml`, hostVs(`vs-${h[0]}`, h, to[h])]));
// Hosts no edit touches, enough of them in a row for a delta to write them as a run of base objects.
const UNCHANGED = Array.from({ length: 10 }, (_, i) => `h${String(i).padStart(2, '0')}.example.com`);
const unchangedFiles = Object.fromEntries(UNCHANGED.map((h) => [`vs-${h.split('.')[0]}.yaml`, hostVs(`vs-${h.split('.')[0]}`, h, 'blue.internal')]));

before(async () => {
  blue = await startEchoUpstream('blue');
  green = await startEchoUpstream('green');
  port = await freePort();
  gw = await startGateway(
    makeConfigDir({
      'gateway.yaml': gatewayYaml('edge', [{ port, protocol: 'HTTP' }]),
      'services.yaml': blueGreenServicesYaml(blue.port, green.port),
      ...vsFiles({ 'a.example.com': 'blue.internal', 'b.example.com': 'blue.internal', 'c.example.com': 'green.internal' }),
      ...unchangedFiles,
    }),
    { args: ['--workers', '2', '--log-level', 'debug'] },
  );
});

after(async () => {
  await gw?.stop();
  await blue?.close();
  await green?.close();
});

/** How many times a process of the pod said it settled its heap (after `why`, if given; cli/heap-settle.ts, debug log). */
function settled(why?: string): number {
  const said = why === undefined ? 'heap settled after ' : `heap settled after ${why}:`;
  return gw.stderr().split('\n').filter((l) => l.includes(said)).length;
}

async function workers(): Promise<WorkerView[]> {
  return (await request({ port: gw.adminPort, path: '/workers' })).json<{ workers: WorkerView[] }>().workers;
}

/** Waits until two workers are ready on one generation newer than `than`; returns them. */
async function bothOnNewGeneration(than: number): Promise<WorkerView[]> {
  let views: WorkerView[] = [];
  await waitFor(
    async () => {
      views = await workers().catch(() => []);
      return views.length === 2 && views.every((w) => w.ready && w.generation > than && w.generation === views[0]!.generation);
    },
    { what: `both workers ready on a generation after ${than}`, timeoutMs: 20_000 },
  );
  return views;
}

/**
 * Requests to `authority` until each worker has served at least one of them (the kernel picks the worker
 * per connection; bounded: 100 rounds of 4 or 20 s), returning which upstream answered each.
 */
async function servedByBoth(authority: string): Promise<Set<string>> {
  const before = await workers();
  const seen = new Set<string>();
  const deadline = Date.now() + 20_000;
  for (let round = 0; round < 100 && Date.now() < deadline; round++) {
    const batch = await Promise.all([0, 1, 2, 3].map(() => request({ port, authority, path: '/api/x' })));
    for (const r of batch) {
      assert.equal(r.status, 200, `${authority}: status`);
      seen.add(String(r.headers['x-upstream']));
    }
    const now = await workers();
    if (now.length === 2 && now.every((w) => w.requestsTotal > (before.find((b) => b.pid === w.pid)?.requestsTotal ?? 0))) return seen;
  }
  throw new Error(`${authority}: not every worker served a request`);
}

async function assertRoutes(expected: Record<(typeof HOSTS)[number], string>): Promise<void> {
  for (const host of HOSTS) assert.deepEqual(await servedByBoth(host), new Set([expected[host]]), `${host} on both workers`);
  for (const host of [UNCHANGED[0]!, UNCHANGED[9]!]) assert.deepEqual(await servedByBoth(host), new Set(['blue']), `${host} on both workers`);
}

test('one VirtualService edited reaches both workers as a delta: both serve the new route and the unchanged hosts as before', async () => {
  const start = await bothOnNewGeneration(0);
  for (const w of start) assert.equal(w.lastSnapshot?.base, null, 'the first snapshot is sent in full');
  const fullChars = start[0]!.lastSnapshot!.chars;
  await assertRoutes({ 'a.example.com': 'blue', 'b.example.com': 'blue', 'c.example.com': 'green' });
  // Start-up garbage is collected once, in the primary (it serves nothing), after the first publish.
  await waitFor(() => settled('the first config went live') === 1, { what: 'the primary to settle its heap' });

  const held = start[0]!.generation;
  writeConfig(gw.configDir, { 'vs-a.yaml': hostVs('vs-a', 'a.example.com', 'green.internal') });
  const views = await bothOnNewGeneration(held);
  for (const w of views) {
    assert.equal(w.lastSnapshot?.base, held, `worker ${w.pid} got a delta against the generation it held`);
    assert.ok(w.lastSnapshot!.chars < fullChars, `the delta (${w.lastSnapshot!.chars} chars) is shorter than the full snapshot (${fullChars})`);
  }
  await assertRoutes({ 'a.example.com': 'green', 'b.example.com': 'blue', 'c.example.com': 'green' });
});

test('a replacement worker gets the full snapshot, and the next edit reaches it as a delta too', async () => {
  const views = await workers();
  const live = views[0]!.generation;
  process.kill(views[0]!.pid, 'SIGKILL');
  let replacement: WorkerView | undefined;
  await waitFor(
    async () => {
      const now = await workers().catch(() => []);
      replacement = now.find((w) => !views.some((v) => v.pid === w.pid) && w.ready && w.generation === live);
      return replacement !== undefined && now.length === 2;
    },
    { what: 'a replacement worker on the live generation', timeoutMs: 20_000 },
  );
  assert.equal(replacement!.lastSnapshot?.base, null, 'the replacement held nothing: full snapshot');
  await assertRoutes({ 'a.example.com': 'green', 'b.example.com': 'blue', 'c.example.com': 'green' });

  writeConfig(gw.configDir, { 'vs-b.yaml': hostVs('vs-b', 'b.example.com', 'green.internal') });
  const after = await bothOnNewGeneration(live);
  for (const w of after) assert.equal(w.lastSnapshot?.base, live, `worker ${w.pid}: a delta against generation ${live}`);
  await assertRoutes({ 'a.example.com': 'green', 'b.example.com': 'green', 'c.example.com': 'green' });
});

test('after a snapshot every worker refused, the next edit is a delta against the one they kept', async () => {
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const takenPort = (taken.address() as net.AddressInfo).port;
  try {
    const before = await workers();
    const kept = before[0]!.generation;
    const rejectedBefore = (await request({ port: gw.adminPort, path: '/diagnostics' })).json<{ rejectedTotal: number }>().rejectedTotal;
    writeConfig(gw.configDir, { 'gateway.yaml': gatewayYaml('edge', [{ port, protocol: 'HTTP' }, { port: takenPort, protocol: 'HTTP' }]) });
    await waitFor(
      async () => (await request({ port: gw.adminPort, path: '/diagnostics' })).json<{ rejectedTotal: number }>().rejectedTotal > rejectedBefore,
      { what: 'the snapshot to be rejected' },
    );
    assert.deepEqual((await workers()).map((w) => w.generation), [kept, kept]);
    // The Gateway back as it was and one VirtualService edited, in one write: one new snapshot.
    writeConfig(gw.configDir, {
      'gateway.yaml': gatewayYaml('edge', [{ port, protocol: 'HTTP' }]),
      'vs-c.yaml': hostVs('vs-c', 'c.example.com', 'blue.internal'),
    });
    const after = await bothOnNewGeneration(kept);
    for (const w of after) assert.equal(w.lastSnapshot?.base, kept, `worker ${w.pid}: a delta against generation ${kept}, the one it kept`);
    await assertRoutes({ 'a.example.com': 'green', 'b.example.com': 'green', 'c.example.com': 'blue' });
    // Workers, which serve, never force a collection; the primary did once, at start.
    assert.equal(settled(), 1);
    assert.equal(settled('the first config went live'), 1);
  } finally {
    await new Promise((r) => taken.close(r));
  }
});
