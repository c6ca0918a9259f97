#!/usr/bin/env node
// A one-VirtualService change at configuration scale with `--workers 2`: the whole path from the primary's
// publish to the last worker's 'gh:applied'. This process is the primary: it builds the scale config in
// process (parse cache + build, as the control plane does), starts the worker pool of the build under test
// (cli/worker-pool.js, forking this script, whose workers run cli/worker.js), publishes the cold snapshot,
// then per round re-parses the edited file, builds with the live snapshot as `previous` and times
// `pool.apply(snapshot)` (resolved when every worker acknowledged it): wall time, the primary's CPU in it
// (encode + IPC writes: process.cpuUsage) and each worker's CPU in it (decode + data-plane apply + IPC read:
// the sum of /proc/PID/task/*/schedstat run time, ns resolution, every thread).
//   node --expose-gc bench/scale-reload-workers.mjs [--rounds 7] [--dist DIR/dist] [--workers 2]
//     [--hosts 10000] [--routes 50000] [--services 1000]
// --dist runs another build (e.g. a baseline commit built into /tmp) in the same harness. Bounded: the
// cold parse and build (~15-40 s under load), then rounds of one publish each; workers drained at the end.
// --pod instead runs the pod itself, `gatehouse serve --workers N` of that build (DIR/../dist/cli/main.js)
// on the scale config written to a temp directory, and times each edit from the file's write to every
// worker reporting the new generation on the admin port's /workers (polled every 10 ms): what a user sees,
// the directory source's settle and the control plane's 100 ms quiet period included. The gateway is
// stopped by its PID at the end.
import cluster from 'node:cluster';
import { readdirSync, readFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadavg } from 'node:os';
import { manifests, parseScaleArgs } from './lib/scale-manifests.mjs';

const DIST_ENV = 'GATEHOUSE_BENCH_DIST';

if (cluster.isWorker) {
  const { runWorker } = await import(pathToFileURL(join(process.env[DIST_ENV], 'cli/worker.js')).href);
  // As cli/main.ts does: the IPC channel would keep a drained worker alive.
  process.exit(await runWorker());
} else {
  await primary();
}

async function primary() {
  const here = dirname(fileURLToPath(import.meta.url));
  const o = { hosts: 10_000, routes: 50_000, services: 1_000, rounds: 7, workers: 2, dist: resolve(here, '..', 'dist') };
  parseScaleArgs('scale-reload-workers', o, 30, (flag, val) => {
    switch (flag) {
      case '--dist': o.dist = resolve(val()); return true;
      case '--workers': o.workers = Math.max(2, Number(val())); return true;
      case '--pod': o.pod = true; return true;
      default: return false;
    }
  });
  process.env[DIST_ENV] = o.dist;
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const cpuMs = (c) => (c.user + c.system) / 1000;
  /** A process's CPU time so far, every thread, in ms (schedstat: ns on the CPU). */
  const processCpuMs = (pid) => {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // A thread that ended between the listing and the read.
      }
    }
    return ns / 1e6;
  };
  const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
  console.log(`scale-reload-workers ${new Date().toISOString()}  node ${process.version}  load avg ${load()}  dist ${o.dist}  --workers ${o.workers}`);

  if (o.pod) return viaPod(o, median, load);
  const { ParseCache, sha256 } = await import(pathToFileURL(join(o.dist, 'control/sources/parse-cache.js')).href);
  const { buildSnapshot } = await import(pathToFileURL(join(o.dist, 'control/build.js')).href);
  const { parseServeArgs } = await import(pathToFileURL(join(o.dist, 'cli/args.js')).href);
  const { startWorkerPool } = await import(pathToFileURL(join(o.dist, 'cli/worker-pool.js')).href);
  const options = { identity: { labels: { istio: 'ingressgateway' }, namespace: 'istio-system', serviceAccount: 'istio-ingressgateway' }, domainSuffix: 'cluster.local' };
  const asCached = (f) => ({ rel: f.path, display: f.path, text: f.text, hash: sha256(f.text) });
  const changedHost = Math.floor(o.hosts / 2);
  const changedPath = `virtual-services-${String(Math.floor(changedHost / 100)).padStart(3, '0')}.yaml`;
  const variants = Array.from({ length: o.rounds }, (_, round) => asCached(manifests(o, { variant: round + 1, changedHost }).find((f) => f.path === changedPath)));
  let files = manifests(o).map(asCached);
  const cache = new ParseCache('default', 0);
  let parsed = cache.parse(files);
  let built = buildSnapshot(parsed.resources, parsed.diagnostics, options, undefined);
  if (built.ok !== true) throw new Error('cold build failed');
  let live = built.snapshot;
  globalThis.gc?.();

  // The gateway's port 80 on an ephemeral loopback port, shared by the workers; nothing is served here.
  const serveOptions = parseServeArgs(['--config', '/nonexistent', '--workers', String(o.workers), '--bind', '127.0.0.1',
    '--port-map', '80=0', '--access-log-format', 'off', '--log-level', 'warn']);
  const log = (level, message) => console.error(`[${level}] ${message}`);
  const pool = startWorkerPool(serveOptions, log);
  const pids = () => Object.values(cluster.workers).map((w) => w.process.pid);

  async function publish(snapshot) {
    const ids = pids();
    const w0 = ids.map(processCpuMs);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await pool.apply(snapshot);
    const wall = performance.now() - t0;
    const primaryCpu = cpuMs(process.cpuUsage(c0));
    const workerCpu = ids.map((pid, i) => processCpuMs(pid) - w0[i]);
    return { wall, primaryCpu, workerCpu };
  }

  const cold = await publish(live);
  console.log(`cold publish (every worker decodes the full snapshot): ${cold.wall.toFixed(0)} ms wall; primary CPU ${cold.primaryCpu.toFixed(0)} ms; workers CPU ${cold.workerCpu.map((x) => x.toFixed(0)).join(' / ')} ms`);
  const rows = [];
  for (let round = 0; round < o.rounds; round++) {
    files = files.map((f) => (f.rel === changedPath ? variants[round] : f));
    parsed = cache.parse(files);
    built = buildSnapshot(parsed.resources, parsed.diagnostics, options, live);
    if (built.ok !== true) throw new Error(`edit build: ${built.ok}`);
    live = built.snapshot;
    rows.push(await publish(live));
  }
  const fmt = (x) => x.toFixed(1).padStart(8);
  console.log(`\none VirtualService edited, ${o.rounds} rounds (load avg now ${load()}):`);
  console.log('round | publish → all applied ms | primary CPU ms | worker CPU ms (each)');
  rows.forEach((r, i) => console.log(`${String(i + 1).padStart(5)} | ${fmt(r.wall)} | ${fmt(r.primaryCpu)} | ${r.workerCpu.map(fmt).join(' ')}`));
  const workerMax = rows.map((r) => Math.max(...r.workerCpu));
  console.log(`median | ${fmt(median(rows.map((r) => r.wall)))} | ${fmt(median(rows.map((r) => r.primaryCpu)))} | ${fmt(median(workerMax))} (the busier worker per round)`);
  await pool.drain(1000);
}

async function viaPod(o, median, load) {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const http = await import('node:http');
  const { freePort } = await import('./lib/procs.mjs');
  const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-scale-reload-workers-'));
  const config = join(tmp, 'config');
  mkdirSync(config);
  for (const f of manifests(o, { upstream: 9 })) writeFileSync(join(config, f.path), f.text);
  const changedHost = Math.floor(o.hosts / 2);
  const changedPath = `virtual-services-${String(Math.floor(changedHost / 100)).padStart(3, '0')}.yaml`;
  const variants = Array.from({ length: o.rounds }, (_, round) => manifests(o, { variant: round + 1, changedHost, upstream: 9 }).find((f) => f.path === changedPath).text);
  const [base, statusPort, statsPort, adminPort] = await Promise.all([1, 2, 3, 4].map(() => freePort()));
  const child = spawn(process.execPath, [join(o.dist, 'cli', 'main.js'), 'serve', '--config', config, '--workers', String(o.workers), '--bind', '127.0.0.1',
    '--port-map', `80=${base}`, '--status-port', String(statusPort), '--stats-port', String(statsPort), '--admin-port', String(adminPort),
    '--ca-dir', join(tmp, 'ca'), '--access-log-format', 'off', '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const getJson = (port, path) => new Promise((res) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 2000 }, (r) => {
      let body = '';
      r.setEncoding('utf8').on('data', (d) => (body += d)).on('end', () => res({ status: r.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => res({ status: 0, body: '' }));
  });
  const generations = async () => {
    const r = await getJson(adminPort, '/workers');
    return r.status === 200 ? JSON.parse(r.body).workers.map((w) => w.generation) : [];
  };
  const pause = (ms) => new Promise((r) => setTimeout(r, ms));
  /** PSS (smaps_rollup: shared pages split) of the primary and each worker, and their sum. */
  const memory = (pid) => {
    const pids = [pid, ...readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)];
    const pss = pids.map((p) => Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))[1]) / 1024);
    return `PSS ${pss.map((x) => x.toFixed(0)).join(' + ')} = ${pss.reduce((a, b) => a + b, 0).toFixed(0)} MiB (primary + workers)`;
  };
  try {
    const t0 = Date.now();
    while ((await getJson(statusPort, '/healthz/ready')).status !== 200) {
      if (child.exitCode !== null || Date.now() - t0 > 600_000) throw new Error('the pod did not get ready');
      await pause(200);
    }
    console.log(`pod ready after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${memory(child.pid)}`);
    const rows = [];
    for (let round = 0; round < o.rounds; round++) {
      const before = Math.max(...(await generations()));
      const written = performance.now();
      writeFileSync(join(config, changedPath), variants[round]);
      for (;;) {
        const now = await generations();
        if (now.length === o.workers && now.every((g) => g > before)) break;
        if (performance.now() - written > 60_000) throw new Error('the edit did not reach every worker in 60 s');
        await pause(10);
      }
      rows.push(performance.now() - written);
    }
    console.log(`\none VirtualService edited, ${o.rounds} rounds (load avg now ${load()}): write → every worker on the new generation, ms`);
    console.log(`[${rows.map((x) => x.toFixed(0)).join(', ')}]  median ${median(rows).toFixed(0)}`);
    console.log(`after the edits: ${memory(child.pid)}`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    rmSync(tmp, { recursive: true, force: true });
  }
}
