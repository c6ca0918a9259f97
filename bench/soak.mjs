// Memory under sustained load: the gateway (one process) serves wrk over keep-alive HTTP and HTTPS,
// alternating in slices, for --minutes; its RSS and V8 heap (from /proc and the stats port) are sampled
// after each slice. "Flat" means the last samples sit where the first ones after warm-up did.
//   node bench/soak.mjs [--minutes 10] [--slice 30] [--connections 64]
// Loopback only; every process it starts is stopped by PID at the end.
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeCertificate, writeIstioConfig } from './lib/config.mjs';
import { detectLoadGenerator, runLoad, INSTALL_HINT } from './lib/loadgen.mjs';
import { pinningPlan, start, stopAll, killAllSync, freePort, rssKiB, readFirstLine, sleep } from './lib/procs.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const o = { minutes: 10, slice: 30, connections: 64 };
for (let i = 2; i < process.argv.length; i++) {
  const [flag, inline] = process.argv[i].includes('=') ? process.argv[i].split('=', 2) : [process.argv[i], undefined];
  const val = () => Number(inline ?? process.argv[++i]);
  switch (flag) {
    case '--minutes': o.minutes = Math.max(1, Math.min(60, val())); break;
    case '--slice': o.slice = Math.max(5, Math.min(120, val())); break;
    case '--connections': o.connections = Math.max(1, Math.min(512, val())); break;
    default: console.error(`soak: unknown option ${process.argv[i]}`); process.exit(2);
  }
}

/** The gateway's own heap figures from its stats port (prom-client's default process metrics). */
async function heapMiB(statsPort) {
  const text = await (await fetch(`http://127.0.0.1:${statsPort}/stats/prometheus`)).text();
  const pick = (name) => Number(text.match(new RegExp(`^${name} (\\S+)`, 'm'))?.[1] ?? NaN) / 1048576;
  return { heapUsed: pick('nodejs_heap_size_used_bytes'), heapTotal: pick('nodejs_heap_size_total_bytes') };
}

async function main() {
  const gen = detectLoadGenerator();
  if (!gen) throw new Error(INSTALL_HINT);
  process.on('exit', killAllSync);
  process.on('SIGINT', () => stopAll().finally(() => process.exit(130)));
  const pin = pinningPlan();
  const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-soak-'));
  const { cert, key } = makeCertificate(tmp);
  const upstream = start('upstream', process.execPath, [join(here, 'lib', 'upstream.mjs'), '--cert', cert, '--key', key],
    { cpu: pin.upstream, taskset: pin.taskset, logFile: join(tmp, 'upstream.log'), pipeStdout: true });
  const up = JSON.parse(await readFirstLine(upstream, 10_000));
  const [httpPort, httpsPort, statusPort, statsPort, adminPort] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
  mkdirSync(join(tmp, 'config'));
  writeIstioConfig(join(tmp, 'config'), { httpPort, httpsPort, upstreamPort: up.http, cert, key });
  const gw = start('gatehouse', process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'serve', '--workers', '1', '--config', join(tmp, 'config'),
    '--status-port', String(statusPort), '--stats-port', String(statsPort), '--admin-port', String(adminPort), '--bind', '127.0.0.1'],
  { cpu: pin.proxy, taskset: pin.taskset, logFile: join(tmp, 'gateway.log'), cwd: root });
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`http://127.0.0.1:${statusPort}/healthz/ready`).then((r) => r.status === 200, () => false);
    if (ok) break;
    await sleep(200);
  }
  console.log(`soak ${new Date().toISOString()}  load avg ${loadavg().map((x) => x.toFixed(2)).join(' ')}  ${o.minutes} min, ${o.slice} s slices, ${o.connections} connections, ${pin.describe}`);
  console.log(`idle: RSS ${(rssKiB(gw.pid) / 1024).toFixed(1)} MiB`);
  console.log('minute  proto  req/s   errors  RSS MiB  heap used MiB  heap total MiB');
  const load = { connections: o.connections, pin, tmpDir: tmp, logFile: join(tmp, 'loadgen.log') };
  const began = Date.now();
  const samples = [];
  for (let slice = 0; Date.now() - began < o.minutes * 60_000; slice++) {
    const proto = slice % 2 === 0 ? 'http' : 'https';
    const url = proto === 'http' ? `http://127.0.0.1:${httpPort}/1k` : `https://localhost:${httpsPort}/1k`;
    const r = await runLoad(gen, { ...load, url, seconds: o.slice });
    const rss = rssKiB(gw.pid) / 1024;
    const heap = await heapMiB(statsPort);
    samples.push(rss);
    console.log(`${((Date.now() - began) / 60_000).toFixed(1).padStart(6)}  ${proto.padEnd(5)}  ${r.rps.toFixed(0).padStart(6)}  ${String(r.errors + r.non2xx).padStart(6)}  ${rss.toFixed(1).padStart(7)}  ${heap.heapUsed.toFixed(1).padStart(13)}  ${heap.heapTotal.toFixed(1).padStart(14)}`);
  }
  const third = Math.max(1, Math.floor(samples.length / 3));
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`RSS median, first third after warm-up ${median(samples.slice(1, 1 + third)).toFixed(1)} MiB; last third ${median(samples.slice(-third)).toFixed(1)} MiB`);
  await stopAll();
}

main().catch(async (err) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
