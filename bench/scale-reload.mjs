#!/usr/bin/env node
// A one-file change through the directory source at configuration scale: the scale bench's manifests
// (10,000 hosts, 50,000 routes, 1,000 ServiceEntries; 102 files) written to a temp directory, read by
// control/sources/directory (fs.watch, settle, read, hash, parse), then timed from a file write to the
// source's emit for (a) one VirtualService edited in one 100-document file and (b) one document added to
// the first file (every later resource's read order shifts); and on to the new Snapshot: each emit is
// built at once (control/build's buildSnapshot with the live snapshot as `previous`, as the control plane
// calls it; the control plane's 100 ms debounce is not included).
//   node --expose-gc --max-old-space-size=4096 bench/scale-reload.mjs [--hosts 10000] [--routes 50000]
//     [--services 1000] [--rounds 3] [--dist DIR]
// Imports the compiled modules under dist/ (npm run build first), or under --dist DIR.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadavg, tmpdir } from 'node:os';
import { SCALE_GATEWAY_YAML as gateway, manifests } from './lib/scale-manifests.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const o = { hosts: 10_000, routes: 50_000, services: 1_000, rounds: 3, dist: join(here, '..', 'dist') };
for (let i = 2; i < process.argv.length; i++) {
  const [flag, inline] = process.argv[i].includes('=') ? process.argv[i].split('=', 2) : [process.argv[i], undefined];
  const val = () => inline ?? process.argv[++i];
  switch (flag) {
    case '--hosts': o.hosts = Number(val()); break;
    case '--routes': o.routes = Number(val()); break;
    case '--services': o.services = Number(val()); break;
    case '--rounds': o.rounds = Math.max(1, Math.min(20, Number(val()))); break;
    case '--dist': o.dist = resolve(val()); break;
    default: console.error(`scale-reload: unknown option ${process.argv[i]}`); process.exit(2);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ms = (t) => `${t.toFixed(0)} ms`;

async function main() {
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
    for (let round = 0; round < o.rounds; round++) {
      const next = manifests(o, { variant: round + 1, changedHost }).find((f) => f.path === changedPath);
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

main().catch((err) => {
  console.error(`scale-reload: ${err.stack ?? err}`);
  process.exit(1);
});
