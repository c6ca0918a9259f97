#!/usr/bin/env node
// Idle memory of the gateway with the benchmark config: started, ready, left alone for --settle seconds, then
// read from /proc (VmRSS, and its anonymous and file-backed parts: the heap and buffers vs mapped code) for
// the whole process tree. Builds are measured in interleaved rounds, medians reported.
//   node bench/idle-rss.mjs [--rounds 5] [--settle 3] [--cpu-seconds 5] [--workers 1] [--baseline-root DIR] [--gateway-arg A]...
// After the RSS sample, the tree's idle CPU over --cpu-seconds: run time from /proc/PID/task/*/schedstat
// (exact nanoseconds; utime/stime in /proc/PID/stat are sampled at the clock tick and read 0 for a process
// that wakes often but briefly) and wake-ups (context switches of every thread) per second.
//                           [--node-arg A]...   (flags for node itself, e.g. --node-arg=--max-semi-space-size=1)
// DIR is a baseline build (git archive BASE | tar -x -C DIR, node_modules linked, tsc). Loopback only;
// every process it starts is stopped by its PID.
import { mkdtempSync, mkdirSync, rmSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeCertificate, writeIstioConfig } from './lib/config.mjs';
import { start, stop, stopAll, killAllSync, freePort, processTree, readFirstLine, sleep, contextSwitches } from './lib/procs.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const o = { rounds: 5, settle: 3, cpuSeconds: 5, workers: 1, baselineRoot: undefined, gatewayArgs: [], nodeArgs: [] };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
  const val = () => inline ?? process.argv[++i];
  switch (flag) {
    case '--rounds': o.rounds = Math.max(1, Math.min(20, Number(val()))); break;
    case '--settle': o.settle = Math.max(0, Math.min(60, Number(val()))); break;
    case '--cpu-seconds': o.cpuSeconds = Math.max(0, Math.min(120, Number(val()))); break;
    case '--workers': o.workers = Math.max(1, Math.min(8, Number(val()))); break;
    case '--baseline-root': o.baselineRoot = val(); break;
    case '--gateway-arg': o.gatewayArgs.push(val()); break;
    case '--node-arg': o.nodeArgs.push(val()); break;
    default: console.error(`idle-rss: unknown option ${a} (see the header of bench/idle-rss.mjs)`); process.exit(2);
  }
}

/** KiB figures of one process from /proc/PID/status. */
function statusKiB(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const pick = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: pick('VmRSS'), anon: pick('RssAnon'), file: pick('RssFile') };
}

/** Run time (ns, exact) and context switches of every thread of every process in `pids`. */
function threadTimes(pids) {
  let runNs = 0;
  let switches = 0;
  for (const pid of pids) {
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        runNs += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      } catch {}
    }
    const cs = contextSwitches(pid);
    switches += cs.voluntary + cs.involuntary;
  }
  return { runNs, switches };
}

async function ready(statusPort, child) {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error('gateway exited while starting');
    const ok = await fetch(`http://127.0.0.1:${statusPort}/healthz/ready`).then((r) => r.status === 200, () => false);
    if (ok) return;
    await sleep(100);
  }
  throw new Error('gateway not ready after 60 s');
}

/** One start of one build: ready, settle, sample every process of the tree (primary first). */
async function measure(gwRoot, tmp, up) {
  const dir = mkdtempSync(join(tmp, 'gw-'));
  mkdirSync(join(dir, 'config'));
  const [httpPort, httpsPort, statusPort, statsPort, adminPort] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
  writeIstioConfig(join(dir, 'config'), { httpPort, httpsPort, upstreamPort: up.http, cert: up.cert, key: up.key });
  const gw = start('gatehouse', process.execPath, [...o.nodeArgs, join(gwRoot, 'dist', 'cli', 'main.js'), 'serve', '--workers', String(o.workers),
    '--config', join(dir, 'config'), '--status-port', String(statusPort), '--stats-port', String(statsPort), '--admin-port', String(adminPort),
    '--bind', '127.0.0.1', ...o.gatewayArgs],
  { logFile: join(dir, 'gateway.log'), cwd: gwRoot });
  try {
    await ready(statusPort, gw);
    await sleep(o.settle * 1000);
    const pids = processTree(gw.pid);
    const procs = pids.map(statusKiB);
    let cpu;
    if (o.cpuSeconds > 0) {
      const a = threadTimes(pids);
      const t0 = performance.now();
      await sleep(o.cpuSeconds * 1000);
      const b = threadTimes(pids);
      const secs = (performance.now() - t0) / 1000;
      cpu = { msPerSecond: (b.runNs - a.runNs) / 1e6 / secs, wakeupsPerSecond: (b.switches - a.switches) / secs };
    }
    return { total: procs.reduce((a, p) => a + p.rss, 0), primary: procs[0], workers: procs.slice(1), cpu };
  } finally {
    await stop(gw);
  }
}

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const mib = (kib) => (kib / 1024).toFixed(1);

async function main() {
  process.on('exit', killAllSync);
  process.on('SIGINT', () => stopAll().finally(() => process.exit(130)));
  const builds = [{ name: 'this build', root }];
  if (o.baselineRoot) {
    if (!existsSync(join(o.baselineRoot, 'dist', 'cli', 'main.js'))) throw new Error(`${o.baselineRoot}: no dist/ (build it first)`);
    builds.push({ name: 'baseline', root: o.baselineRoot });
  }
  const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-idle-rss-'));
  try {
    const { cert, key } = makeCertificate(tmp);
    const upstream = start('upstream', process.execPath, [join(here, 'lib', 'upstream.mjs'), '--cert', cert, '--key', key],
      { logFile: join(tmp, 'upstream.log'), pipeStdout: true });
    const up = { ...JSON.parse(await readFirstLine(upstream, 10_000)), cert, key };
    console.log(`idle-rss ${new Date().toISOString()}  load avg ${loadavg().map((x) => x.toFixed(2)).join(' ')}  --workers ${o.workers}, ` +
      `${o.rounds} interleaved rounds, ${o.settle} s settle${o.nodeArgs.length ? `, node ${o.nodeArgs.join(' ')}` : ''}`);
    const samples = new Map(builds.map((b) => [b.name, []]));
    for (let round = 1; round <= o.rounds; round++) {
      for (const b of round % 2 ? builds : [...builds].reverse()) {
        const s = await measure(b.root, tmp, up);
        samples.get(b.name).push(s);
        const w = s.workers.length ? `  workers ${s.workers.map((x) => mib(x.rss)).join(' / ')}` : '';
        console.log(`  [${round}/${o.rounds}] ${b.name.padEnd(10)} total ${mib(s.total)} MiB  primary ${mib(s.primary.rss)} ` +
          `(anon ${mib(s.primary.anon)}, file ${mib(s.primary.file)})${w}` +
          (s.cpu ? `  idle CPU ${s.cpu.msPerSecond.toFixed(2)} ms/s, ${s.cpu.wakeupsPerSecond.toFixed(0)} context switches/s` : ''));
      }
    }
    console.log(`\nmedians (MiB)   total  primary  anon   file${o.workers > 1 ? '  worker' : ''}`);
    const med = {};
    for (const b of builds) {
      const ss = samples.get(b.name);
      med[b.name] = median(ss.map((s) => s.total));
      const worker = o.workers > 1 ? `  ${mib(median(ss.flatMap((s) => s.workers.map((w) => w.rss)))).padStart(6)}` : '';
      console.log(`${b.name.padEnd(14)} ${mib(med[b.name]).padStart(6)}  ${mib(median(ss.map((s) => s.primary.rss))).padStart(7)} ` +
        `${mib(median(ss.map((s) => s.primary.anon))).padStart(5)}  ${mib(median(ss.map((s) => s.primary.file))).padStart(5)}${worker}` +
        (o.cpuSeconds > 0 ? `   idle CPU ${median(ss.map((s) => s.cpu.msPerSecond)).toFixed(2)} ms/s (${(median(ss.map((s) => s.cpu.msPerSecond)) / 10).toFixed(3)}% of a core), ${median(ss.map((s) => s.cpu.wakeupsPerSecond)).toFixed(0)} context switches/s` : ''));
    }
    if (o.baselineRoot) console.log(`this build / baseline (total): ${(med['this build'] / med.baseline).toFixed(3)}`);
    console.log(`load avg at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  } finally {
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch(async (err) => {
  console.error(`idle-rss: ${err.stack ?? err}`);
  await stopAll();
  process.exit(1);
});
