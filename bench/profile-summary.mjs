#!/usr/bin/env node
// Summarises a V8 .cpuprofile: top functions by self time, self time by source (gatehouse files, node
// internals, undici, fastify, GC/native), and inclusive time of the gatehouse functions.
//   node bench/profile-summary.mjs FILE.cpuprofile [N]
import { readFileSync } from 'node:fs';

const [file, nArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/profile-summary.mjs FILE.cpuprofile [N]');
  process.exit(2);
}
const n = Number(nArg ?? 30);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(prof.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of prof.nodes) for (const c of node.children ?? []) parent.set(c, node.id);

const label = (cf) => {
  const url = cf.url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/');
  return `${cf.functionName || '(anonymous)'} ${url ? `${url}:${cf.lineNumber + 1}` : ''}`.trim();
};
const source = (cf) => {
  const u = cf.url;
  if (!u) return cf.functionName.startsWith('(') ? cf.functionName : '(native)';
  if (u.includes('/node_modules/undici/')) return 'undici';
  if (u.includes('/node_modules/fastify') || u.includes('/node_modules/find-my-way') || u.includes('/node_modules/avvio') || u.includes('/node_modules/light-my-request')) return 'fastify';
  if (u.includes('/node_modules/')) return 'other packages';
  if (u.startsWith('node:')) return u.replace(/^node:internal\//, 'node:').split('/').slice(0, 2).join('/');
  if (u.includes('/dist/')) return 'gatehouse ' + u.replace(/^.*\/dist\//, '');
  return u;
};

const self = new Map();
const bySource = new Map();
const inclusive = new Map();
let total = 0;
const dt = prof.timeDeltas ?? [];
(prof.samples ?? []).forEach((id, i) => {
  const t = dt[i] ?? 0;
  total += t;
  const node = nodes.get(id);
  const key = label(node.callFrame);
  self.set(key, (self.get(key) ?? 0) + t);
  const s = source(node.callFrame);
  bySource.set(s, (bySource.get(s) ?? 0) + t);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const cf = nodes.get(cur).callFrame;
    if (!cf.url.includes('/dist/')) continue;
    const k = label(cf);
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + t);
  }
});
const pct = (t) => `${((100 * t) / (total || 1)).toFixed(1).padStart(5)}%`;
const top = (m, k) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, k);
console.log(`profile: ${(total / 1e6).toFixed(1)} s sampled`);
console.log('\nself time by source:');
for (const [k, t] of top(bySource, 20)) console.log(`  ${pct(t)}  ${k}`);
console.log(`\ntop ${n} functions by self time:`);
for (const [k, t] of top(self, n)) console.log(`  ${pct(t)}  ${k}`);
console.log('\ngatehouse functions by inclusive time:');
for (const [k, t] of top(inclusive, 25)) console.log(`  ${pct(t)}  ${k}`);
