// A preload for experiments on a gateway under bench/instructions.mjs: one full GC once the gateway is ready
// (GATEHOUSE_EXP_GC=1), optionally after keeping one of node's tick objects alive, as gateway/tick-shape.ts does
// (GATEHOUSE_EXP_KEEP_TICK=1). It reproduced V8's nextTick slow path and its cure (docs/performance.md, "Hot path,
// seventh pass"); the build measured then kept no tick object itself. Needs --expose-gc:
//   GATEHOUSE_EXP_GC=1 NODE_OPTIONS="--expose-gc --import=$PWD/bench/lib/gc-when-ready.mjs" \
//     node bench/instructions.mjs --proto https --targets gatehouse --keep --perf-map
// Only a process started with --status-port (the gateway) acts; the upstream and others ignore it.
import { createHook } from 'node:async_hooks';
import http from 'node:http';

const at = process.argv.indexOf('--status-port');
if (at > 0) {
  if (process.env.GATEHOUSE_EXP_KEEP_TICK) {
    const hook = createHook({
      init(_id, type, _trigger, resource) {
        if (type === 'TickObject') globalThis.__gatehouseKeptTick ??= resource;
      },
    });
    hook.enable();
    process.nextTick(() => {});
    hook.disable();
    process.stderr.write('gc-when-ready: kept a tick object\n');
  }
  if (process.env.GATEHOUSE_EXP_GC) {
    const url = `http://127.0.0.1:${process.argv[at + 1]}/healthz/ready`;
    const poll = () =>
      http
        .get(url, (res) => {
          res.resume();
          if (res.statusCode === 200) {
            setTimeout(() => {
              globalThis.gc();
              process.stderr.write('gc-when-ready: full GC done\n');
            }, 200);
          } else setTimeout(poll, 200);
        })
        .on('error', () => setTimeout(poll, 200));
    setTimeout(poll, 200);
  }
}
