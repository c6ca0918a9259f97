// node's process.nextTick objects keep one shape across a full GC once the data plane holds one of them
// (gateway/tick-shape.ts): V8 otherwise builds every later tick object in its runtime, for good.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const moduleUrl = pathToFileURL(join(import.meta.dirname, '..', '..', 'gateway', 'tick-shape.js')).href;

// V8 natives (%HaveSameMap) cannot pass through TypeScript: the probe runs as a script of its own.
const probe = `
import { createHook } from 'node:async_hooks';
import { keepTickObjectShape } from ${JSON.stringify(moduleUrl)};
const captureTick = () => {
  let tick;
  const hook = createHook({ init(id, type, trigger, resource) { if (type === 'TickObject') tick ??= resource; } });
  hook.enable();
  process.nextTick(() => {});
  hook.disable();
  return tick;
};
// Only weakly here: the module itself must hold it.
const keptRef = new WeakRef(keepTickObjectShape());
const idempotent = keepTickObjectShape() === keptRef.deref();
// Work that makes and drops tick objects, then a full collection while none is alive.
await new Promise((resolve) => { let n = 0; const step = () => (++n < 10000 ? process.nextTick(step) : setImmediate(resolve)); process.nextTick(step); });
globalThis.gc();
const kept = keptRef.deref();
const fresh = captureTick();
console.log(JSON.stringify({
  kept: kept !== undefined && typeof kept.callback === 'function' && Object.getOwnPropertySymbols(kept).length === 2,
  idempotent,
  sameShape: kept !== undefined && %HaveSameMap(kept, fresh),
}));
`;

test('a tick object made after a full GC has the shape of the one the data plane keeps', () => {
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--expose-gc', '--input-type=module', '-e', probe], { encoding: 'utf8', timeout: 60_000 });
  assert.deepEqual(JSON.parse(out.trim()), { kept: true, idempotent: true, sameShape: true });
});
