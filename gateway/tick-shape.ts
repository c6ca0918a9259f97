// Keeps one of node's process.nextTick objects alive for the life of the process, so that every later
// tick object is built by optimized code instead of V8's runtime.
//
// Why: node 20 builds each tick object from a literal with computed symbol keys
// ({ [async_id_symbol]: …, [trigger_async_id_symbol]: …, callback, args }). Optimized code defines those
// keys inline while the site's feedback holds one map, weakly. A full GC at a moment when no tick object
// is alive frees that map; the next tick object gets a new one, and V8's runtime
// (Runtime_DefineKeyedOwnPropertyInLiteral) then marks the site megamorphic for good: from there on every
// nextTick, including the ones node's streams make for each socket read and write, goes through the
// runtime with a map transition per key (~2 k instructions each, 7–40 k per request under callgrind,
// docs/performance.md "Hot path, seventh pass"). A live tick object holds its map, and through its
// back pointers the literal's first map, so the feedback stays valid whatever the collector does.
import { createHook } from 'node:async_hooks';

let kept: object | undefined;

/** Captures one tick object as node makes it and keeps it. Idempotent; returns the kept object. */
export function keepTickObjectShape(): object | undefined {
  if (kept !== undefined) return kept;
  // An init hook sees the tick object itself (its resource); it is on only for this one nextTick.
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject' && kept === undefined) kept = resource;
    },
  });
  hook.enable();
  try {
    process.nextTick(noop);
  } finally {
    hook.disable();
  }
  return kept;
}

function noop(): void {}
