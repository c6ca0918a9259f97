// A worker can die between the primary's decision to ask it something (status, metrics, a snapshot) and
// the write to its IPC channel: the write then fails (EPIPE, or the channel already closed) and node
// reports it as an 'error' event on the worker. The primary must take that as the worker being gone, not
// crash on it: it keeps serving its own ports, replaces the worker, and the pod keeps routing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from '../support/client.js';
import { makeConfigDir, startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { freePort } from '../support/ports.js';
import { startEchoUpstream, type EchoUpstream } from '../support/upstream.js';
import { waitFor } from '../support/wait.js';
import { gatewayYaml, routeAllYaml, serviceEntryYaml } from './manifests.js';

interface WorkerView {
  pid: number;
  ready: boolean;
}

let gw: GatewayProcess;
let port: number;
let upstream: EchoUpstream;

before(async () => {
  upstream = await startEchoUpstream('ipc');
  port = await freePort();
  gw = await startGateway(
    makeConfigDir({
      'gateway.yaml': gatewayYaml('edge', [{ port, protocol: 'HTTP' }]),
      'services.yaml': serviceEntryYaml('app', 'app.internal', [{ port: upstream.port }]),
      'vs.yaml': routeAllYaml('app.internal'),
    }),
    { args: ['--workers', '2'] },
  );
});

after(async () => {
  await gw?.stop();
  await upstream?.close();
});

async function workers(): Promise<WorkerView[]> {
  return (await request({ port: gw.adminPort, path: '/workers' })).json<{ workers: WorkerView[] }>().workers;
}

test('workers killed while the primary is querying them cost the primary nothing: it answers, replaces them, and the pod routes', async () => {
  for (let round = 0; round < 5; round++) {
    const before = await workers();
    assert.equal(before.length, 2, `round ${round}: two workers`);
    const victim = before[round % 2]!.pid;
    // Queries back to back on several connections across the kill, so that some are written to the dying
    // worker's channel after it is gone and before the primary has seen it go (bounded: 400 ms, 2,000 queries).
    let killedAt = 0;
    let sent = 0;
    const lane = async (): Promise<void> => {
      while ((killedAt === 0 || Date.now() - killedAt < 400) && sent < 2000) {
        sent++;
        await workers().catch(() => []);
      }
    };
    const lanes = Array.from({ length: 8 }, lane);
    await waitFor(() => sent >= 16, { what: 'queries in flight' });
    process.kill(victim, 'SIGKILL');
    killedAt = Date.now();
    await Promise.all(lanes);
    assert.equal(gw.child.exitCode, null, `round ${round}: the primary is still running\n${gw.stderr()}`);
    await waitFor(
      async () => {
        const now = await workers();
        return now.length === 2 && now.every((w) => w.ready) && !now.some((w) => w.pid === victim);
      },
      { what: `round ${round}: a replacement worker, ready`, timeoutMs: 30_000 },
    );
  }
  const res = await request({ port, path: '/' });
  assert.equal(res.status, 200);
});
