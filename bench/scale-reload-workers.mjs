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
