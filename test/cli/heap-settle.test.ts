// Settling the heap once a snapshot is live must run a real full collection in a node started without
// --expose-gc (as `npm start`, the container and `gatehouse serve` are): proven in a child process by V8's
// own GC report (a forced major collection) and by a large object, unreachable since the previous turn,
// being gone afterwards.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const settleModule = pathToFileURL(fileURLToPath(new URL('../../cli/heap-settle.js', import.meta.url))).href;

const CHILD = `
import { PerformanceObserver, constants } from 'node:perf_hooks';
const { settleHeap, scheduleHeapSettle } = await import(${JSON.stringify(settleModule)});
const turn = () => new Promise((r) => setImmediate(r));
const gcs = [];
new PerformanceObserver((list) => { for (const e of list.getEntries()) gcs.push(e.detail); }).observe({ entryTypes: ['gc'] });
let ref;
(() => { ref = new WeakRef(new Array(2_000_000).fill(7)); })();
// Promoted out of the young generation while still held, so only a full collection can free it.
let hold = ref.deref();
for (let i = 0; i < 40; i++) new Array(100_000).fill(i);
await turn();
hold = undefined;
await turn();
const before = ref.deref() !== undefined;
await turn();
const forcedMajor = () => gcs.some((d) => d.kind === constants.NODE_PERFORMANCE_GC_MAJOR && (d.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED));
const forcedBefore = forcedMajor();
const ms = settleHeap();
await turn();
const after = ref.deref() !== undefined;
for (let i = 0; i < 1000 && !forcedMajor(); i++) await turn();
const lines = [];
scheduleHeapSettle('a test', (level, message) => lines.push(level + ' ' + message));
for (let i = 0; i < 1000 && lines.length === 0; i++) await turn();
console.log(JSON.stringify({ exposed: typeof globalThis.gc, before, forcedBefore, ms, after, forced: forcedMajor(), lines }));
`;

function runChild(): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', CHILD], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop() as string) as Record<string, unknown>);
    });
  });
}

test('settleHeap runs a forced full collection without --expose-gc and frees what only it could', async () => {
  const r = await runChild();
  assert.equal(r.exposed, 'undefined', 'the child runs without --expose-gc, as the gateway does');
  assert.equal(r.before, true, 'the large object is still there before settling');
  assert.equal(r.forcedBefore, false, 'nothing forced a full collection before settling');
  assert.equal(typeof r.ms, 'number', 'a collection ran');
  assert.equal(r.forced, true, 'V8 reports a forced major collection');
  assert.equal(r.after, false, 'the unreachable large object is gone');
});

test('scheduleHeapSettle settles on a later turn and says so at debug level', async () => {
  const r = await runChild();
  const lines = r.lines as string[];
  assert.equal(lines.length, 1);
  assert.match(lines[0] as string, /^debug heap settled after a test: one full collection, \d+\.\d ms$/);
});
