#!/usr/bin/env node
// The snapshot on the workers' wire at configuration scale: builds the scale config's Snapshot in process
// (parse cache + build, as the primary does), encodes it with core/snapshot-codec.ts (CPU, text length),
// then decodes that text in a fresh child process, as a worker does: decode CPU and the heap the decoded
// snapshot keeps (heap used after decode and two gc(), text dropped, minus heap used before with the text).
//   node --expose-gc bench/scale-codec.mjs [--dist DIR/dist] [--hosts 10000] [--routes 50000] [--services 1000]
// --dist runs another build's modules (e.g. a baseline commit built into /tmp) in the same harness.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadavg, tmpdir } from 'node:os';
import { manifests, parseScaleArgs } from './lib/scale-manifests.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const mib = (n) => (n / 2 ** 20).toFixed(1);
const cpuMs = (c) => ((c.user + c.system) / 1000).toFixed(0);

if (process.argv[2] === '--decode-child') {
  const { decodeSnapshot } = await import(pathToFileURL(join(process.argv[3], 'core/snapshot-codec.js')).href);
  let text = readFileSync(process.argv[4], 'utf8');
  globalThis.gc();
  globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  const c0 = process.cpuUsage();
  const snapshot = decodeSnapshot(text);
  const cpu = process.cpuUsage(c0);
  text = undefined;
  globalThis.gc();
  globalThis.gc();
  const after = process.memoryUsage();
  const textBytes = Number(process.argv[5]);
  console.log(`decode CPU ${cpuMs(cpu)} ms; decoded snapshot keeps ${mib(after.heapUsed - before + textBytes)} MiB of heap; child RSS ${mib(after.rss)} MiB; ${Object.keys(snapshot.clusters).length} clusters`);
  process.exit(0);
}

const o = { hosts: 10_000, routes: 50_000, services: 1_000, rounds: 1, dist: resolve(here, '..', 'dist') };
parseScaleArgs('scale-codec', o, 1, (flag, val) => {
  if (flag !== '--dist') return false;
  o.dist = resolve(val());
  return true;
});
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
console.log(`scale-codec ${new Date().toISOString()}  node ${process.version}  load avg ${loadavg().map((x) => x.toFixed(2)).join(' ')}  dist ${o.dist}`);
const { ParseCache, sha256 } = await import(pathToFileURL(join(o.dist, 'control/sources/parse-cache.js')).href);
const { buildSnapshot } = await import(pathToFileURL(join(o.dist, 'control/build.js')).href);
const { encodeSnapshot } = await import(pathToFileURL(join(o.dist, 'core/snapshot-codec.js')).href);
const options = { identity: { labels: { istio: 'ingressgateway' }, namespace: 'istio-system', serviceAccount: 'istio-ingressgateway' }, domainSuffix: 'cluster.local' };
const files = manifests(o, { upstream: 9 }).map((f) => ({ rel: f.path, display: f.path, text: f.text, hash: sha256(f.text) }));
const parsed = new ParseCache('default', 0).parse(files);
const built = buildSnapshot(parsed.resources, parsed.diagnostics, options, undefined);
if (built.ok !== true) throw new Error('build failed');
const c0 = process.cpuUsage();
const text = encodeSnapshot(built.snapshot);
console.log(`encode CPU ${cpuMs(process.cpuUsage(c0))} ms; text ${mib(text.length)} MiB (${text.length} chars)`);
const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-scale-codec-'));
try {
  const file = join(tmp, 'snapshot.txt');
  writeFileSync(file, text, 'latin1');
  // The scale config is ASCII: the text is a one-byte string in both processes, its length in bytes.
  process.stdout.write(execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--decode-child', o.dist, file, String(text.length)], { encoding: 'utf8' }));
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
