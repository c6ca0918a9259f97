#!/usr/bin/env node
// The configuration-scale benchmark: N hosts and M HTTP routes as ordinary Istio YAML, through the same
// stages the control plane runs (parse → validate → compile → hash → deep-freeze), timed per stage; the
// snapshot's retained heap; a one-resource change rebuilt; and route lookup cost against the scaled table.
//   node --expose-gc bench/scale.mjs [--hosts 10000] [--routes 50000] [--services 1000] [--rounds 3] [--write DIR]
// Imports the compiled modules under dist/ (npm run build first). Pure CPU in this process: no sockets.
// --write DIR also writes the manifests to DIR/config (e.g. to serve them with `gatehouse serve --config`).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadavg } from 'node:os';
import { hostName, manifests } from './lib/scale-manifests.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'dist');
const load = (p) => import(pathToFileURL(join(dist, p)).href);

function parseArgs(argv) {
  const o = { hosts: 10_000, routes: 50_000, services: 1_000, rounds: 3, write: undefined, lookups: 200_000 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes('=') ? argv[i].split('=', 2) : [argv[i], undefined];
    const val = () => inline ?? argv[++i];
    switch (flag) {
      case '--hosts': o.hosts = Number(val()); break;
      case '--routes': o.routes = Number(val()); break;
      case '--services': o.services = Number(val()); break;
      case '--rounds': o.rounds = Math.max(1, Math.min(20, Number(val()))); break;
      case '--lookups': o.lookups = Number(val()); break;
      case '--write': o.write = val(); break;
      default: console.error(`scale: unknown option ${argv[i]}`); process.exit(2);
    }
  }
  return o;
}


const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ms = (t) => `${t.toFixed(0)} ms`;
const gc = () => globalThis.gc?.();

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const { parseManifests } = await load('routes/parse.js');
  const { validateResources } = await load('routes/validate/index.js');
  const { compileSnapshot } = await load('routes/compile/index.js');
  const { buildSnapshot } = await load('control/build.js');
  const { findVirtualHost, matchRoute } = await load('routes/match.js');
  const options = { identity: { labels: { istio: 'ingressgateway' }, namespace: 'istio-system', serviceAccount: 'istio-ingressgateway' }, domainSuffix: 'cluster.local' };
  console.log(`scale bench ${new Date().toISOString()}  node ${process.version}  load avg ${loadavg().map((x) => x.toFixed(2)).join(' ')}` +
    `${globalThis.gc ? '' : '  (run with --expose-gc for memory figures)'}`);
  console.log(`${o.hosts} hosts, ${o.routes} routes, ${o.services} services; ${o.rounds} rounds, medians`);

  const files = manifests(o);
  const bytes = files.reduce((a, f) => a + f.text.length, 0);
  console.log(`config: ${files.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB of YAML`);
  if (o.write) {
    mkdirSync(join(o.write, 'config'), { recursive: true });
    for (const f of files) writeFileSync(join(o.write, 'config', f.path), f.text);
    console.log(`written to ${join(o.write, 'config')}`);
  }

  const t = { parse: [], validate: [], compile: [], build: [], change: [] };
  let snapshot;
  let resources;
  for (let round = 0; round < o.rounds; round++) {
    gc();
    let t0 = performance.now();
    const parsed = parseManifests(files, { defaultNamespace: 'default' });
    t.parse.push(performance.now() - t0);
    resources = parsed.resources;
    const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length) throw new Error(`parse: ${errors.length} errors, first: ${JSON.stringify(errors[0])}`);
    t0 = performance.now();
    const v = validateResources(resources);
    t.validate.push(performance.now() - t0);
    const verrors = v.filter((d) => d.severity === 'error');
    if (verrors.length) throw new Error(`validate: ${verrors.length} errors, first: ${JSON.stringify(verrors[0])}`);
    t0 = performance.now();
    compileSnapshot(resources, options);
    t.compile.push(performance.now() - t0);
    t0 = performance.now();
    const built = buildSnapshot(resources, [], options, undefined);
    t.build.push(performance.now() - t0);
    if (built.ok !== true) throw new Error(`build rejected: ${JSON.stringify(built.diagnostics?.slice(0, 2))}`);
    snapshot = built.snapshot;
  }

  // Retained heap of one snapshot: the heap with one more snapshot built and held, minus the heap before.
  let snapshotMiB;
  if (globalThis.gc) {
    gc(); gc();
    const before = process.memoryUsage().heapUsed;
    let extra = buildSnapshot(resources, [], options, undefined);
    gc(); gc();
    snapshotMiB = (process.memoryUsage().heapUsed - before) / 2 ** 20;
    if (extra.ok !== true) throw new Error('build rejected');
    extra = undefined;
  }

  // A one-resource change: one VirtualService's match edited; its file is parsed again and the whole build runs.
  const changedHost = Math.floor(o.hosts / 2);
  const chunk = Math.floor(changedHost / 100);
  const changedPath = `virtual-services-${String(chunk).padStart(3, '0')}.yaml`;
  for (let round = 0; round < o.rounds; round++) {
    const next = manifests(o, { variant: round + 1, changedHost }).find((f) => f.path === changedPath);
    const t0 = performance.now();
    // Read order as a directory source keeps it: the file's documents keep their places.
    const orderBase = resources.find((r) => r.origin.file === changedPath)?.origin.order ?? 0;
    const reparsed = parseManifests([next], { defaultNamespace: 'default', orderBase });
    const byKey = (r) => `${r.object.kind}/${r.object.metadata?.namespace}/${r.object.metadata?.name}`;
    const replaced = new Map(reparsed.resources.map((r) => [byKey(r), r]));
    const merged = resources.map((r) => replaced.get(byKey(r)) ?? r);
    const built = buildSnapshot(merged, [], options, snapshot);
    t.change.push(performance.now() - t0);
    if (built.ok !== true) throw new Error('changed build rejected');
  }

  // Route lookup: the scaled table against a one-host, one-route table, same request shape.
  const lookup = (snap, host, path) => {
    const table = Object.values(snap.routeTables)[0];
    const req = { host, path, query: '', method: 'GET', scheme: 'http', port: 80, headers: {} };
    let found = 0;
    const t0 = performance.now();
    for (let i = 0; i < o.lookups; i++) {
      const vhost = findVirtualHost(table, host);
      if (vhost && matchRoute(vhost, req)) found++;
    }
    const ns = ((performance.now() - t0) * 1e6) / o.lookups;
    if (found !== o.lookups) throw new Error(`lookup of ${host}${path} failed`);
    return ns;
  };
  const perHost = Math.floor(o.routes / o.hosts);
  const small = buildSnapshot(parseManifests(manifests({ hosts: 1, routes: perHost, services: 1 }), { defaultNamespace: 'default' }).resources, [], options, undefined);
  const lastRoute = `/unmatched/path`; // falls through every prefix to the host's catch-all route
  const nsScaled = median([0, 1, 2].map(() => lookup(snapshot, hostName(changedHost - 1), lastRoute)));
  const nsSmall = median([0, 1, 2].map(() => lookup(small.snapshot, hostName(0), lastRoute)));

  const mem = process.memoryUsage();
  console.log('');
  console.log(`parse      ${ms(median(t.parse))}`);
  console.log(`validate   ${ms(median(t.validate))}`);
  console.log(`compile    ${ms(median(t.compile))}`);
  console.log(`build      ${ms(median(t.build))}   (control/build: hash + validate + compile + deep-freeze; the snapshot a reload makes)`);
  console.log(`parse+validate+compile: ${ms(median(t.parse) + median(t.validate) + median(t.compile))}   goal < 1000 ms`);
  console.log(`one-resource change: ${ms(median(t.change))}   (re-parse one file + full build; goal < 100 ms to apply)`);
  if (snapshotMiB !== undefined) console.log(`snapshot retained heap: ${snapshotMiB.toFixed(1)} MiB;  process RSS ${(mem.rss / 2 ** 20).toFixed(0)} MiB, heap used ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB (config text, resources and snapshot held)`);
  console.log(`route lookup (host + ${perHost} routes, the last one matching): ${nsScaled.toFixed(0)} ns scaled vs ${nsSmall.toFixed(0)} ns in a one-host table of the same routes`);
  console.log(`rounds: ${JSON.stringify(Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.map((x) => Math.round(x))])))}`);
}

main().catch((err) => {
  console.error(`scale: ${err.stack ?? err}`);
  process.exit(1);
});
