#!/usr/bin/env node
// Serving at configuration scale: a real `gatehouse serve` on the scale config (10,000 hosts, 50,000
// routes, 1,000 ServiceEntries, all pointing at one loopback upstream) next to one on a one-host,
// one-route config built by the same generator; wrk against each, interleaved round by round, reporting
// the gateway's CPU µs per request (utime+stime from /proc) and their ratio; plus each gateway's time to
// ready and RSS (idle after start, and after load).
//   node bench/scale-serve.mjs [--hosts 10000] [--routes 50000] [--services 1000] [--rounds 5]
//     [--seconds 5] [--connections 8] [--root DIR] [--node-flags "--flag ..."] [--workers N] [--rate R]
// --rate R: instead of wrk at saturation, bench/fixed-rate.mjs sends R req/s (each gateway gets the same
// arrivals, so CPU per request does not depend on how requests batch), with the gateway pinned to core 0
// and the upstream and client to core 1 (taskset, 2+ cores); use with --workers 1.
// --root DIR runs DIR/dist/cli/main.js (e.g. a baseline commit built into /tmp); default this checkout.
// --node-flags passes V8/node flags to the gateways (e.g. to price a heap setting before cli/ adopts it).
// --workers N is passed to `gatehouse serve` (default: its own, one data-plane process per core). RSS is
// the sum over the gateway's process tree (primary and workers).
// Needs wrk. Loopback only; every process started here is stopped by its PID.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg, tmpdir } from 'node:os';
import { cpuMicros, freePort, peakRssKiB, pinningPlan, readFirstLine, rssKiB, sleep, start, stop, stopAll, which } from './lib/procs.mjs';
import { hostName, manifests, parseScaleArgs } from './lib/scale-manifests.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const o = { hosts: 10_000, routes: 50_000, services: 1_000, rounds: 5, seconds: 5, connections: 8, root: resolve(here, '..'), readyTimeout: 600, nodeFlags: [], workers: undefined, rate: 0 };
parseScaleArgs('scale-serve', o, 20, (flag, val) => {
  switch (flag) {
    case '--seconds': o.seconds = Math.max(1, Math.min(60, Number(val()))); return true;
    case '--connections': o.connections = Math.max(1, Math.min(256, Number(val()))); return true;
    case '--root': o.root = resolve(val()); return true;
    case '--node-flags': o.nodeFlags = val().split(/\s+/).filter(Boolean); return true;
    case '--workers': o.workers = Math.max(1, Math.min(64, Number(val()))); return true;
    case '--rate': o.rate = Math.max(1, Math.min(50_000, Number(val()))); return true;
    default: return false;
  }
});

const pin = o.rate ? pinningPlan() : { taskset: undefined };
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const mib = (kib) => (kib / 1024).toFixed(0);

function get(port, host, path) {
  return new Promise((resolveGet, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers: { host }, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolveGet(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function waitReady(child, statusPort, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`gateway exited (${child.exitCode ?? child.signalCode})`);
    try {
      if ((await get(statusPort, '127.0.0.1', '/healthz/ready')) === 200) return;
    } catch {}
    await sleep(200);
  }
  throw new Error(`gateway not ready after ${timeoutMs} ms`);
}

async function startGateway(name, files, tmp) {
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'config'), { recursive: true });
  for (const f of files) writeFileSync(join(dir, 'config', f.path), f.text);
  const [port, statusPort, statsPort, adminPort] = await Promise.all([1, 2, 3, 4].map(() => freePort()));
  const args = [...o.nodeFlags, join(o.root, 'dist', 'cli', 'main.js'), 'serve', '--config', join(dir, 'config'), '--bind', '127.0.0.1', '--port-map', `80=${port}`,
    '--status-port', String(statusPort), '--stats-port', String(statsPort), '--admin-port', String(adminPort),
    '--ca-dir', join(dir, 'ca'), '--access-log-format', 'off', '--log-level', 'warn', ...(o.workers ? ['--workers', String(o.workers)] : [])];
  const t0 = Date.now();
  const child = start(`gatehouse-${name}`, process.execPath, args, { logFile: join(dir, 'gateway.log'), cwd: o.root, cpu: pin.proxy, taskset: pin.taskset });
  await waitReady(child, statusPort, o.readyTimeout * 1000);
  return { name, child, port, readyMs: Date.now() - t0, idleRss: rssKiB(child.pid), startPeakRss: peakRssKiB(child.pid) };
}

function wrk(wrkPath, port, host, path) {
  const out = execFileSync(wrkPath, ['-t', '1', '-c', String(o.connections), '-d', `${o.seconds}s`, '--timeout', '5s', '-H', `Host: ${host}`,
    `http://127.0.0.1:${port}${path}`], { encoding: 'utf8', timeout: (o.seconds + 30) * 1000 });
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  if (!requests) throw new Error(`wrk: no request count in ${out}`);
  return { requests, non2xx };
}

/** The fixed-rate client (its own process, on the load generator's core): requests and non-2xx, as wrk() gives. */
async function fixedRate(port, host, path) {
  const child = start('fixed-rate', process.execPath, [join(here, 'fixed-rate.mjs'), `http://127.0.0.1:${port}${path}`, String(o.rate), String(o.connections), String(o.seconds), host],
    { cpu: pin.loadgen, taskset: pin.taskset, pipeStdout: true });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => (out += d));
  await new Promise((resolveExit) => child.once('exit', resolveExit));
  const line = out.split('\n').find((l) => l.startsWith('FIXED_JSON '));
  if (!line) throw new Error(`fixed-rate client produced no summary: ${out.slice(-300)}`);
  const r = JSON.parse(line.slice('FIXED_JSON '.length));
  if (r.errors > 0) throw new Error(`fixed-rate: ${r.errors} errors`);
  return { requests: r.requests, non2xx: r.non2xx };
}

const load = (wrkPath, port, host, path) => (o.rate ? fixedRate(port, host, path) : wrk(wrkPath, port, host, path));

async function main() {
  const wrkPath = which('wrk');
  if (!wrkPath && !o.rate) throw new Error('wrk is not installed');
  console.log(`scale-serve ${new Date().toISOString()}  node ${process.version}  load avg ${loadavg().map((x) => x.toFixed(2)).join(' ')}  root ${o.root}${o.nodeFlags.length ? `  node flags ${o.nodeFlags.join(' ')}` : ''}${o.workers ? `  --workers ${o.workers}` : ''}`);
  const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-scale-serve-'));
  try {
    const upstream = start('upstream', process.execPath, [join(here, 'lib', 'upstream.mjs')], { pipeStdout: true, cpu: pin.upstream, taskset: pin.taskset });
    const upstreamPort = JSON.parse(await readFirstLine(upstream, 10_000)).http;
    // The scaled host in the middle, on its second-to-last route (a prefix match: every earlier one is tried).
    const perHost = Math.floor(o.routes / o.hosts);
    const host = Math.floor(o.hosts / 2);
    const path = `/api/v${Math.max(0, perHost - 2)}/x`;
    const small = await startGateway('one-route', manifests({ hosts: 1, routes: perHost, services: 1 }, { upstream: upstreamPort }), tmp);
    console.log(`one host, ${perHost} routes: ready after ${small.readyMs} ms, idle RSS ${mib(small.idleRss)} MiB, peak RSS while starting ${mib(small.startPeakRss)} MiB`);
    const scaled = await startGateway('scale', manifests(o, { upstream: upstreamPort }), tmp);
    console.log(`${o.hosts} hosts, ${o.routes} routes, ${o.services} services: ready after ${scaled.readyMs} ms, idle RSS ${mib(scaled.idleRss)} MiB, peak RSS while starting ${mib(scaled.startPeakRss)} MiB (VmHWM${o.workers === 1 ? '' : ', summed over the processes'})`);
    const targets = [
      { gw: small, host: hostName(0), cpu: [] },
      { gw: scaled, host: hostName(host), cpu: [] },
    ];
    for (const t of targets) {
      const status = await get(t.gw.port, t.host, path);
      if (status !== 200) throw new Error(`${t.gw.name}: GET ${t.host}${path} answered ${status}`);
      await load(wrkPath, t.gw.port, t.host, path); // warm-up, not counted
    }
    for (let round = 0; round < o.rounds; round++) {
      for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
        const c0 = cpuMicros(t.gw.child.pid);
        const r = await load(wrkPath, t.gw.port, t.host, path);
        const c1 = cpuMicros(t.gw.child.pid);
        if (r.non2xx > 0) throw new Error(`${t.gw.name}: ${r.non2xx} non-2xx responses`);
        t.cpu.push((c1 - c0) / r.requests);
      }
    }
    const [a, b] = targets;
    console.log(`gateway CPU µs/req (median of ${o.rounds}, ${o.connections} connections, ${o.seconds} s each${o.rate ? `, ${o.rate} req/s fixed rate; ${pin.describe}` : ', wrk at saturation'}):`);
    console.log(`  one-route ${median(a.cpu).toFixed(1)}   [${a.cpu.map((x) => x.toFixed(1)).join(', ')}]`);
    console.log(`  scale     ${median(b.cpu).toFixed(1)}   [${b.cpu.map((x) => x.toFixed(1)).join(', ')}]`);
    console.log(`  throughput per CPU, scale / one-route: ${(median(a.cpu) / median(b.cpu)).toFixed(2)}x   (goal >= 0.9x)`);
    console.log(`RSS after load: one-route ${mib(rssKiB(small.child.pid))} MiB, scale ${mib(rssKiB(scaled.child.pid))} MiB   (goal < 300 MB at scale); peak: one-route ${mib(peakRssKiB(small.child.pid))} MiB, scale ${mib(peakRssKiB(scaled.child.pid))} MiB`);
    console.log(`load avg at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  } finally {
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch(async (err) => {
  console.error(`scale-serve: ${err.stack ?? err}`);
  await stopAll();
  process.exit(1);
});
