#!/usr/bin/env node
// Instructions per request under valgrind's callgrind: a load-independent price of a proxy's request path, for
// a machine too busy for the floor benchmark's CPU figures. Each target runs under callgrind; after a warm-up
// the counters are zeroed, the target idles for --idle seconds (timers, the overload guard's event-loop-delay
// sampling: a cost per second, not per request), then serves --requests requests over --connections
// keep-alive connections, --rounds times (the last round is the figure). Per request = (measured − idle rate × measured seconds) / requests.
//   node bench/instructions.mjs [--targets floor,floor-raw,gatehouse,gatehouse@base] [--proto http|https] [--requests N]
//                               [--warmup N] [--connections N] [--idle S] [--rounds N] [--baseline-root DIR] [--root DIR] [--keep [--perf-map]] [--gateway-arg A]...
// --keep: keep the temporary directory with each target's callgrind dumps, one file per thread (the main thread's
// ends in -01), and with --perf-map node's map of JIT code (perf-PID.map) to name the dumps' 0x… functions.
// --root: the build the `gatehouse` target runs (default: this checkout), so a copy can be measured while you rebuild.
// Needs valgrind (apt-get install -y valgrind) and a build. A target takes minutes: JIT code runs ~50× slower.
// Figures: the same binary, inputs and environment give the same count within ~1%, whatever else the machine does.
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { start, stop, stopAll, killAllSync, freePort, sleep, readFirstLine, which } from './lib/procs.mjs';
import { makeCertificate, writeIstioConfig } from './lib/config.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

function parseArgs(argv) {
  const o = { targets: ['floor', 'gatehouse'], proto: 'http', requests: 2000, warmup: 2500, connections: 8, idle: 20, rounds: 2, baselineRoot: undefined, root, gatewayArgs: [], keep: false, perfMap: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => argv[++i];
    switch (a) {
      case '--targets': o.targets = val().split(','); break;
      case '--proto': o.proto = val(); break;
      case '--requests': o.requests = Number(val()); break;
      case '--warmup': o.warmup = Number(val()); break;
      case '--connections': o.connections = Number(val()); break;
      case '--idle': o.idle = Number(val()); break;
      case '--rounds': o.rounds = Math.max(1, Math.min(10, Number(val()))); break;
      case '--baseline-root': o.baselineRoot = val(); break;
      case '--root': o.root = val(); break;
      case '--gateway-arg': o.gatewayArgs.push(val()); break;
      case '--keep': o.keep = true; break;
      case '--perf-map': o.perfMap = true; break;
      default: console.error(`instructions: unknown option ${a} (see the header of bench/instructions.mjs)`); process.exit(2);
    }
  }
  if (!(o.requests >= 100 && o.requests <= 100_000)) throw new Error('--requests must be 100..100000');
  return o;
}

/** `n` requests over `connections` keep-alive connections, bounded by a deadline. */
async function drive(base, n, connections, deadlineMs) {
  const url = new URL(`${base}/1k`);
  const mod = url.protocol === 'https:' ? https : http;
  const agent = new mod.Agent({ keepAlive: true, maxSockets: connections, rejectUnauthorized: false });
  const deadline = Date.now() + deadlineMs;
  let sent = 0;
  let failed = 0;
  const one = () => new Promise((resolve) => {
    const req = mod.get(url, { agent, headers: { 'user-agent': 'gatehouse-bench' } }, (res) => {
      if (res.statusCode !== 200) failed++;
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', () => { failed++; resolve(); });
  });
  const lane = async () => {
    while (sent < n && Date.now() < deadline) {
      sent++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: connections }, lane));
  agent.destroy();
  if (sent < n) throw new Error(`only ${sent} of ${n} requests before the deadline`);
  return failed;
}

/**
 * Total instructions (Ir) of every thread after `callgrind_control -d`: a dump writes one file per thread
 * (--separate-threads), so JIT compiles and concurrent GC on V8's helper threads count, as they cost CPU.
 */
/**
 * Dumps the counters: instructions in all threads, and in the main thread alone (its dump ends in -01).
 * V8's platform threads run concurrent GC and JIT compiles, whose share under valgrind (every request ~50x
 * slower, so per-second work weighs ~50x more per request) a real run does not have: the main thread is
 * the steadier figure to compare builds on.
 */
function dump(dir, pid, label) {
  const before = new Set(readdirSync(dir));
  execFileSync('callgrind_control', ['-d', label, String(pid)], { stdio: 'ignore' });
  const files = readdirSync(dir).filter((f) => !before.has(f) && f.startsWith(`callgrind.out.${pid}`));
  if (files.length === 0) throw new Error(`no callgrind dump for ${label}`);
  let total = 0;
  let main = 0;
  for (const file of files) {
    const m = /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, file), 'utf8'));
    if (!m) throw new Error(`callgrind dump ${file} has no total`);
    total += Number(m[1]);
    if (file.endsWith('-01')) main += Number(m[1]);
  }
  return { total, main };
}

async function waitReady(url, child, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error('process exited while starting');
    const code = await new Promise((resolve) => {
      const req = http.get(url, { agent: false, timeout: 5000 }, (res) => { res.resume(); resolve(res.statusCode); });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(0));
    });
    if (code === 200) return;
    await sleep(500);
  }
  throw new Error(`not ready after ${ms} ms: ${url}`);
}

async function measure(o, target, tmp, cert, key, upstreamPort) {
  const dir = join(tmp, target.replace(/[@+]/g, '-'));
  mkdirSync(dir, { recursive: true });
  const valgrind = ['--tool=callgrind', `--callgrind-out-file=${join(dir, 'callgrind.out.%p')}`, '--dump-instr=no', '--compress-strings=no', '--separate-threads=yes'];
  // node writes /tmp/perf-PID.map as it compiles; PID is valgrind's own, since the guest runs in its process.
  // The flag also turns on V8's log: keep it beside the dumps, not in the working directory.
  const nodeFlags = o.perfMap ? ['--perf-basic-prof', '--no-logfile-per-isolate', `--logfile=${join(dir, 'v8.log')}`] : [];
  let child;
  let base;
  let readyUrl;
  if (target === 'floor' || target === 'floor-raw' || target === 'floor-llhttp') {
    if (target === 'floor-raw' && o.proto !== 'http') throw new Error('floor-raw speaks plain HTTP/1.1 only');
    // floor-raw: the floor without node's HTTP server (bench/floor-raw-proxy.mjs), a what-if that prices node:http.
    const script = target === 'floor' ? 'floor-proxy.mjs' : `${target}-proxy.mjs`;
    child = start(target, which('valgrind'), [...valgrind, process.execPath, ...nodeFlags, join(here, script), '--upstream', `http://127.0.0.1:${upstreamPort}`,
      '--https-cert', cert, '--https-key', key], { logFile: join(dir, 'proxy.log'), pipeStdout: true, cwd: root });
    const ports = JSON.parse(await readFirstLine(child, 900_000));
    base = o.proto === 'https' ? `https://127.0.0.1:${ports.https}` : `http://127.0.0.1:${ports.http}`;
  } else {
    const [kind, build] = target.split('@');
    const gwRoot = build === 'base' ? o.baselineRoot : o.root;
    if (!gwRoot || !existsSync(join(gwRoot, 'dist', 'cli', 'main.js'))) throw new Error(`${target}: no build (need --baseline-root DIR with dist/)`);
    if (kind !== 'gatehouse') throw new Error(`unknown target ${target}`);
    const [httpPort, httpsPort, statusPort, statsPort, adminPort] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
    mkdirSync(join(dir, 'config'), { recursive: true });
    writeIstioConfig(join(dir, 'config'), { httpPort, httpsPort, upstreamPort, cert, key });
    // Under valgrind a request takes milliseconds: the overload guard would shed load as event-loop lag.
    child = start(target, which('valgrind'), [...valgrind, process.execPath, ...nodeFlags, join(gwRoot, 'dist', 'cli', 'main.js'), 'serve', '--config', join(dir, 'config'),
      '--status-port', String(statusPort), '--stats-port', String(statsPort), '--admin-port', String(adminPort), '--bind', '127.0.0.1', '--workers', '1',
      '--overload-event-loop-lag', '600s', '--overload-heap-ratio', '1', ...o.gatewayArgs], { logFile: join(dir, 'proxy.log'), cwd: gwRoot });
    readyUrl = `http://127.0.0.1:${statusPort}/healthz/ready`;
    await waitReady(readyUrl, child, 900_000);
    base = o.proto === 'https' ? `https://127.0.0.1:${httpsPort}` : `http://127.0.0.1:${httpPort}`;
  }
  const warmFailed = await drive(base, o.warmup, o.connections, 600_000);
  if (warmFailed) throw new Error(`${target}: ${warmFailed} warm-up requests failed`);
  execFileSync('callgrind_control', ['-z', String(child.pid)], { stdio: 'ignore' });
  const idleStart = performance.now();
  await sleep(o.idle * 1000);
  const idle = dump(dir, child.pid, 'idle');
  const idleSeconds = (performance.now() - idleStart) / 1000;
  const idleRate = idle.total / idleSeconds;
  const idleMainRate = idle.main / idleSeconds;
  // Rounds in one process show the JIT settling: the last is the figure, earlier ones still pay for compiles.
  const perRound = [];
  const mainPerRound = [];
  let seconds = 0;
  for (let round = 0; round < o.rounds; round++) {
    execFileSync('callgrind_control', ['-z', String(child.pid)], { stdio: 'ignore' });
    const t0 = performance.now();
    const failed = await drive(base, o.requests, o.connections, 600_000);
    seconds = (performance.now() - t0) / 1000;
    const measured = dump(dir, child.pid, `measured-${round}`);
    if (failed) throw new Error(`${target}: ${failed} requests failed`);
    perRound.push((measured.total - idleRate * seconds) / o.requests);
    mainPerRound.push((measured.main - idleMainRate * seconds) / o.requests);
  }
  await stop(child);
  if (o.perfMap && existsSync(`/tmp/perf-${child.pid}.map`)) renameSync(`/tmp/perf-${child.pid}.map`, join(dir, `perf-${child.pid}.map`));
  return { target, perRequest: perRound[perRound.length - 1], perRound, mainPerRequest: mainPerRound[mainPerRound.length - 1], mainPerRound, idleRate, seconds };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!which('valgrind') || !which('callgrind_control')) throw new Error('valgrind not found (apt-get install -y valgrind)');
  process.on('exit', killAllSync);
  const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-instr-'));
  console.log(`instructions per request: ${o.proto}, ${o.warmup} warm-up + ${o.requests} measured requests over ${o.connections} keep-alive connections, 1 KiB responses, ${o.idle} s idle subtracted`);
  try {
    const { cert, key } = makeCertificate(tmp, 'ec');
    const upstream = start('upstream', process.execPath, [join(here, 'lib', 'upstream.mjs')], { logFile: join(tmp, 'upstream.log'), pipeStdout: true });
    const up = JSON.parse(await readFirstLine(upstream, 10_000));
    const rows = [];
    for (const target of o.targets) {
      const r = await measure(o, target, tmp, cert, key, up.http);
      rows.push(r);
      console.log(`${target.padEnd(24)} ${(r.perRequest / 1000).toFixed(1).padStart(8)} k instr/req   (rounds ${r.perRound.map((x) => (x / 1000).toFixed(1)).join(' · ')}; idle ${(r.idleRate / 1e6).toFixed(1)} M/s, ${r.seconds.toFixed(1)} s measured); main thread ${(r.mainPerRequest / 1000).toFixed(1)} k (rounds ${r.mainPerRound.map((x) => (x / 1000).toFixed(1)).join(' · ')})`);
    }
    const floor = rows.find((r) => r.target === 'floor');
    if (floor) for (const r of rows) console.log(`${r.target.padEnd(24)} vs floor ${(floor.perRequest / r.perRequest).toFixed(2)}   main thread ${(floor.mainPerRequest / r.mainPerRequest).toFixed(2)}`);
  } finally {
    await stopAll();
    if (o.keep) console.log(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err.stack ?? String(err));
  stopAll().finally(() => process.exit(1));
});
