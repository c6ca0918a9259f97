// A 1 GiB response to a client that stops reading, then reads it all: the gateway's buffering per
// connection is bounded by backpressure, so while the reader is stalled its resident memory grows by
// under 64 MiB; reading through at full speed adds garbage-collection churn (measured 54-68 MiB of RSS
// on 2 cores), never the response itself (bounded here at 128 MiB); the client gets every byte.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { waitFor } from '../../support/wait.js';
import { startHostileFixture, HOST, type HostileFixture } from './fixture.js';
import { sendRaw, statuses } from './raw-client.js';

const GIB = 1024 * 1024 * 1024;
const STALLED_LIMIT = 64 * 1024 * 1024;
const OVERALL_LIMIT = 128 * 1024 * 1024;

let f: HostileFixture;
before(async () => {
  f = await startHostileFixture({ routeExtra: '    timeout: 0s\n' });
});
after(async () => {
  await f?.stop();
});

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

test('a stalled reader of a 1 GiB response grows the gateway by less than 64 MiB and then gets every byte', { timeout: 120_000 }, async (t) => {
  const pid = f.gw.child.pid as number;
  assert.deepEqual(statuses((await sendRaw(f.port, `GET /warm HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`)).text), [200]);
  const baseline = rssBytes(pid);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 20);
  const socket = net.connect(f.port, '127.0.0.1');
  try {
    let received = 0;
    let headerEnd = -1;
    let head = '';
    const done = new Promise<void>((resolve, reject) => {
      socket.on('data', (d: Buffer) => {
        if (headerEnd < 0) {
          head += d.toString('latin1');
          headerEnd = head.indexOf('\r\n\r\n');
          if (headerEnd >= 0) received = head.length - headerEnd - 4;
        } else received += d.length;
        if (received >= GIB) resolve();
      });
      socket.on('close', () => (received >= GIB ? resolve() : reject(new Error(`closed after ${received} body bytes`))));
      socket.on('error', reject);
    });
    socket.write(`GET /fault/big?bytes=${GIB} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`);
    socket.pause();
    // The reader is stalled: backpressure must reach the upstream, which then stops writing.
    const stalls = f.upstream.stalls;
    await waitFor(() => f.upstream.stalls > stalls, { timeoutMs: 20_000, what: 'backpressure to reach the upstream' });
    const stalledPeak = peak;
    socket.resume();
    await done;
    const growth = peak - baseline;
    t.diagnostic(`gateway RSS baseline ${(baseline / 2 ** 20).toFixed(1)} MiB; peak while stalled ${((stalledPeak - baseline) / 2 ** 20).toFixed(1)} MiB over it; peak overall ${(growth / 2 ** 20).toFixed(1)} MiB over it`);
    assert.match(head, /^HTTP\/1\.1 200 /);
    assert.equal(received, GIB);
    assert.ok(stalledPeak - baseline < STALLED_LIMIT, `gateway grew by ${((stalledPeak - baseline) / 2 ** 20).toFixed(1)} MiB for a stalled reader`);
    assert.ok(growth < OVERALL_LIMIT, `gateway grew by ${(growth / 2 ** 20).toFixed(1)} MiB`);
  } finally {
    clearInterval(sampler);
    socket.destroy();
  }
});
