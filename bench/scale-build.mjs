#!/usr/bin/env node
// One-resource builds at configuration scale, in process, without the directory source's timers: the
// scale manifests through control/sources/parse-cache (as the directory source parses them), one cold
// build, then rounds of one-VirtualService edits (re-parse of that one file through the cache, build with
// the live snapshot as `previous`), CPU time per build (process.cpuUsage), medians.
//   node --expose-gc bench/scale-build.mjs [--rounds 10] [--dist DIR] [--profile FILE.cpuprofile] [--heap-profile FILE.heapprofile]
//     [--hosts 10000] [--routes 50000] [--services 1000]
// --profile writes an inspector CPU profile of the edit builds only; --heap-profile a sampling allocation
// profile of them (collected objects included: what the builds allocate, not what they keep).
import { writeFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadavg } from 'node:os';
import { Session } from 'node:inspector/promises';
import { manifests, parseScaleArgs } from './lib/scale-manifests.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const o = { hosts: 10_000, routes: 50_000, services: 1_000, rounds: 10, dist: join(here, '..', 'dist'), profile: undefined };
parseScaleArgs('scale-build', o, 50, (flag, val) => {
  switch (flag) {
    case '--dist': o.dist = resolve(val()); return true;
    case '--profile': o.profile = resolve(val()); return true;
    case '--heap-profile': o.heapProfile = resolve(val()); return true;
    default: return false;
  }
});
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const cpuMs = (c) => (c.user + c.system) / 1000;

const { ParseCache, sha256 } = await import(pathToFileURL(join(o.dist, 'control/sources/parse-cache.js')).href);
const { buildSnapshot } = await import(pathToFileURL(join(o.dist, 'control/build.js')).href);
const options = { identity: { labels: { istio: 'ingressgateway' }, namespace: 'istio-system', serviceAccount: 'istio-ingressgateway' }, domainSuffix: 'cluster.local' };
console.log(`scale-build ${new Date().toISOString()}  node ${process.version}  load avg ${loadavg().map((x) => x.toFixed(2)).join(' ')}  dist ${o.dist}`);
const asCached = (f) => ({ rel: f.path, display: f.path, text: f.text, hash: sha256(f.text) });
const changedHost = Math.floor(o.hosts / 2);
const changedPath = `virtual-services-${String(Math.floor(changedHost / 100)).padStart(3, '0')}.yaml`;
// Each round's edited file, generated before anything is timed (generating 8 MiB of YAML per round would
// leave its garbage to the builds' GC).
const variants = Array.from({ length: o.rounds }, (_, round) => asCached(manifests(o, { variant: round + 1, changedHost }).find((f) => f.path === changedPath)));
let files = manifests(o).map(asCached);
const cache = new ParseCache('default', 0);
let c0 = process.cpuUsage();
let parsed = cache.parse(files);
console.log(`cold parse CPU ${cpuMs(process.cpuUsage(c0)).toFixed(0)} ms, ${parsed.resources.length} resources`);
c0 = process.cpuUsage();
let built = buildSnapshot(parsed.resources, parsed.diagnostics, options, undefined);
if (built.ok !== true) throw new Error('cold build failed');
let live = built.snapshot;
console.log(`cold build CPU ${cpuMs(process.cpuUsage(c0)).toFixed(0)} ms`);
globalThis.gc?.();
globalThis.gc?.();
const heapMiB = () => (process.memoryUsage().heapUsed / 2 ** 20).toFixed(1);
console.log(`heap used after the cold build (parse cache, live snapshot, build caches), gc'd: ${heapMiB()} MiB`);

let session;
if (o.profile) {
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
if (o.heapProfile) {
  session ??= new Session();
  try { session.connect(); } catch {}
  await session.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
}
const parseCpu = [];
const buildCpu = [];
for (let round = 0; round < o.rounds; round++) {
  files = files.map((f) => (f.rel === changedPath ? variants[round] : f));
  c0 = process.cpuUsage();
  parsed = cache.parse(files);
  parseCpu.push(cpuMs(process.cpuUsage(c0)));
  c0 = process.cpuUsage();
  built = buildSnapshot(parsed.resources, parsed.diagnostics, options, live);
  buildCpu.push(cpuMs(process.cpuUsage(c0)));
  if (built.ok !== true) throw new Error(`edit build: ${built.ok}`);
  live = built.snapshot;
}
if (o.heapProfile) {
  const { profile } = await session.post('HeapProfiler.stopSampling');
  writeFileSync(o.heapProfile, JSON.stringify(profile));
  console.log(`heap profile written to ${o.heapProfile}`);
}
if (o.profile) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(o.profile, JSON.stringify(profile));
  console.log(`profile written to ${o.profile}`);
}
globalThis.gc?.();
globalThis.gc?.();
console.log(`heap used after the edits, gc'd: ${heapMiB()} MiB`);
console.log(`one VirtualService edited, ${o.rounds} rounds: re-parse of its file CPU median ${median(parseCpu).toFixed(1)} ms; build CPU median ${median(buildCpu).toFixed(1)} ms  [${buildCpu.map((x) => x.toFixed(0)).join(', ')}]`);
