// `--workers 2`: one control plane in the primary, two data-plane processes sharing the listeners.
// Proven from outside, over real sockets: both workers serve, metrics are summed, a reload reaches both,
// a killed worker is replaced and catches up before readiness counts it, a snapshot the workers cannot
// bind leaves all of them on the last good one, and SIGTERM drains every worker.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { request } from '../support/client.js';
import { makeConfigDir, startGateway, writeConfig, type GatewayProcess } from '../support/gateway-process.js';
import { freePort } from '../support/ports.js';
import { startEchoUpstream, type EchoUpstream } from '../support/upstream.js';
import { waitFor } from '../support/wait.js';
import { blueGreenServicesYaml, gatewayYaml, routeAllYaml, serviceEntryYaml } from './manifests.js';

interface WorkerView {
  id: number;
  pid: number;
  generation: number;
  snapshotVersion: number | null;
  ready: boolean;
  inFlight: number;
  requestsTotal: number;
  rssBytes: number;
  listeners: Record<string, number>;
}

let gw: GatewayProcess;
let port: number;
let blue: EchoUpstream;
let green: EchoUpstream;

before(async () => {
  blue = await startEchoUpstream('blue');
  green = await startEchoUpstream('green');
  port = await freePort();
  gw = await startGateway(
    makeConfigDir({
      'gateway.yaml': gatewayYaml('edge', [{ port, protocol: 'HTTP' }]),
      'services.yaml': blueGreenServicesYaml(blue.port, green.port),
      'vs.yaml': routeAllYaml('blue.internal'),
    }),
    { args: ['--workers', '2'] },
  );
});

after(async () => {
  await gw?.stop();
  await blue?.close();
  await green?.close();
});

async function workers(g: GatewayProcess = gw): Promise<WorkerView[]> {
  return (await request({ port: g.adminPort, path: '/workers' })).json<{ workers: WorkerView[] }>().workers;
}

async function ready(g: GatewayProcess = gw): Promise<number> {
  return (await request({ port: g.statusPort, path: '/healthz/ready' }).catch(() => ({ status: 0 }))).status;
}

/** Sum of every series of a metric family on the primary's stats port. */
async function metricSum(name: string): Promise<number> {
  const text = (await request({ port: gw.statsPort, path: '/stats/prometheus' })).body;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(name + ' ') || line.startsWith(name + '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/**
 * Fresh connections, a few at a time. Which worker accepts a connection is the kernel's choice (workers
 * accept from the shared socket), so tests that need both workers keep sending until both have served,
 * bounded by `untilBothServed`.
 */
async function burst(n: number): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < n; i += 4) {
    const batch = await Promise.all([0, 1, 2, 3].slice(0, n - i).map(() => request({ port, authority: 'app.example.com', path: '/w' })));
    for (const r of batch) {
      assert.equal(r.status, 200);
      seen.push(String(r.headers['x-upstream']));
    }
  }
  return seen;
}

/** Bursts until every worker served at least one more request than in `before`: at most 100 bursts / 20 s. */
async function untilBothServed(before: readonly WorkerView[]): Promise<{ sent: number; seen: string[]; served: number[] }> {
  const deadline = Date.now() + 20_000;
  const seen: string[] = [];
  for (let round = 0; round < 100 && Date.now() < deadline; round++) {
    seen.push(...(await burst(4)));
    const now = await workers();
    const served = now.map((w) => w.requestsTotal - (before.find((b) => b.pid === w.pid)?.requestsTotal ?? 0));
    if (now.length === 2 && served.every((n) => n > 0)) return { sent: seen.length, seen, served };
  }
  throw new Error(`after ${seen.length} requests, not every worker had served one`);
}

test('two worker processes serve the listener, and /stats/prometheus sums their istio_* series', async () => {
  const before = await workers();
  assert.equal(before.length, 2);
  assert.notEqual(before[0]!.pid, before[1]!.pid);
  for (const w of before) {
    assert.notEqual(w.pid, gw.child.pid, 'the data plane is not in the primary');
    assert.equal(w.listeners[String(port)], port);
  }
  const requestsBefore = await metricSum('istio_requests_total');
  const countBefore = await metricSum('istio_request_duration_milliseconds_count');
  const { sent, served } = await untilBothServed(before);
  assert.equal(served.reduce((a, b) => a + b, 0), sent, `per-worker counts ${served.join(' + ')} add up to the requests sent`);
  assert.equal((await metricSum('istio_requests_total')) - requestsBefore, sent, 'counters are summed across workers');
  assert.equal((await metricSum('istio_request_duration_milliseconds_count')) - countBefore, sent, 'histograms are summed across workers');
  // The primary's own series are there once, not per worker.
  const text = (await request({ port: gw.statsPort, path: '/stats/prometheus' })).body;
  assert.equal(text.split('\n').filter((l) => l.startsWith('gatehouse_config_published_total ')).length, 1);
});

test('a configuration change reaches every worker, and readiness means all of them applied it', async () => {
  const generation = Math.max(...(await workers()).map((w) => w.generation));
  writeConfig(gw.configDir, { 'vs.yaml': routeAllYaml('green.internal') });
  await waitFor(async () => (await workers()).every((w) => w.generation > generation && w.ready), { what: 'both workers on the new generation' });
  const views = await workers();
  assert.equal(new Set(views.map((w) => w.snapshotVersion)).size, 1, 'one snapshot version across workers');
  // Both workers serve requests after the change, and every answer comes from the new route.
  const { seen } = await untilBothServed(views);
  assert.deepEqual(new Set(seen), new Set(['green']));
  assert.equal(await ready(), 200);
});

test('a killed worker is replaced, receives the live snapshot, and only then counts as ready', async () => {
  const views = await workers();
  const victim = views[0]!;
  const live = victim.generation;
  process.kill(victim.pid, 'SIGKILL');
  let replacement: WorkerView | undefined;
  await waitFor(
    async () => {
      const now = await workers().catch(() => []);
      replacement = now.find((w) => !views.some((v) => v.pid === w.pid));
      return replacement !== undefined;
    },
    { what: 'a replacement worker', timeoutMs: 15_000 },
  );
  // From here on, every 200 from the status port must mean every worker is on the live generation.
  await waitFor(
    async () => {
      if ((await ready()) !== 200) return false;
      const now = await workers();
      assert.equal(now.length, 2);
      for (const w of now) {
        assert.equal(w.generation, live, `worker ${w.id} is on the live generation when readiness says 200`);
        assert.equal(w.listeners[String(port)], port);
      }
      return true;
    },
    { what: 'readiness with the replacement', timeoutMs: 15_000 },
  );
  const { seen, served } = await untilBothServed(await workers());
  assert.deepEqual(new Set(seen), new Set(['green']), 'the replacement serves the live config');
  assert.ok(served.every((n) => n > 0));
});

test('a snapshot no worker can bind is refused by all: every worker stays on the last good config', async () => {
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const takenPort = (taken.address() as net.AddressInfo).port;
  try {
    const before = await workers();
    const rejectedBefore = (await request({ port: gw.adminPort, path: '/diagnostics' })).json<{ rejectedTotal: number }>().rejectedTotal;
    writeConfig(gw.configDir, { 'gateway.yaml': gatewayYaml('edge', [{ port, protocol: 'HTTP' }, { port: takenPort, protocol: 'HTTP' }]) });
    await waitFor(
      async () => (await request({ port: gw.adminPort, path: '/diagnostics' })).json<{ rejectedTotal: number }>().rejectedTotal > rejectedBefore,
      { what: 'the snapshot to be rejected' },
    );
    const diag = (await request({ port: gw.adminPort, path: '/diagnostics' })).json<{ lastRejection: { publishError?: string } }>();
    assert.match(diag.lastRejection.publishError ?? '', /every worker refused it/);
    const after = await workers();
    assert.deepEqual(after.map((w) => [w.pid, w.generation, w.snapshotVersion]), before.map((w) => [w.pid, w.generation, w.snapshotVersion]));
    assert.ok(after.every((w) => w.listeners[String(takenPort)] === undefined));
    assert.equal(await ready(), 200);
    assert.deepEqual(new Set(await burst(8)), new Set(['green']));
  } finally {
    writeConfig(gw.configDir, { 'gateway.yaml': gatewayYaml('edge', [{ port, protocol: 'HTTP' }]) });
    await new Promise((r) => taken.close(r));
  }
});

test('access-log lines from two workers reach stdout whole', async () => {
  const marker = `/whole-${'x'.repeat(1500)}`;
  for (let round = 0; round < 5; round++) {
    await Promise.all(Array.from({ length: 16 }, () => request({ port, authority: 'app.example.com', path: marker })));
  }
  await waitFor(() => gw.stdout().split(marker).length - 1 >= 80, { what: '80 access-log lines' });
  const lines = gw.stdout().split('\n').filter((l) => l.includes('/whole-'));
  assert.equal(lines.length, 80);
  for (const l of lines) assert.match(l, /^\[[0-9T:.Z-]+\] "GET \/whole-x{1500} HTTP\/1\.1" 200 /, 'one whole line per request');
});

test('SIGTERM to the primary drains the requests in flight on every worker, then all processes exit', async () => {
  let arrived = 0;
  const slow = await startEchoUpstream('slow', { delayMs: 4000, onRequest: () => arrived++ });
  const slowPort = await freePort();
  const g = await startGateway(
    makeConfigDir({
      'gateway.yaml': gatewayYaml('edge', [{ port: slowPort, protocol: 'HTTP' }]),
      'se.yaml': serviceEntryYaml('slow', 'slow.internal', [{ port: slow.port }]),
      'vs.yaml': routeAllYaml('slow.internal'),
    }),
    { args: ['--workers', '2', '--drain-timeout', '15s'] },
  );
  try {
    const pids = (await workers(g)).map((w) => w.pid);
    assert.equal(pids.length, 2);
    // One slow request at a time on a fresh connection, until both workers hold one (at most 30).
    const inFlight: Promise<Awaited<ReturnType<typeof request>>>[] = [];
    let busy: number[] = [];
    while (inFlight.length < 30) {
      inFlight.push(request({ port: slowPort, authority: 'slow.example.com', path: '/slow', timeoutMs: 15_000 }));
      await waitFor(() => arrived === inFlight.length, { what: 'the request at the upstream' });
      busy = (await workers(g)).map((w) => w.inFlight);
      if (busy.length === 2 && busy.every((n) => n > 0)) break;
    }
    assert.ok(busy.every((n) => n > 0), `requests in flight on both workers: ${busy.join(', ')}`);
    g.child.kill('SIGTERM');
    await waitFor(async () => (await ready(g)) !== 200, { what: 'readiness to fail' });
    for (const r of await Promise.all(inFlight)) {
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-upstream'], 'slow');
    }
    assert.equal(await g.exited, 0);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, `worker ${pid} exited`);
  } finally {
    await g.stop();
    await slow.close();
  }
});

test('a Gateway port mapped to 0 is one port shared by both workers', async () => {
  const g = await startGateway(
    makeConfigDir({
      'gateway.yaml': gatewayYaml('edge', [{ port: 8080, protocol: 'HTTP' }]),
      'se.yaml': serviceEntryYaml('blue', 'blue.internal', [{ port: blue.port }]),
      'vs.yaml': routeAllYaml('blue.internal'),
    }),
    { args: ['--workers', '2', '--port-map', '8080=0'] },
  );
  try {
    const views = await workers(g);
    assert.equal(views.length, 2);
    const bound = views[0]!.listeners['8080'];
    assert.ok(bound !== undefined && bound > 0, 'a real port was chosen');
    assert.equal(views[1]!.listeners['8080'], bound, 'both workers accept on the same port');
    const r = await request({ port: bound, authority: 'app.example.com', path: '/zero' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-upstream'], 'blue');
  } finally {
    await g.stop();
  }
});
