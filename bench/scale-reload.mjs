#!/usr/bin/env node
// A one-file change through the directory source at configuration scale: the scale bench's manifests
// (10,000 hosts, 50,000 routes, 1,000 ServiceEntries; 102 files) written to a temp directory, read by
// control/sources/directory (fs.watch, settle, read, hash, parse), then timed from a file write to the
// source's emit for (a) one VirtualService edited in one 100-document file and (b) one document added to
// the first file (every later resource's read order shifts); and on to the new Snapshot: each emit is
// built at once (control/build's buildSnapshot with the live snapshot as `previous`, as the control plane
// calls it; the control plane's 100 ms debounce is not included).
// --control-plane instead runs the source under control/index's createControlPlane (store, secret
// history, 100 ms debounce, build, publish) and times each one-VirtualService edit from the write to the
// source's emit (the store sees the change) and on to the publish (snapshot live).
//   node --expose-gc --max-old-space-size=4096 bench/scale-reload.mjs [--hosts 10000] [--routes 50000]
//     [--services 1000] [--rounds 3] [--dist DIR] [--control-plane]
// Imports the compiled modules under dist/ (npm run build first), or under --dist DIR.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadavg, tmpdir } from 'node:os';
import { SCALE_GATEWAY_YAML as gateway, manifests, parseScaleArgs } from './lib/scale-manifests.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const o = { hosts: 10_000, routes: 50_000, services: 1_000, rounds: 3, dist: join(here, '..', 'dist'), controlPlane: false };
parseScaleArgs('scale-reload', o, 20, (flag, val) => {
  switch (flag) {
    case '--dist': o.dist = resolve(val()); return true;
    case '--control-plane': o.controlPlane = true; return true;
    default: return false;
  }
});

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ms = (t) => `${t.toFixed(0)} ms`;

async function main() {
  if (o.controlPlane) return viaControlPlane();
  const { createDirectorySource } = await import(pathToFileURL(join(o.dist, 'control/sources/directory.js')).href);
  const { buildSnapshot } = await import(pathToFileURL(join(o.dist, 'control/build.js')).href);
  const options = { identity: { labels: { istio: 'ingressgateway' }, namespace: 'istio-system', serviceAccount: 'istio-ingressgateway' }, domainSuffix: 'cluster.local' };
  console.log(`scale-reload ${new Date().toISOString()}  node ${process.version}  load avg ${loadavg().map((x) => x.toFixed(2)).join(' ')}  dist ${o.dist}`);
  const files = manifests(o);
  const bytes = files.reduce((a, f) => a + f.text.length, 0);
  console.log(`config: ${files.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB of YAML; ${o.rounds} rounds, medians`);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-scale-reload-'));
  let updates = [];
  let wake;
  let live;
  const emit = (u) => {
    u.emittedAt = performance.now();
    const c0 = process.cpuUsage();
    const built = buildSnapshot(u.resources, u.diagnostics, options, live);
    const c = process.cpuUsage(c0);
    u.builtAt = performance.now();
    u.buildCpuMs = (c.user + c.system) / 1000;
    if (built.ok === true) live = built.snapshot;
    else if (built.ok === false) throw new Error(`build rejected: ${JSON.stringify(built.diagnostics.slice(0, 2))}`);
    updates.push(u);
    wake?.();
  };
  const waitFor = async (pred, timeoutMs = 300_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const u = updates.find(pred);
      if (u) return u;
      if (Date.now() > deadline) throw new Error('no matching update in time');
      let timer;
      await new Promise((r) => { wake = r; timer = setTimeout(r, Math.max(1, deadline - Date.now())); });
      clearTimeout(timer);
    }
  };
  const source = createDirectorySource(dir, { defaultNamespace: 'default' });
  try {
    for (const f of files) writeFileSync(join(dir, f.path), f.text);
    let t0 = performance.now();
    await source.start(emit);
    const cold = performance.now() - t0;
    const first = updates[0];
    if (!first || first.diagnostics.some((d) => d.severity === 'error')) throw new Error('initial read failed');
    console.log(`cold read + parse + build (start → first snapshot) ${ms(cold)}   ${first.resources.length} resources; build ${ms(first.builtAt - first.emittedAt)} (CPU ${ms(first.buildCpuMs)})`);
    globalThis.gc?.();

    const changedHost = Math.floor(o.hosts / 2);
    const changedPath = `virtual-services-${String(Math.floor(changedHost / 100)).padStart(3, '0')}.yaml`;
    const vsName = `vs${changedHost}`;
    const edit = [];
    const editBuilt = [];
    const editBuild = [];
    const editCpu = [];
    // Generated before timing: 8 MiB of YAML per round would leave its garbage to the builds' GC.
    const variants = Array.from({ length: o.rounds }, (_, round) => manifests(o, { variant: round + 1, changedHost }).find((f) => f.path === changedPath));
    globalThis.gc?.();
    for (let round = 0; round < o.rounds; round++) {
      const next = variants[round];
      const marker = `/api/v0x${round + 1}/`;
      updates = [];
      t0 = performance.now();
      writeFileSync(join(dir, changedPath), next.text);
      const u = await waitFor((u) => JSON.stringify(u.resources.find((r) => r.object.metadata.name === vsName)?.object ?? null).includes(marker));
      edit.push(u.emittedAt - t0);
      editBuilt.push(u.builtAt - t0);
      editBuild.push(u.builtAt - u.emittedAt);
      editCpu.push(u.buildCpuMs);
    }
    console.log(`one VirtualService edited (write → emit)     ${ms(median(edit))}   [${edit.map(ms).join(', ')}]`);
    console.log(`  build of that emit (emit → snapshot)       ${ms(median(editBuild))}   [${editBuild.map(ms).join(', ')}]`);
    console.log(`  its CPU time (process.cpuUsage)            ${ms(median(editCpu))}   [${editCpu.map(ms).join(', ')}]`);
    console.log(`  write → snapshot built                     ${ms(median(editBuilt))}   [${editBuilt.map(ms).join(', ')}]   goal < 100 ms`);
    globalThis.gc?.();

    const shift = [];
    const shiftBuild = [];
    const shiftCpu = [];
    for (let round = 0; round < o.rounds; round++) {
      const extraDocs = round + 1;
      let text = gateway;
      for (let k = 0; k < extraDocs; k++) text += `---\n${gateway.replace('name: scale-gateway', `name: extra-gateway-${k}`)}`;
      updates = [];
      t0 = performance.now();
      writeFileSync(join(dir, 'gateway.yaml'), text);
      const u = await waitFor((u) => u.resources.filter((r) => r.object.kind === 'Gateway').length === extraDocs + 1);
      shift.push(u.emittedAt - t0);
      shiftBuild.push(u.builtAt - u.emittedAt);
      shiftCpu.push(u.buildCpuMs);
    }
    console.log(`document added to the first file (orders shift) ${ms(median(shift))}   [${shift.map(ms).join(', ')}]`);
    console.log(`  build of that emit (emit → snapshot)       ${ms(median(shiftBuild))}   [${shiftBuild.map(ms).join(', ')}]`);
    console.log(`  its CPU time (process.cpuUsage)            ${ms(median(shiftCpu))}   [${shiftCpu.map(ms).join(', ')}]`);
    console.log('(write → emit includes the source\'s 20 ms settle and fs.watch latency)');
    const mem = process.memoryUsage();
    console.log(`process RSS ${(mem.rss / 2 ** 20).toFixed(0)} MiB, heap used ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB (source cache, resources, live snapshot)`);
  } finally {
    await source.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The same one-VirtualService edits through the whole control plane: write → emit → published. */
async function viaControlPlane() {
  const { createDirectorySource } = await import(pathToFileURL(join(o.dist, 'control/sources/directory.js')).href);
  const { createControlPlane } = await import(pathToFileURL(join(o.dist, 'control/index.js')).href);
  const { Registry } = await import('prom-client');
  const compile = { identity: { labels: { istio: 'ingressgateway' }, namespace: 'istio-system', serviceAccount: 'istio-ingressgateway' }, domainSuffix: 'cluster.local' };
  console.log(`scale-reload --control-plane ${new Date().toISOString()}  node ${process.version}  load avg ${loadavg().map((x) => x.toFixed(2)).join(' ')}  dist ${o.dist}`);
  const files = manifests(o);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-scale-reload-'));
  for (const f of files) writeFileSync(join(dir, f.path), f.text);
  const changedHost = Math.floor(o.hosts / 2);
  const changedPath = `virtual-services-${String(Math.floor(changedHost / 100)).padStart(3, '0')}.yaml`;
  const variants = Array.from({ length: o.rounds }, (_, round) => manifests(o, { variant: round + 1, changedHost }).find((f) => f.path === changedPath));
  const inner = createDirectorySource(dir, { defaultNamespace: 'default' });
  let emittedAt = 0;
  // The source as the control plane sees it, with the instant each update reaches the store.
  const source = {
    name: inner.name,
    start: (emit) => inner.start((u) => { emittedAt = performance.now(); emit(u); }),
    stop: () => inner.stop(),
  };
  let published = [];
  let wake;
  const registry = new Registry();
  const buildSeconds = async () => {
    const values = (await registry.getSingleMetric('gatehouse_config_build_duration_seconds').get()).values;
    return { sum: values.find((v) => v.metricName.endsWith('_sum')).value, count: values.find((v) => v.metricName.endsWith('_count')).value };
  };
  const plane = createControlPlane({
    sources: [source],
    compile,
    registry,
    log: (level, message) => { if (level === 'error') console.error(message); },
    publish: async (snapshot) => { published.push({ snapshot, at: performance.now(), emittedAt }); wake?.(); },
  });
  try {
    let t0 = performance.now();
    await plane.start();
    console.log(`cold start (read + parse + build + publish) ${ms(performance.now() - t0)}`);
    globalThis.gc?.();
    const builtBefore = await buildSeconds();
    const toEmit = [];
    const toLive = [];
    const emitToLive = [];
    for (let round = 0; round < o.rounds; round++) {
      published = [];
      t0 = performance.now();
      writeFileSync(join(dir, changedPath), variants[round].text);
      const deadline = Date.now() + 120_000;
      while (published.length === 0) {
        if (Date.now() > deadline) throw new Error('nothing published in time');
        let timer;
        await new Promise((r) => { wake = r; timer = setTimeout(r, 1000); });
        clearTimeout(timer);
      }
      const p = published[0];
      toEmit.push(p.emittedAt - t0);
      toLive.push(p.at - t0);
      emitToLive.push(p.at - p.emittedAt);
      // Quiet between rounds so each edit is a lone change.
      await new Promise((r) => setTimeout(r, 300));
    }
    console.log(`one VirtualService edited: write → emit (store sees it)  ${ms(median(toEmit))}   [${toEmit.map(ms).join(', ')}]`);
    console.log(`  emit → published (100 ms debounce + build + publish)    ${ms(median(emitToLive))}   [${emitToLive.map(ms).join(', ')}]`);
    console.log(`  write → published                                         ${ms(median(toLive))}   [${toLive.map(ms).join(', ')}]`);
    const builtAfter = await buildSeconds();
    const builds = builtAfter.count - builtBefore.count;
    console.log(`  builds ${builds}, mean build wall time (gatehouse_config_build_duration_seconds) ${ms(((builtAfter.sum - builtBefore.sum) / builds) * 1000)}`);
  } finally {
    await plane.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`scale-reload: ${err.stack ?? err}`);
  process.exit(1);
});
