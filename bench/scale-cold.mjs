#!/usr/bin/env node
// Cold builds at configuration scale, in process: the scale manifests parsed once through
// control/sources/parse-cache (as the directory source parses them), then rounds of builds from scratch
// (no `previous`), each over fresh copies of every resource object (structuredClone, new Located
// wrappers, same origins), so no per-object cache of an earlier round applies. CPU time per build
// (process.cpuUsage), the first round (cold code, as at process start) and the median of the rest.
//   node --expose-gc bench/scale-cold.mjs [--rounds 5] [--dist DIR] [--profile FILE.cpuprofile] [--profile-round N] [--heap-profile FILE.heapprofile]
//     [--hosts 10000] [--routes 50000] [--services 1000] [--threads]
// --threads splits each build's CPU into the main thread's and the other threads' (V8's optimizing compiler
// and GC helpers), from /proc/self/task (Linux).
// --profile writes an inspector CPU profile of round N's build (default 0, the first); --heap-profile a
// sampling allocation profile of that build instead (collected objects included: what it allocates).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadavg } from 'node:os';
import { Session } from 'node:inspector/promises';
import { manifests, parseScaleArgs } from './lib/scale-manifests.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const o = { hosts: 10_000, routes: 50_000, services: 1_000, rounds: 5, dist: join(here, '..', 'dist'), profile: undefined, profileRound: 0 };
parseScaleArgs('scale-cold', o, 50, (flag, val) => {
  switch (flag) {
    case '--dist': o.dist = resolve(val()); return true;
    case '--profile': o.profile = resolve(val()); return true;
    case '--profile-round': o.profileRound = Number(val()); return true;
    case '--heap-profile': o.heapProfile = resolve(val()); return true;
    case '--threads': o.threads = true; return true;
    default: return false;
  }
});
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const cpuMs = (c) => (c.user + c.system) / 1000;
const heapMiB = () => (process.memoryUsage().heapUsed / 2 ** 20).toFixed(1);
/** utime+stime in ms per thread of this process (clock ticks of 10 ms). */
const threadCpu = () => {
  const out = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
};
const threadSplit = [];

const { ParseCache, sha256 } = await import(pathToFileURL(join(o.dist, 'control/sources/parse-cache.js')).href);
const { buildSnapshot } = await import(pathToFileURL(join(o.dist, 'control/build.js')).href);
const { dumpSnapshot } = await import(pathToFileURL(join(o.dist, 'core/snapshot.js')).href);
const options = { identity: { labels: { istio: 'ingressgateway' }, namespace: 'istio-system', serviceAccount: 'istio-ingressgateway' }, domainSuffix: 'cluster.local' };
console.log(`scale-cold ${new Date().toISOString()}  node ${process.version}  load avg ${loadavg().map((x) => x.toFixed(2)).join(' ')}  dist ${o.dist}`);
const files = manifests(o).map((f) => ({ rel: f.path, display: f.path, text: f.text, hash: sha256(f.text) }));
const cache = new ParseCache('default', 0);
let c0 = process.cpuUsage();
const parsed = cache.parse(files);
console.log(`cold parse CPU ${cpuMs(process.cpuUsage(c0)).toFixed(0)} ms, ${parsed.resources.length} resources`);

const buildCpu = [];
let live;
for (let round = 0; round < o.rounds; round++) {
  // Round 0 builds the parsed objects themselves; later rounds fresh copies of them.
  const resources = round === 0 ? parsed.resources : parsed.resources.map((r) => ({ object: structuredClone(r.object), origin: r.origin }));
  live = undefined;
  globalThis.gc?.();
  let session;
  if (o.profile && round === o.profileRound) {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
  } else if (o.heapProfile && round === o.profileRound) {
    session = new Session();
    session.connect();
    await session.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }
  const t0 = o.threads ? threadCpu() : undefined;
  c0 = process.cpuUsage();
  const built = buildSnapshot(resources, parsed.diagnostics, options, undefined);
  buildCpu.push(cpuMs(process.cpuUsage(c0)));
  if (t0) {
    let main = 0;
    let other = 0;
    for (const [tid, ms] of threadCpu()) {
      if (tid === String(process.pid)) main += ms - (t0.get(tid) ?? 0);
      else other += ms - (t0.get(tid) ?? 0);
    }
    threadSplit.push(`${main}+${other}`);
  }
  if (session) {
    const file = o.profile ?? o.heapProfile;
    const { profile } = await session.post(o.profile ? 'Profiler.stop' : 'HeapProfiler.stopSampling');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    console.log(`${o.profile ? 'CPU' : 'allocation'} profile of round ${round} written to ${file}`);
  }
  if (built.ok !== true) throw new Error(`cold build: ${built.ok}`);
  live = built.snapshot;
  if (round === 0) {
    globalThis.gc?.();
    globalThis.gc?.();
    console.log(`cold build CPU ${buildCpu[0].toFixed(0)} ms; heap used after it (parse cache, live snapshot, build caches), gc'd: ${heapMiB()} MiB`);
    // What the build gave, to compare dists: the input hash, and a digest of the dump minus version/builtAt.
    const { version: _v, builtAt: _b, ...rest } = live;
    console.log(`snapshot hash ${live.hash}; dump sha256 ${sha256(dumpSnapshot(rest, 0))}; ${live.diagnostics.length} warnings`);
  }
}
const rest = buildCpu.slice(1);
if (o.threads) console.log(`build CPU by thread, main+others (ms, 10 ms ticks): [${threadSplit.join(', ')}]`);
console.log(`cold builds, ${o.rounds} rounds: first ${buildCpu[0].toFixed(0)} ms${rest.length ? `; later rounds median ${median(rest).toFixed(0)} ms` : ''}  [${buildCpu.map((x) => x.toFixed(0)).join(', ')}]  (${live.routeTables ? Object.keys(live.routeTables).length : 0} route tables)`);
