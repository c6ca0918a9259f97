// `--workers` 1 → 2 throughput scaling on a machine without spare cores, by CPU quotas (docs/performance.md,
// "Workers: 1→2 scaling under CPU quotas"). Each gateway process that serves gets its own slice of a core:
// the kernel's CFS bandwidth control caps it at Q % of one core per period and it is pinned to that core
// (`--workers 1`: the single process on core 0; `--workers 2`: worker 1 on core 0, worker 2 on core 1, each
// in its own group with quota Q; the primary in a group of its own, unpinned, no quota, measured). The load
// generator (wrk, one thread per core) and the upstream run unpinned in a group with no quota, so they have
// the remaining (1 − Q) of every core: the gateway's capacity is then N × Q of a core, which is what "the load
// generator on cores the gateway does not use" gives on a bigger machine, in time slices instead of cores.
// Three configurations, interleaved: `1` (the single process; core 1 left wholly to wrk and the upstream),
// `1+spin` (the same, with a busy loop holding core 1's Q-slice, so wrk and the upstream have exactly what
// they have beside two workers: the like-for-like control) and `2`. Saturation (wrk, keep-alive), medians.
// `--layout one-core`: the issue's setup, "the load generator pinned to a core the gateway does not use",
// literally: every gateway process (the single one, both workers and the primary) on core 0, each serving
// process under its own quota Q ≤ 50 % (two workers: two half-cores of core 0, time-sliced), and this script,
// wrk (one thread) and the upstream pinned to core 1, which the gateway never runs on. No spin control is
// needed there: the load generator has core 1 to itself in every configuration. Two workers on one core share
// its caches and switch between each other, which can only cost them: the ratio is a lower bound.
// Reported per run: req/s; each serving process's share of a core, CPU µs per request, throttled periods
// (cpu.stat: a run counts as quota-limited only if every serving process was throttled in ≥ 90 % of periods)
// and context switches per request; the split of requests (admin /workers) and of wrk's connections (ss)
// between workers; the primary's CPU; the upstream's and wrk's CPU and time spent waiting for a CPU
// (schedstat); each core's idle time. `--priority gateway` (default): the serving processes' groups weigh
// 10× the load generator's, so they get their quota first; `load`: the other way round.
//   node bench/workers-scale.mjs [--quota 35[,25,45]] [--rounds 3] [--duration 6] [--warmup 2] [--prime 5]
//        [--connections 64] [--protos http,https] [--body 1k|tiny] [--configs 1,1+spin,2]
//        [--period-us 10000] [--priority gateway|load] [--max-seconds 900] [--layout split|one-core]
// Needs root and a writable cgroup cpu controller (v1 /sys/fs/cgroup/cpu, or v2 with cpu in
// cgroup.controllers), taskset, wrk, ss, openssl; after a build. Takes /tmp/gatehouse-bench.lock; removes its
// cgroups (PIDs moved back first) and stops what it started by PID, also on error, Ctrl-C and --max-seconds.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg, availableParallelism } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeCertificate, writeIstioConfig } from './lib/config.mjs';
import { detectLoadGenerator, runLoad, INSTALL_HINT } from './lib/loadgen.mjs';
import { start, stop, stopAll, killAllSync, freePort, sleep, coreTimes, acquireMachineLock, readFirstLine, which, reapedChildrenCpuMicros, processTree, connectionsByPid, contextSwitches } from './lib/procs.mjs';
import { detectCpuController, CpuGroups, staleGroups, removeStaleGroup } from './lib/cpu-groups.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

function parseArgs(argv) {
  const o = { quotas: [35], rounds: 3, duration: 6, warmup: 2, connections: 64, protos: ['http', 'https'], configs: ['1', '1+spin', '2'], priority: 'gateway', prime: 5, body: '1k', periodUs: 10_000, maxSeconds: 900, layout: 'split' };
  let configsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--quota': o.quotas = v.split(',').map(Number); i++; break;
      case '--rounds': o.rounds = Number(v); i++; break;
      case '--duration': o.duration = Number(v); i++; break;
      case '--warmup': o.warmup = Number(v); i++; break;
      case '--connections': o.connections = Number(v); i++; break;
      case '--protos': o.protos = v.split(','); i++; break;
      case '--body': o.body = v; i++; break;
      case '--configs': o.configs = v.split(','); configsGiven = true; i++; break;
      case '--layout': o.layout = v; i++; break;
      case '--priority': o.priority = v; i++; break;
      case '--prime': o.prime = Number(v); i++; break;
      case '--period-us': o.periodUs = Number(v); i++; break;
      case '--max-seconds': o.maxSeconds = Number(v); i++; break;
      default: throw new Error(`unknown option ${argv[i]}`);
    }
  }
  if (o.layout !== 'split' && o.layout !== 'one-core') throw new Error('--layout: split or one-core');
  if (o.layout === 'one-core') {
    // Two workers at Q each share core 0: at most half of it each.
    if (o.quotas.some((q) => !(q >= 5 && q <= 50))) throw new Error('--quota with --layout one-core: percentages of one core between 5 and 50');
    if (!configsGiven) o.configs = ['1', '2'];
    if (o.configs.includes('1+spin')) throw new Error('--layout one-core has no 1+spin control: the load generator has core 1 to itself');
  } else if (o.quotas.some((q) => !(q >= 5 && q <= 49))) throw new Error('--quota: percentages of one core between 5 and 49 (the load generator needs the rest of each core)');
  if (!(o.rounds >= 1 && o.duration >= 1 && o.duration <= 60)) throw new Error('--rounds ≥ 1, --duration 1–60 s');
  if (o.priority !== 'load' && o.priority !== 'gateway') throw new Error('--priority: load or gateway');
  if (o.configs.some((c) => !['1', '1+spin', '2'].includes(c))) throw new Error('--configs: 1, 1+spin and/or 2');
  if (o.protos.some((p) => p !== 'http' && p !== 'https')) throw new Error('--protos: http and/or https');
  if (!(o.periodUs >= 1000 && o.periodUs <= 1_000_000)) throw new Error('--period-us: 1000–1000000');
  return o;
}

const CLK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();
/** One process's own CPU time (all its threads), µs. */
function cpuOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK;
  } catch {
    return NaN;
  }
}
/** Share of periods a serving process must have been throttled in for its run to count as quota-limited. */
const QUOTA_LIMITED = 0.9;
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
/** Time a process's threads spent runnable but waiting for a CPU (schedstat run_delay), µs, summed over threads. */
function waitedUs(pid) {
  let ns = 0;
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[1]);
      } catch {}
    }
  } catch {
    return NaN;
  }
  return ns / 1000;
}
/** wrk's PID among this process's children, once it runs. */
const wrkPid = () => processTree(process.pid).slice(1).find((pid) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'wrk';
  } catch {
    return false;
  }
});
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const status = (url) => fetch(url).then((r) => r.status, () => 0);

async function main() {
  const o = parseArgs(process.argv.slice(2));
  let ctl;
  try {
    ctl = detectCpuController(); // not root, no controller: said before anything starts
  } catch (err) {
    console.error(`workers-scale: ${err.message}`);
    process.exit(2);
  }
  const taskset = which('taskset');
  if (!taskset) throw new Error('taskset not found (util-linux)');
  const cores = availableParallelism();
  if (cores < 2) throw new Error('needs at least 2 cores (one per worker)');
  const gen = detectLoadGenerator('wrk');
  if (!gen || gen.kind !== 'wrk') throw new Error(INSTALL_HINT);
  for (const dir of staleGroups(ctl)) console.log(`removed an earlier run's leftover cgroup ${dir}: ${removeStaleGroup(dir)}`);

  const release = await acquireMachineLock('/tmp/gatehouse-bench.lock', 900_000, (pid) => console.log(`waiting for bench PID ${pid} ...`));
  let groups;
  const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-wscale-'));
  const cleanupSync = () => {
    killAllSync();
    const problems = groups?.cleanupSync() ?? [];
    if (problems.length) console.error(`could not remove cgroups: ${problems.join('; ')}`);
    groups = undefined;
    rmSync(tmp, { recursive: true, force: true });
    release();
  };
  process.on('exit', cleanupSync);
  const stopAndExit = (code) => () => stopAll().finally(() => process.exit(code));
  process.on('SIGINT', stopAndExit(130));
  process.on('SIGTERM', stopAndExit(143));
  const deadline = setTimeout(() => {
    console.error(`--max-seconds ${o.maxSeconds} reached: stopping`);
    stopAndExit(1)();
  }, o.maxSeconds * 1000);
  deadline.unref();

  groups = new CpuGroups(ctl, `gatehouse-scale-${process.pid}`);
  // --priority load (default): wrk and the upstream first whenever they are runnable (as if on cores of their own:
  // they answer at once), the serving processes take the rest up to their quota. --priority gateway: the other way.
  // Both weigh far more than the rest of the machine (other nice-0 processes weigh 1024).
  const [gatewayWeight, loadWeight] = o.priority === 'load' ? [10_000, 100_000] : [100_000, 10_000];
  for (const g of ['single', 'w1', 'w2', 'spin']) groups.create(g, { weight: gatewayWeight, quotaPct: o.quotas[0], periodUs: o.periodUs });
  groups.create('primary', { weight: 1024 });
  groups.create('load', { weight: loadWeight });
  groups.move('load', process.pid); // this script, and everything it starts from now on, until moved on
  // one-core: this script on core 1, so the upstream and wrk it starts are there too (children inherit it).
  const oneCore = o.layout === 'one-core';
  if (oneCore) execFileSync(taskset, ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });

  const t0 = new Date();
  const load0 = loadavg();
  console.log(`workers-scale ${t0.toISOString()}  load avg ${load0.map((x) => x.toFixed(2)).join(' ')}  cgroup v${ctl.version} at ${groups.parent}`);
  const wrkThreads = oneCore ? 1 : cores;
  console.log(`quota ${o.quotas.join(', ')} % of one core per serving process (period ${o.periodUs / 1000} ms), ${o.priority} first, wrk -t ${wrkThreads} -c ${o.connections}, ${o.warmup} s warm-up + ${o.duration} s, ${o.rounds} interleaved rounds, body ${o.body}`);
  console.log(oneCore ? 'layout one-core: every gateway process on core 0; this script, wrk and the upstream on core 1' : 'layout split: serving process i on core i; wrk and the upstream unpinned');

  const { cert, key } = makeCertificate(tmp);
  const upstream = start('upstream', process.execPath, [join(here, 'lib', 'upstream.mjs'), '--cert', cert, '--key', key], { logFile: join(tmp, 'upstream.log'), pipeStdout: true });
  const up = JSON.parse(await readFirstLine(upstream, 10_000));

  /** One gateway: `--workers W`; its serving processes moved into their groups and pinned. */
  async function gateway(workers) {
    const dir = join(tmp, `w${workers}`);
    mkdirSync(join(dir, 'config'), { recursive: true });
    const [httpPort, httpsPort, statusPort, statsPort, adminPort] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
    writeIstioConfig(join(dir, 'config'), { httpPort, httpsPort, upstreamPort: up.http, cert, key });
    const p = start(`gateway-w${workers}`, process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'serve', '--config', join(dir, 'config'),
      '--status-port', String(statusPort), '--stats-port', String(statsPort), '--admin-port', String(adminPort), '--bind', '127.0.0.1',
      '--workers', String(workers), '--ca-dir', join(dir, 'ca')], { logFile: join(dir, 'gateway.log'), cwd: root });
    const until = Date.now() + 60_000;
    while ((await status(`http://127.0.0.1:${statusPort}/healthz/ready`)) !== 200) {
      if (p.exitCode !== null || Date.now() > until) throw new Error(`gateway --workers ${workers} not ready (log: ${join(dir, 'gateway.log')})`);
      await sleep(100);
    }
    const serving = workers === 1 ? [p.pid] : processTree(p.pid).slice(1);
    if (serving.length !== workers) throw new Error(`--workers ${workers}: found ${serving.length} worker processes (${serving.join(', ')})`);
    const names = workers === 1 ? ['single'] : ['w1', 'w2'];
    serving.forEach((pid, i) => {
      groups.move(names[i], pid);
      execFileSync(taskset, ['-a', '-p', '-c', oneCore ? '0' : String(i), String(pid)], { stdio: 'ignore' }); // every thread of it
    });
    if (workers > 1) groups.move('primary', p.pid);
    // It was started from core 1 (one-core): the primary belongs with its workers, off the load generator's core.
    if (workers > 1 && oneCore) execFileSync(taskset, ['-a', '-p', '-c', '0', String(p.pid)], { stdio: 'ignore' });
    return { workers, p, serving, names, adminPort, bases: { http: `http://127.0.0.1:${httpPort}`, https: `https://localhost:${httpsPort}` } };
  }
  const gws = [await gateway(1), await gateway(2)];
  // The control for `--workers 1`: a busy loop in core 1's slice (same quota, same weight, pinned there), stopped
  // (SIGSTOP) except during its rows, so the load generator has the same CPU left on each core as beside two
  // workers, and the single process shares its core with it as much as each worker does.
  const spinner = oneCore ? undefined : start('spinner', process.execPath, ['-e', 'for (;;) {}'], { logFile: join(tmp, 'spinner.log') });
  if (spinner) {
    process.kill(spinner.pid, 'SIGSTOP');
    groups.move('spin', spinner.pid);
    execFileSync(taskset, ['-a', '-p', '-c', '1', String(spinner.pid)], { stdio: 'ignore' });
  }
  const configs = o.configs.map((name) => ({ name, gw: gws[name === '2' ? 1 : 0], spin: name === '1+spin' }));
  const served = async (gw) => {
    if (gw.workers === 1) return undefined;
    const list = (await (await fetch(`http://127.0.0.1:${gw.adminPort}/workers`)).json()).workers;
    return gw.serving.map((pid) => list.find((w) => w.pid === pid)?.requestsTotal ?? NaN);
  };
  const path = o.body === '1k' ? '/1k' : '/';
  const loadOpts = { connections: o.connections, tmpDir: tmp, logFile: join(tmp, 'wrk.log'), pin: { loadgenThreads: wrkThreads } };
  // Priming without quotas: under a 25 % quota the JIT's warm-up would take four times as long in wall time and
  // spill into the measured rounds (req/s rose round after round when it was primed for 2 s under the quota).
  for (const g of ['single', 'w1', 'w2']) groups.setQuota(g, undefined, o.periodUs);
  for (const gw of gws) for (const proto of o.protos) await runLoad(gen, { ...loadOpts, url: gw.bases[proto] + path, seconds: o.prime });

  // The primary with no load at all, to tell its fixed cost (timers) from anything per request.
  const gw2 = gws[1];
  const idleSecs = 3;
  const pi0 = cpuOf(gw2.p.pid);
  const wi0 = gw2.serving.map(cpuOf);
  await sleep(idleSecs * 1000);
  const primaryIdleShare = (cpuOf(gw2.p.pid) - pi0) / (idleSecs * 1e6);
  const workersIdleShare = gw2.serving.map((pid, i) => (cpuOf(pid) - wi0[i]) / (idleSecs * 1e6));
  console.log(`idle for ${idleSecs} s: primary ${fmt(100 * primaryIdleShare, 2)}% of a core, workers ${workersIdleShare.map((x) => fmt(100 * x, 2) + '%').join(' / ')}`);

  const samples = [];
  for (const quota of o.quotas) {
    for (const g of ['single', 'w1', 'w2', 'spin']) groups.setQuota(g, quota, o.periodUs);
    for (let round = 1; round <= o.rounds; round++) {
      for (const proto of o.protos) {
        const order = round % 2 ? configs : [...configs].reverse();
        for (const cfg of order) {
          const { gw } = cfg;
          const url = gw.bases[proto] + path;
          if (cfg.spin) process.kill(spinner.pid, 'SIGCONT');
          if (o.warmup > 0) await runLoad(gen, { ...loadOpts, url, seconds: o.warmup });
          for (const pid of gw.serving) if (!Number.isFinite(cpuOf(pid))) throw new Error(`worker ${pid} is gone (restarted?)`);
          const req0 = await served(gw);
          const st0 = gw.names.map((n) => groups.stat(n));
          const cpu0 = gw.serving.map(cpuOf);
          const prim0 = gw.workers > 1 ? cpuOf(gw.p.pid) : 0;
          const spin0 = spinner ? cpuOf(spinner.pid) : 0;
          const sw0 = gw.serving.map(contextSwitches);
          const up0 = cpuOf(upstream.pid);
          const wrk0 = reapedChildrenCpuMicros();
          const core0 = coreTimes();
          const upWait0 = waitedUs(upstream.pid);
          const running = runLoad(gen, { ...loadOpts, url, seconds: o.duration });
          // wrk's own wait for a CPU, read shortly before it ends (its threads are gone after): per second alive.
          let wrkWait;
          await sleep(Math.max(500, o.duration * 1000 - 500));
          const wpid = wrkPid();
          const conns = connectionsByPid(new URL(url).port, gw.serving);
          if (wpid) {
            const s = readFileSync(`/proc/${wpid}/stat`, 'utf8');
            const startTicks = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[19]);
            const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
            wrkWait = waitedUs(wpid) / ((uptime - startTicks / CLK) * 1e6);
          }
          const res = await running;
          const upWait1 = waitedUs(upstream.pid);
          const core1 = coreTimes();
          const wrk1 = reapedChildrenCpuMicros();
          const up1 = cpuOf(upstream.pid);
          const prim1 = gw.workers > 1 ? cpuOf(gw.p.pid) : 0;
          const spin1 = spinner ? cpuOf(spinner.pid) : 0;
          const sw1 = gw.serving.map(contextSwitches);
          if (cfg.spin) process.kill(spinner.pid, 'SIGSTOP');
          const cpu1 = gw.serving.map(cpuOf);
          const st1 = gw.names.map((n) => groups.stat(n));
          const req1 = await served(gw);
          const secs = res.seconds;
          const perProc = gw.serving.map((pid, i) => {
            const requests = req1 ? req1[i] - req0[i] : res.requests;
            const cpuUs = cpu1[i] - cpu0[i];
            return {
              pid, requests, cpuUs,
              coreShare: cpuUs / (secs * 1e6), // of one core over the run: ≈ quota when the quota limited it
              usPerReq: cpuUs / requests,
              periods: st1[i].periods - st0[i].periods,
              throttled: st1[i].throttled - st0[i].throttled,
              throttledMs: (st1[i].throttledUs - st0[i].throttledUs) / 1000,
              // Context switches per request: being taken off the CPU (involuntary: preempted or throttled)
              // and giving it up (voluntary: waiting for I/O). Sharing a core with the load generator shows here.
              involuntaryPerReq: (sw1[i].involuntary - sw0[i].involuntary) / requests,
              voluntaryPerReq: (sw1[i].voluntary - sw0[i].voluntary) / requests,
            };
          });
          const served2 = perProc.reduce((a, b) => a + b.requests, 0);
          // The quota limited a run only if every serving process was throttled in (nearly) every period; a
          // process that was not ran out of work: the load generator, the upstream or the split limited it.
          const quotaLimited = perProc.every((x) => x.throttled >= QUOTA_LIMITED * x.periods);
          const idle = Object.keys(core1).map((c) => 1 - (core1[c].busy - core0[c].busy) / (core1[c].total - core0[c].total));
          const s = {
            quota, round, proto, config: cfg.name, quotaLimited, workers: gw.workers, spinnerCoreShare: cfg.spin ? (spin1 - spin0) / (secs * 1e6) : undefined, rps: res.rps, requests: res.requests, seconds: secs, p99_ms: res.p99_ms, errors: res.errors + res.non2xx,
            perProc,
            split: gw.workers > 1 ? perProc.map((x) => x.requests / served2) : undefined,
            connections: conns, // wrk's connections each serving process held, near the end of the run
            primaryUs: prim1 - prim0,
            primaryUsPerReq: gw.workers > 1 ? (prim1 - prim0) / res.requests : undefined,
            primaryCoreShare: gw.workers > 1 ? (prim1 - prim0) / (secs * 1e6) : undefined,
            upstreamCoreShare: (up1 - up0) / (secs * 1e6),
            wrkCoreShare: (wrk1 - wrk0) / (secs * 1e6),
            // Runnable but not running, per second of the run, summed over threads: how far from their CPU they were.
            upstreamWaitShare: (upWait1 - upWait0) / (secs * 1e6),
            wrkWaitShare: wrkWait,
            coreIdle: idle,
            load1: loadavg()[0],
          };
          samples.push(s);
          console.log(`  Q ${quota}% [${round}/${o.rounds}] ${proto.padEnd(5)} --workers ${cfg.name.padEnd(6)}: ${fmt(s.rps).padStart(5)} req/s` +
            `  ${perProc.map((x) => `${x.pid}: ${fmt(100 * x.coreShare)}% core, ${fmt(x.usPerReq, 1)} µs/req, throttled ${x.throttled}/${x.periods}, cs/req ${fmt(x.involuntaryPerReq, 3)}+${fmt(x.voluntaryPerReq, 3)}`).join('; ')}` +
            (cfg.spin ? `  spinner ${fmt(100 * s.spinnerCoreShare)}%` : '') +
            (s.split ? `  split ${s.split.map((x) => fmt(100 * x)).join('/')} (connections ${conns?.join('/') ?? '?'})  primary ${fmt(s.primaryUsPerReq, 2)} µs/req (${fmt(100 * s.primaryCoreShare, 2)}% core)` : '') +
            `  upstream ${fmt(100 * s.upstreamCoreShare)}% (waited ${fmt(100 * s.upstreamWaitShare, 1)}%) wrk ${fmt(100 * s.wrkCoreShare)}% (waited ${fmt(100 * s.wrkWaitShare, 1)}%) idle ${idle.map((x) => fmt(100 * x)).join('/')}%` +
            `${s.errors ? `  ERRORS ${s.errors}` : ''}${quotaLimited ? '' : '  NOT LIMITED BY THE QUOTA'}  load ${s.load1.toFixed(2)}`);
        }
      }
    }
  }

  console.log(`\nmedians (${o.rounds} rounds; each serving process capped at Q % of one core, ${oneCore ? 'all on core 0, the load generator on core 1' : 'pinned one per core'}; µs/req of each serving process)`);
  const summary = [];
  for (const quota of o.quotas) for (const proto of o.protos) {
    const of = (name) => samples.filter((s) => s.quota === quota && s.proto === proto && s.config === name);
    const two = of('2');
    const row = { quota, proto, configs: {} };
    for (const name of o.configs) {
      const xs = of(name);
      row.configs[name] = {
        rps: median(xs.map((s) => s.rps)),
        usPerReq: [0, 1].slice(0, xs[0]?.perProc.length ?? 0).map((i) => median(xs.map((s) => s.perProc[i].usPerReq))),
        quotaLimitedRounds: xs.filter((s) => s.quotaLimited).length,
        minThrottledShare: Math.min(...xs.flatMap((s) => s.perProc.map((x) => x.throttled / x.periods))),
        involuntaryPerReq: median(xs.map((s) => s.perProc.reduce((a, x) => a + x.involuntaryPerReq * x.requests, 0) / s.perProc.reduce((a, x) => a + x.requests, 0))),
        ...(name === '2' ? { splits: xs.map((s) => s.split.map((x) => Math.round(100 * x)).join('/')), connections: xs.map((s) => s.connections?.join('/')), split: median(xs.map((s) => s.split[0])), primaryUsPerReq: median(xs.map((s) => s.primaryUsPerReq)) } : {}),
      };
    }
    for (const name of o.configs) {
      if (name === '2' || !two.length) continue;
      // Per round: 2 workers / this, each round's pair measured back to back.
      row.configs[name].roundRatios = of(name).map((s) => two.find((t) => t.round === s.round)?.rps / s.rps);
      row.configs[name].ratio = row.configs['2'].rps / row.configs[name].rps;
    }
    summary.push(row);
    for (const name of o.configs) {
      const c = row.configs[name];
      console.log(`Q ${String(quota).padStart(2)}% ${proto.padEnd(5)} --workers ${name.padEnd(6)} ${fmt(c.rps).padStart(6)} req/s  µs/req ${c.usPerReq.map((x) => fmt(x, 1)).join(' / ').padEnd(13)}` +
        ` invol. cs/req ${fmt(c.involuntaryPerReq, 3)}  throttled ≥ ${fmt(100 * c.minThrottledShare)}% of periods` +
        (c.quotaLimitedRounds < o.rounds ? ` (only ${c.quotaLimitedRounds}/${o.rounds} rounds limited by the quota!)` : '') +
        (c.split !== undefined ? `  split ${c.splits.join(' ')} (connections ${c.connections.join(' ')})  primary ${fmt(c.primaryUsPerReq, 2)} µs/req` : '') +
        (c.ratio !== undefined ? `  2 workers / this: ${fmt(c.ratio, 2)} (rounds ${c.roundRatios.map((x) => fmt(x, 2)).join(' ')})` : ''));
    }
  }
  const bad = samples.filter((s) => s.errors);
  if (bad.length) console.log(`! ${bad.length} runs saw socket errors or non-2xx responses`);
  mkdirSync(join(here, 'results'), { recursive: true });
  const file = join(here, 'results', `workers-scale-${t0.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ options: o, started: t0.toISOString(), ended: new Date().toISOString(), loadavg: { start: load0, end: loadavg() },
    cgroup: { version: ctl.version, parent: groups.parent }, cores, idle: { seconds: idleSecs, primaryCoreShare: primaryIdleShare, workersCoreShare: workersIdleShare }, node: process.version, wrk: gen.version, summary, samples }, null, 2) + '\n');
  console.log(`results: ${file}  (load avg at end ${loadavg().map((x) => x.toFixed(2)).join(' ')})`);
  for (const gw of gws) await stop(gw.p);
  if (spinner) {
    process.kill(spinner.pid, 'SIGCONT');
    await stop(spinner);
  }
  await stop(upstream);
  rmSync(tmp, { recursive: true, force: true });
}

let interrupted = false;
process.once('SIGINT', () => (interrupted = true));
process.once('SIGTERM', () => (interrupted = true));
main().then(() => process.exit(0), (err) => {
  if (interrupted) return; // the signal handler is stopping everything; wrk's death is no error of its own
  console.error(err.stack ?? err.message);
  stopAll().finally(() => process.exit(1));
});
