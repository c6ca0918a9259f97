#!/usr/bin/env node
// A pod at configuration scale, two builds side by side: `gatehouse serve --workers N` of this checkout
// and of a baseline build on the same scale config (10,000 hosts, 50,000 routes, 1,000 ServiceEntries),
// both up at once; memory of each process tree at ready, 5 s later and after load: VmRSS summed (counts
// node's file-backed code once per process), RssAnon summed, and PSS (smaps_rollup: shared pages split
// between the processes sharing them, what the pod costs the node); then wrk rounds alternating between
// the two (ABBA), gateway-tree CPU µs per request (utime+stime from /proc), medians and their ratio.
//   node bench/scale-pod.mjs --baseline-root DIR [--rounds 8] [--workers 2] [--hosts 10000] [--routes 50000] [--services 1000]
// Needs wrk. Loopback only; every process started here is stopped by its PID.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg, tmpdir } from 'node:os';
import { cpuMicros, freePort, processTree, readFirstLine, sleep, start, stopAll } from './lib/procs.mjs';
import { hostName, manifests, parseScaleArgs } from './lib/scale-manifests.mjs';
const here = dirname(fileURLToPath(import.meta.url));
const o = { hosts: 10_000, routes: 50_000, services: 1_000, rounds: 8, workers: 2, baselineRoot: undefined };
parseScaleArgs('scale-pod', o, 40, (flag, val) => {
  switch (flag) {
    case '--baseline-root': o.baselineRoot = resolve(val()); return true;
    case '--workers': o.workers = Math.max(1, Math.min(64, Number(val()))); return true;
    default: return false;
  }
});
if (!o.baselineRoot) throw new Error('scale-pod: --baseline-root DIR (a baseline build) is required');
const roots = { base: o.baselineRoot, now: resolve(here, '..') };
const rounds = o.rounds;
const get = (port, host, path) => new Promise((res, rej) => { const r = http.get({ host: '127.0.0.1', port, path, headers: { host }, agent: false, timeout: 2000 }, (x) => { x.resume(); x.on('end', () => res(x.statusCode)); }); r.on('timeout', () => r.destroy(new Error('timeout'))); r.on('error', rej); });
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
function mem(pid) { let rss = 0, anon = 0, pss = 0; for (const p of processTree(pid)) { try { const s = readFileSync(`/proc/${p}/status`, 'utf8'); rss += Number(/^VmRSS:\s+(\d+)/m.exec(s)[1]); anon += Number(/^RssAnon:\s+(\d+)/m.exec(s)[1]); pss += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))[1]); } catch {} } return `RSS ${(rss / 1024).toFixed(0)} anon ${(anon / 1024).toFixed(0)} PSS ${(pss / 1024).toFixed(0)} MiB`; }
const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-scale-pod-'));
try {
  console.log(`scale-pod ${new Date().toISOString()}  node ${process.version}  load avg ${loadavg().map((x) => x.toFixed(2)).join(' ')}  --workers ${o.workers}  baseline ${o.baselineRoot}`);
  const upstream = start('upstream', process.execPath, [join(here, 'lib', 'upstream.mjs')], { pipeStdout: true });
  const up = JSON.parse(await readFirstLine(upstream, 10000)).http;
  mkdirSync(join(tmp, 'config'), { recursive: true });
  for (const f of manifests(o, { upstream: up })) writeFileSync(join(tmp, 'config', f.path), f.text);
  const gws = {};
  for (const [name, root] of Object.entries(roots)) {
    const [port, sp, st, ap] = await Promise.all([1, 2, 3, 4].map(() => freePort()));
    const child = start(`gw-${name}`, process.execPath, [join(root, 'dist/cli/main.js'), 'serve', '--config', join(tmp, 'config'), '--bind', '127.0.0.1', '--port-map', `80=${port}`, '--status-port', String(sp), '--stats-port', String(st), '--admin-port', String(ap), '--ca-dir', join(tmp, `ca-${name}`), '--access-log-format', 'off', '--log-level', 'warn', '--workers', String(o.workers)], { logFile: join(tmp, `${name}.log`), cwd: root });
    for (;;) { try { if ((await get(sp, '127.0.0.1', '/healthz/ready')) === 200) break; } catch {} await sleep(200); }
    gws[name] = { child, port, cpu: [] };
    console.log(`${name}: ready; ${mem(child.pid)}`);
  }
  await sleep(5000);
  for (const [name, g] of Object.entries(gws)) console.log(`${name}: ready+5s; ${mem(g.child.pid)}`);
  // The scaled host in the middle, on its second-to-last route, as bench/scale-serve.mjs.
  const host = hostName(Math.floor(o.hosts / 2));
  const path = `/api/v${Math.max(0, Math.floor(o.routes / o.hosts) - 2)}/x`;
  for (const g of Object.values(gws)) { if ((await get(g.port, host, path)) !== 200) throw new Error('not 200'); execFileSync('wrk', ['-t1', '-c8', '-d2s', '-H', `Host: ${host}`, `http://127.0.0.1:${g.port}${path}`]); }
  const order = ['base', 'now'];
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 ? [...order].reverse() : order) {
      const g = gws[name];
      const c0 = cpuMicros(g.child.pid);
      const out = execFileSync('wrk', ['-t1', '-c8', '-d3s', '-H', `Host: ${host}`, `http://127.0.0.1:${g.port}${path}`], { encoding: 'utf8' });
      const c1 = cpuMicros(g.child.pid);
      const n = Number(/(\d+) requests in/.exec(out)[1]);
      if (/Non-2xx/.test(out)) throw new Error('non-2xx');
      g.cpu.push((c1 - c0) / n);
    }
  }
  for (const [name, g] of Object.entries(gws)) console.log(`${name}: CPU µs/req median ${median(g.cpu).toFixed(1)} [${g.cpu.map((x) => x.toFixed(1)).join(', ')}]; after load ${mem(g.child.pid)}`);
  console.log(`now/base ${(median(gws.now.cpu) / median(gws.base.cpu)).toFixed(2)}x; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
} finally { await stopAll(); rmSync(tmp, { recursive: true, force: true }); }
