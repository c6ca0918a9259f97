// The overload guard: a stalled event loop makes the gateway refuse new connections, and it serves
// again once the loop is quiet; the transition rule has hysteresis so it does not flap.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { createDataPlane } from '../../gateway/index.js';
import { delayResolutionMs, nextOverloaded, OverloadGuard, type OverloadSample } from '../../gateway/overload.js';
import { cluster, forward, httpListener, route, routeTable, snapshot, vhost } from './support/snapshot-builder.js';
import { startEchoUpstream } from './support/upstream.js';
import { waitFor } from '../support/wait.js';

test('overload starts at a threshold and ends only well below it', () => {
  const t = { heapRatio: 0.9, eventLoopLagMs: 1000 };
  assert.equal(nextOverloaded(false, { heapRatio: 0.5, eventLoopLagMs: 10 }, t), false);
  assert.equal(nextOverloaded(false, { heapRatio: 0.92, eventLoopLagMs: 10 }, t), true);
  assert.equal(nextOverloaded(false, { heapRatio: 0.5, eventLoopLagMs: 1500 }, t), true);
  assert.equal(nextOverloaded(true, { heapRatio: 0.85, eventLoopLagMs: 10 }, t), true, 'just under the heap threshold is not recovery');
  assert.equal(nextOverloaded(true, { heapRatio: 0.5, eventLoopLagMs: 700 }, t), true, 'just under the lag threshold is not recovery');
  assert.equal(nextOverloaded(true, { heapRatio: 0.5, eventLoopLagMs: 100 }, t), false);
});

test('the overload guard reads an idle loop as no lag, not as its sampling period', async () => {
  // 15 ms is below the delay histogram's shortest period (20 ms). The histogram records the whole time
  // between its timer's runs; read as lag, every sample of an idle loop was ≥ 20 ms, and this guard went
  // overloaded after two samples and never recovered (recovery needs < 7.5 ms).
  assert.equal(delayResolutionMs(15), 20);
  assert.equal(delayResolutionMs(1000), 100);
  const samples: OverloadSample[] = [];
  const guard = new OverloadGuard({ heapRatio: 1, eventLoopLagMs: 15 }, () => undefined, (s) => samples.push(s));
  guard.start();
  try {
    await waitFor(() => samples.length >= 8, { timeoutMs: 10_000, what: 'eight samples' });
  } finally {
    guard.stop();
  }
  const lags = samples.map((s) => s.eventLoopLagMs);
  assert.ok(lags.every((lag) => lag >= 0), `lags ${lags.join(', ')}`);
  // A busy test machine can delay a sample; it cannot delay all eight by the whole period.
  assert.ok(Math.min(...lags) < 15, `lags ${lags.join(', ')}`);
});

/** One request on a fresh connection: the status, or 'refused' when closed without an answer. */
function probe(port: number): Promise<number | 'refused'> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => s.destroy(), 5000);
    s.setEncoding('latin1').on('data', (d: string) => (text += d));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve(m ? Number(m[1]) : 'refused');
    });
    s.write('GET / HTTP/1.1\r\nHost: o.example.com\r\nConnection: close\r\n\r\n');
  });
}

test('a lagging event loop makes the gateway refuse new connections until it recovers; a single stall does not', async () => {
  const up = await startEchoUpstream('up');
  const logs: string[] = [];
  const c = cluster('up.default.svc.cluster.local', [{ port: up.port }]);
  const plane = createDataPlane({
    bindAddress: '127.0.0.1',
    portMap: new Map([[80, 0]]),
    registry: new Registry(),
    accessLogFormat: 'off',
    log: (level, message) => logs.push(`${level}: ${message}`),
    retireGraceMs: 500,
    edge: { overloadEventLoopLagMs: 500 },
  });
  try {
    await plane.apply(snapshot({ listeners: [httpListener(80, 't')], routeTables: [routeTable('t', [vhost(['o.example.com'], [route('r', forward([c.name]))])])], clusters: [c] }));
    const port = plane.boundPort(80) as number;
    // Under a loaded test run this process may itself lag at first: start from a calm gateway.
    await waitFor(async () => (await probe(port)) === 200, { timeoutMs: 10_000, what: 'a calm gateway' });
    const kept = net.connect(port, '127.0.0.1');
    let keptText = '';
    kept.setEncoding('latin1').on('data', (d: string) => (keptText += d));
    kept.on('error', () => undefined);
    await new Promise((resolve) => kept.once('connect', resolve));
    const count = (word: string) => logs.filter((l) => l.includes(word)).length;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 800);
    assert.equal(await probe(port), 200, 'one stall is not overload');
    const overloadedBefore = count('overloaded (');
    const recoveredBefore = count('recovered');
    // Stall the loop (the stimulus, not a measurement) three times for 800 ms, letting timers run in
    // between: sustained lag, where a single stall would not count. Recovery then needs a second of
    // calm, which leaves the probes below time to see the overloaded state.
    for (let i = 0; i < 3; i++) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 800);
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    await waitFor(() => count('overloaded (') > overloadedBefore, { timeoutMs: 3000, what: 'the guard to notice' });
    assert.equal(await probe(port), 'refused');
    kept.write('GET / HTTP/1.1\r\nHost: o.example.com\r\n\r\n');
    await waitFor(() => keptText.includes('\r\n\r\n'), { timeoutMs: 3000, what: 'an answer on the open connection' });
    assert.match(keptText, /^HTTP\/1\.1 503 /, 'requests on open connections get 503 while overloaded');
    kept.destroy();
    await waitFor(() => count('recovered') > recoveredBefore, { timeoutMs: 15_000, what: 'recovery' });
    assert.equal(await probe(port), 200);
  } finally {
    await plane.drain(200);
    await up.close();
  }
});
