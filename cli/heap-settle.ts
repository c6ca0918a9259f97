// A process that has just built a large snapshot keeps that work's garbage (parsed YAML, the compiler's
// intermediate objects, the workers' wire text) until V8's next full collection, and a primary that goes
// quiet once its workers are ready may not run one for minutes. That garbage is resident memory, counted
// against the pod's limit. One full collection once the first snapshot is live gives it back.
// Only in a process that serves no requests (the primary under --workers N): after a forced collection,
// a serving process's process.nextTick built its tick objects through V8's runtime for good (measured
// under callgrind: ~30k instructions per request more, in every such run and in none without it).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Log } from './log.js';

type Collect = () => void;

let collect: Collect | null | undefined;

/**
 * V8's full collection. Without `--expose-gc` on the command line it is enabled for new contexts and
 * taken from one (the flag only installs the `gc` function in contexts created after it is set).
 * null when this runtime gives none: settling is then skipped, never an error.
 */
function fullCollection(): Collect | null {
  if (collect !== undefined) return collect;
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return (collect = exposed as Collect);
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    collect = typeof gc === 'function' ? (gc as Collect) : null;
  } catch {
    collect = null;
  }
  return collect;
}

/** Runs one full collection now; the milliseconds it took, or undefined when none is available. */
export function settleHeap(): number | undefined {
  const gc = fullCollection();
  if (!gc) return undefined;
  const started = performance.now();
  gc();
  return performance.now() - started;
}

/**
 * settleHeap on the next turn of the event loop, so that whatever is being acknowledged (a publish, a
 * worker's apply) goes out first; `why` names the moment in the debug log.
 */
export function scheduleHeapSettle(why: string, log: Log): void {
  setImmediate(() => {
    const ms = settleHeap();
    if (ms !== undefined) log('debug', `heap settled after ${why}: one full collection, ${ms.toFixed(1)} ms`);
  });
}
