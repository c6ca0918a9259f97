#!/usr/bin/env node
// A cold start's reading of the scale manifests, in process: the first parseManifests of the process over
// all files (cold code, as at start), then `--rounds` more, CPU each (process.cpuUsage); then the first
// build from scratch of the parsed resources with `--build-dist`'s control/build.js (default: the same
// dist), so a baseline's build can be measured over the same parsed objects as the current one's.
//   node --expose-gc bench/scale-parse.mjs [--dist DIR] [--build-dist DIR] [--reader lines|cst|composer]
//     [--rounds 3] [--hosts 10000] [--routes 50000] [--services 1000]
// --reader picks the YAML reader of the current dist (routes/parse.ts ParseOptions.reader: `composer` is
// yaml's Composer for every document, what the baseline's reader was).
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadavg } from 'node:os';
import { manifests, parseScaleArgs } from './lib/scale-manifests.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const o = { hosts: 10_000, routes: 50_000, services: 1_000, rounds: 3, dist: join(here, '..', 'dist'), buildDist: undefined, reader: undefined };
parseScaleArgs('scale-parse', o, 20, (flag, val) => {
  switch (flag) {
    case '--dist': o.dist = resolve(val()); return true;
    case '--build-dist': o.buildDist = resolve(val()); return true;
    case '--reader': o.reader = val(); return true;
    default: return false;
  }
});
const cpuMs = (c) => (c.user + c.system) / 1000;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const { parseManifests } = await import(pathToFileURL(join(o.dist, 'routes/parse.js')).href);
const { buildSnapshot } = await import(pathToFileURL(join(o.buildDist ?? o.dist, 'control/build.js')).href);
const files = manifests(o);
const bytes = files.reduce((n, f) => n + Buffer.byteLength(f.text), 0);
console.log(`scale-parse ${new Date().toISOString()}  load avg ${loadavg().map((x) => x.toFixed(2)).join(' ')}  dist ${o.dist}  build ${o.buildDist ?? o.dist}  reader ${o.reader ?? 'default'}  ${(bytes / 2 ** 20).toFixed(1)} MiB in ${files.length} files`);
const parseOptions = { defaultNamespace: 'default', ...(o.reader ? { reader: o.reader } : {}) };
const cpu = [];
let parsed;
for (let round = 0; round <= o.rounds; round++) {
  parsed = undefined;
  globalThis.gc?.();
  const c0 = process.cpuUsage();
  parsed = parseManifests(files, parseOptions);
  cpu.push(cpuMs(process.cpuUsage(c0)));
}
console.log(`parse CPU: first ${cpu[0].toFixed(0)} ms; later median ${median(cpu.slice(1)).toFixed(0)} ms  [${cpu.map((x) => x.toFixed(0)).join(', ')}]  ${parsed.resources.length} resources, ${parsed.diagnostics.length} diagnostics`);
globalThis.gc?.();
const options = { identity: { labels: { istio: 'ingressgateway' }, namespace: 'istio-system', serviceAccount: 'istio-ingressgateway' }, domainSuffix: 'cluster.local' };
const c0 = process.cpuUsage();
const built = buildSnapshot(parsed.resources, parsed.diagnostics, options, undefined);
const buildCpu = cpuMs(process.cpuUsage(c0));
if (built.ok !== true) throw new Error(`build: ${built.ok}`);
console.log(`first build CPU ${buildCpu.toFixed(0)} ms; snapshot hash ${built.snapshot.hash}`);
