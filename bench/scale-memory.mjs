#!/usr/bin/env node
// Where a single gateway process's memory goes at configuration scale: runs the real `serve()` (one
// process, `--workers 1`) in this process on the scale config (10,000 hosts, 50,000 routes, 1,000
// ServiceEntries), and after ready prints RSS split into anonymous / file-backed (/proc/self/status),
// process.memoryUsage() (heap used / total, external, arrayBuffers) and V8's heap spaces (used vs
// committed), then again after `--settle` seconds and after a forced full GC (with --expose-gc).
//   node --expose-gc bench/scale-memory.mjs [--hosts 10000] [--routes 50000] [--services 1000]
//     [--dist DIR/dist] [--settle 3] [--heap-snapshot FILE]
// --dist runs another build's modules (e.g. a baseline commit built into /tmp) in the same harness.
// Node flags (e.g. --max-semi-space-size) go on this process's command line: they apply to the gateway.
// Ports: ephemeral, loopback only. Everything runs in this process and ends with it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadavg, tmpdir } from 'node:os';
import v8 from 'node:v8';
import { freePort, sleep } from './lib/procs.mjs';
import { manifests, parseScaleArgs } from './lib/scale-manifests.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const o = { hosts: 10_000, routes: 50_000, services: 1_000, rounds: 1, dist: resolve(here, '..', 'dist'), settle: 3, heapSnapshot: undefined };
parseScaleArgs('scale-memory', o, 1, (flag, val) => {
  switch (flag) {
    case '--dist': o.dist = resolve(val()); return true;
    case '--settle': o.settle = Math.max(0, Math.min(60, Number(val()))); return true;
    case '--heap-snapshot': o.heapSnapshot = resolve(val()); return true;
    default: return false;
  }
});

const MiB = 1024 * 1024;
const f = (bytes) => (bytes / MiB).toFixed(1);

function status() {
  const text = readFileSync('/proc/self/status', 'utf8');
  const kib = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kib('VmRSS'), anon: kib('RssAnon'), file: kib('RssFile'), hwm: kib('VmHWM') };
}

function report(label) {
  const s = status();
  const m = process.memoryUsage();
  const spaces = v8.getHeapSpaceStatistics()
    .filter((sp) => sp.space_size > 0)
    .map((sp) => `${sp.space_name.replace(/_space$/, '')} ${f(sp.space_used_size)}/${f(sp.physical_space_size)}`)
    .join(', ');
  console.log(`${label}: RSS ${f(s.rss)} MiB (anon ${f(s.anon)}, file ${f(s.file)}; peak ${f(s.hwm)})  heap used ${f(m.heapUsed)} / total ${f(m.heapTotal)}  external ${f(m.external)} (arrayBuffers ${f(m.arrayBuffers)})`);
  console.log(`  spaces used/physical MiB: ${spaces}`);
  const malloc = s.anon - v8.getHeapStatistics().total_physical_size;
  console.log(`  anonymous not in V8's heap (malloc, buffers, stacks): ${f(malloc)} MiB`);
  return s;
}

async function main() {
  console.log(`scale-memory ${new Date().toISOString()}  node ${process.version}  load avg ${loadavg().map((x) => x.toFixed(2)).join(' ')}  dist ${o.dist}  flags ${process.execArgv.join(' ')}`);
  const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-scale-memory-'));
  try {
    mkdirSync(join(tmp, 'config'));
    let bytes = 0;
    for (const file of manifests(o, { upstream: 9 })) {
      writeFileSync(join(tmp, 'config', file.path), file.text);
      bytes += file.text.length;
    }
    console.log(`${o.hosts} hosts, ${o.routes} routes, ${o.services} services: ${f(bytes)} MiB of YAML`);
    const { parseServeArgs } = await import(pathToFileURL(join(o.dist, 'cli', 'args.js')).href);
    const { serve } = await import(pathToFileURL(join(o.dist, 'cli', 'serve.js')).href);
    const [port, statusPort, statsPort, adminPort] = await Promise.all([1, 2, 3, 4].map(() => freePort()));
    const t0 = process.cpuUsage();
    const w0 = Date.now();
    const gateway = await serve(parseServeArgs(['--config', join(tmp, 'config'), '--bind', '127.0.0.1', '--port-map', `80=${port}`,
      '--status-port', String(statusPort), '--stats-port', String(statsPort), '--admin-port', String(adminPort),
      '--ca-dir', join(tmp, 'ca'), '--access-log-format', 'off', '--log-level', 'warn', '--workers', '1']));
    const cpu = process.cpuUsage(t0);
    console.log(`ready after ${Date.now() - w0} ms wall, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU`);
    report('at ready');
    await sleep(o.settle * 1000);
    report(`after ${o.settle} s`);
    if (globalThis.gc) {
      globalThis.gc();
      globalThis.gc();
      report('after gc() x2');
    }
    if (o.heapSnapshot) {
      const file = v8.writeHeapSnapshot(o.heapSnapshot);
      console.log(`heap snapshot: ${file}`);
    }
    await gateway.shutdown('probe done');
    await gateway.stopped;
    console.log(`load avg at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(`scale-memory: ${err.stack ?? err}`);
  process.exit(1);
});
