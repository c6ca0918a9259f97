// node:cluster scheduling for `--workers 2`: SCHED_RR (the primary accepts every connection and hands it to a
// worker over IPC) against SCHED_NONE (workers accept from the shared socket), interleaved rounds in one run.
// Per policy: req/s, CPU µs per request of the primary and of the workers (utime+stime from /proc), and how
// the requests split between workers (the admin port's /workers). A directResponse route, so the upstream
// is out of the picture. Modes: `keepalive` (64 connections) or `close` (Connection: close, 16 connections:
// one new connection per request).
//   node bench/workers-sched.mjs keepalive|close [rounds]     (after npm run build; needs wrk)
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireMachineLock, freePort, sleep } from './lib/procs.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2] === 'close' ? 'close' : 'keepalive';
const rounds = Number(process.argv[3] ?? 3);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const cpuOf = (pid) => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').slice(0);
    const a = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return ((Number(a[11]) + Number(a[12])) * 1e6) / CLK_TCK;
  } catch {
    return 0;
  }
};
const childrenOf = (pid) =>
  readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((p) => {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8');
      return Number(f.slice(f.lastIndexOf(')') + 2).split(' ')[1]) === pid;
    } catch {
      return false;
    }
  });

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sched-'));
writeFileSync(join(dir, 'gw.yaml'), `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: default}
spec:
  hosts: ["*"]
  gateways: ["istio-system/gw"]
  http:
  - directResponse: {status: 200, body: {string: "hi"}}
`);
const release = await acquireMachineLock('/tmp/gatehouse-bench.lock', 900_000, (h) => console.error(`waiting for the benchmark lock (PID ${h})`));
const rows = [];
try {
  for (let round = 0; round < rounds; round++) {
    for (const policy of ['rr', 'none']) {
      const [port, status, stats, admin] = await Promise.all([1, 2, 3, 4].map(() => freePort()));
      const gw = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'serve', '--config', dir, '--port-map', `80=${port}`,
        '--status-port', String(status), '--stats-port', String(stats), '--admin-port', String(admin), '--bind', '127.0.0.1',
        '--workers', '2', '--access-log-format', 'off', '--log-level', 'warn', '--ca-dir', join(dir, 'ca')],
        { env: { ...process.env, NODE_CLUSTER_SCHED_POLICY: policy }, stdio: 'ignore' });
      try {
        for (let i = 0; i < 300; i++) {
          if ((await fetch(`http://127.0.0.1:${status}/healthz/ready`).catch(() => undefined))?.status === 200) break;
          await sleep(100);
        }
        const workers = async () => (await (await fetch(`http://127.0.0.1:${admin}/workers`)).json()).workers;
        execFileSync('wrk', ['-t', '1', '-c', '16', '-d', '2s', `http://127.0.0.1:${port}/`]); // warm-up
        const w0 = await workers();
        const pids = [gw.pid, ...childrenOf(gw.pid)];
        const c0 = pids.map(cpuOf);
        const out = execFileSync('wrk', ['-t', '1', '-c', mode === 'close' ? '16' : '64', '-d', '5s',
          ...(mode === 'close' ? ['-H', 'Connection: close'] : []), `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
        const c1 = pids.map(cpuOf);
        const w1 = await workers();
        const served = w1.map((w) => w.requestsTotal - (w0.find((x) => x.pid === w.pid)?.requestsTotal ?? 0));
        const total = served.reduce((a, b) => a + b, 0);
        rows.push({
          round, policy,
          'req/s': Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
          'primary µs/req': +((c1[0] - c0[0]) / total).toFixed(1),
          'workers µs/req': +(c1.slice(1).reduce((a, b, i) => a + b - c0[i + 1], 0) / total).toFixed(1),
          split: served.map((n) => `${Math.round((100 * n) / total)}%`).join('/'),
          load1: readFileSync('/proc/loadavg', 'utf8').split(' ')[0],
        });
      } finally {
        gw.kill('SIGTERM');
        await new Promise((r) => gw.once('exit', r));
      }
    }
  }
} finally {
  release();
  rmSync(dir, { recursive: true, force: true });
}
console.log(`mode ${mode}, ${rounds} rounds, wrk 1 thread, unpinned (2 cores shared with everything else)`);
console.table(rows);
