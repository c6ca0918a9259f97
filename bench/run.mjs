#!/usr/bin/env node
// Gatehouse benchmark: throughput, latency, memory and CPU per request of the gateway against named
// baselines measured in the same run (the upstream directly, and nginx when it is installed).
// Usage: npm run bench -- [--scenario LIST] [--duration S] [--connections N] [--warmup S] ...
// See bench/README.md. Everything talks to 127.0.0.1 / ::1 only; every process started is stopped by PID.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir, release, totalmem, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync, spawnSync } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import {
  which, pinningPlan, start, stop, stopAll, killAllSync, freePort, cpuMicros, rssKiB, sleep, coreTimes, reapedChildrenCpuMicros, acquireMachineLock, readFirstLine,
} from './lib/procs.mjs';
import { makeCertificate, writeIstioConfig, nginxConf } from './lib/config.mjs';
import { detectLoadGenerator, runLoad, INSTALL_HINT } from './lib/loadgen.mjs';
import { TINY_BODY, KB_BODY } from './lib/upstream.mjs';

let interrupted; // the signal name once SIGINT/SIGTERM arrived
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

const HELP = `Usage: npm run bench -- [options]     (or: node bench/run.mjs [options] after npm run build)

  --scenario LIST     comma-separated filters; a filter selects the scenarios whose name contains all of
                      its dash-separated words, e.g. gatehouse, https, http-1k, upstream-http-tiny
  --duration S        measured seconds per scenario (default 10, max 300)
  --connections N     keep-alive connections (default 64)
  --warmup S          warm-up seconds before each scenario, not measured (default 3; JIT and pools)
  --quiet-wait S      before each measured run, wait up to S seconds for a 1-second window in which the
                      machine's cores are less than 15% busy (default 0: do not wait); for shared machines
  --repeat N          run the whole scenario list N times, interleaved, and report per-scenario medians
                      (default 1; use 3 or more on a machine shared with other work)
  --loadgen NAME      wrk | autocannon (default: wrk if on PATH, else autocannon if resolvable)
  --no-nginx          skip the nginx comparison even when nginx is installed
  --gateway-timeout S seconds to wait for /healthz/ready (default 60)
  --access-log F      pass --access-log-format F (text | json | off) to the gateway; default: the gateway's
                      own default (text, written to a log file in the temporary directory)
  --profile           run the gateway under node --cpu-prof; the .cpuprofile goes to bench/results/ and its
                      top functions by self time are printed at the end (profiling slows the gateway)
  --lock-wait S       wait at most S seconds for another benchmark run on this machine to finish (default 900);
                      runs are serialised through /tmp/gatehouse-bench.lock
  --gateway-arg A     extra argument for 'gatehouse serve' (repeatable), e.g. --gateway-arg=--log-level=warn
  --node-arg A        extra argument for the gateway's node (repeatable), e.g. --node-arg=--max-semi-space-size=64
  --workers N         the gateway's --workers (default 1: one process, the rows every earlier run measured)
  --gateway-cores L   taskset core list for the gateway and its workers (default: the pinning plan's core, 0)
  --keep              keep the temporary directory (config, certificate, logs)
  --list              print the scenario names and exit
  --help

Scenarios are {upstream, gatehouse, nginx} x {http, https} x {tiny, 1k}: "upstream" is the load generator
straight to the upstream (the baseline; its HTTPS is an HTTPS listener on the same certificate), "gatehouse"
goes through the gateway (TLS terminated there, plain HTTP to the upstream), "nginx" through nginx.`;

function parseArgs(argv) {
  const o = { scenario: [], duration: 10, connections: 64, warmup: 3, loadgen: undefined, nginx: true,
    gatewayTimeout: 60, keep: false, list: false, accessLog: undefined, repeat: 1, quietWait: 0, profile: false, lockWait: 900, gatewayArgs: [], nodeArgs: [], workers: 1, gatewayCores: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const val = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) fail(`${flag} needs a value`);
      return v;
    };
    const num = (min, max) => {
      const n = Number(val());
      if (!Number.isFinite(n) || n < min || n > max) fail(`${flag} must be a number in [${min}, ${max}]`);
      return n;
    };
    switch (flag) {
      case '--scenario': o.scenario.push(...val().split(',').map((s) => s.trim()).filter(Boolean)); break;
      case '--duration': o.duration = num(1, 300); break;
      case '--connections': o.connections = Math.round(num(1, 10000)); break;
      case '--warmup': o.warmup = num(0, 60); break;
      case '--repeat': o.repeat = Math.round(num(1, 20)); break;
      case '--quiet-wait': o.quietWait = num(0, 600); break;
      case '--loadgen': o.loadgen = val(); break;
      case '--no-nginx': o.nginx = false; break;
      case '--gateway-timeout': o.gatewayTimeout = num(1, 600); break;
      case '--access-log': o.accessLog = val(); break;
      case '--profile': o.profile = true; break;
      case '--gateway-arg': o.gatewayArgs.push(val()); break;
      case '--node-arg': o.nodeArgs.push(val()); break;
      case '--workers': o.workers = Math.round(num(1, 64)); break;
      case '--gateway-cores': o.gatewayCores = val(); break;
      case '--lock-wait': o.lockWait = num(0, 3600); break;
      case '--keep': o.keep = true; break;
      case '--list': o.list = true; break;
      case '-h': case '--help': console.log(HELP); process.exit(0);
      default: fail(`unknown option ${a}\n\n${HELP}`);
    }
  }
  return o;
}

function fail(msg, code = 2) {
  console.error(`bench: ${msg}`);
  process.exit(code);
}

const TARGETS = ['upstream', 'gatehouse', 'nginx'];
const PROTOS = ['http', 'https'];
const BODIES = ['tiny', '1k'];

function allScenarios() {
  const out = [];
  for (const proto of PROTOS) for (const body of BODIES) for (const target of TARGETS) {
    out.push({ name: `${target}-${proto}-${body}`, target, proto, body });
  }
  return out;
}

function selected(name, filters) {
  if (filters.length === 0) return true;
  const words = name.split('-');
  return filters.some((f) => f.split('-').every((w) => words.includes(w)));
}

/** GET over loopback with the benchmark CA; resolves {status, body} or rejects. */
function get(url, { ca, timeoutMs = 2000 } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.get(url, { ca, servername: u.protocol === 'https:' ? 'localhost' : undefined, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

async function waitFor(what, check, { timeoutMs, child, intervalMs = 250 }) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt yet';
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`${what}: process exited (${child.exitCode ?? child.signalCode}) before it was ready`);
    }
    try {
      if (await check()) return;
      last = 'not ready';
    } catch (err) {
      last = err.message;
    }
    await sleep(intervalMs);
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms (last: ${last})`);
}

function tail(file, lines = 20) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).map((l) => `    | ${l}`).join('\n');
  } catch {
    return '    | (no log)';
  }
}

function machineInfo(gen, nginxPath) {
  const sh = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch (err) {
      return String(err.stderr ?? '').trim() || undefined;
    }
  };
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  } catch {}
  return {
    nproc: Number(sh('nproc', [])) || undefined,
    cpuModel,
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    loadgen: `${gen.kind} ${gen.version}`,
    // nginx -v prints its version on stderr.
    nginx: nginxPath ? (spawnSync(nginxPath, ['-v'], { encoding: 'utf8' }).stderr ?? '').trim().replace(/^nginx version:\s*/, '') : undefined,
    loadavg1: Math.round(loadavg()[0] * 100) / 100,
    commit: sh('git', ['-C', root, 'rev-parse', '--short', 'HEAD']),
  };
}

const fmt = (n, digits = 0) => (n === undefined || n === null || !Number.isFinite(n) ? '-' : n.toFixed(digits));

function printTable(rows) {
  const head = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'gw RSS MiB', 'gw CPU µs/req', '1-core req/s', 'vs direct'];
  const body = rows.map((r) => r.skipped
    ? [r.name, `not run: ${r.skipped}`, '', '', '', '', '', '']
    : [
      r.name + (r.suspect ? ' !' : ''),
      fmt(r.rps),
      fmt(r.p50_ms, 2),
      fmt(r.p99_ms, 2),
      fmt(r.proxy_rss_kib !== undefined ? r.proxy_rss_kib / 1024 : undefined, 1),
      fmt(r.proxy_cpu_us_per_req, 1),
      fmt(r.proxy_one_core_rps),
      r.ratio === undefined ? '-' : `${(r.ratio * 100).toFixed(0)}%`,
    ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.filter((b) => b[2] !== '').map((b) => b[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(b[2] === '' && b[1].startsWith('not run') ? `${b[0].padEnd(widths[0])}  ${b[1]}` : line(b));
}

/** Waits (bounded) for a 1-second window with every core under 15% busy; returns what it saw. */
async function waitQuiet(maxSeconds) {
  const t0 = Date.now();
  let busiest = 100;
  while (Date.now() - t0 < maxSeconds * 1000) {
    const a = coreTimes();
    await sleep(1000);
    const b = coreTimes();
    busiest = Math.max(0, ...Object.keys(b).filter((k) => a[k] && b[k].total > a[k].total)
      .map((k) => (100 * (b[k].busy - a[k].busy)) / (b[k].total - a[k].total)));
    if (busiest < 15) return { quiet_wait_s: (Date.now() - t0) / 1000, quiet: true };
  }
  return { quiet_wait_s: (Date.now() - t0) / 1000, quiet: false, busiest_core_pct_before: busiest };
}

/** One measured run: the load generator's figures plus the proxy's and upstream's CPU and memory. */
async function measure(gen, load, proxy, upstream, pin) {
  const cores0 = coreTimes();
  // The load generator's CPU shows up in our cutime/cstime once it has exited and been reaped.
  const before = { proxy: proxy && cpuMicros(proxy.pid), upstream: cpuMicros(upstream.pid), loadgen: reapedChildrenCpuMicros() };
  const r = await runLoad(gen, load);
  await sleep(50);
  const after = { proxy: proxy && cpuMicros(proxy.pid), upstream: cpuMicros(upstream.pid), loadgen: reapedChildrenCpuMicros() };
  const cores1 = coreTimes();
  const delta = (k) => (before[k] !== undefined && after[k] !== undefined ? after[k] - before[k] : undefined);
  const perReq = (k) => (delta(k) !== undefined && r.requests > 0 ? delta(k) / r.requests : undefined);
  const core = (n) => {
    const a = cores0[`cpu${n}`];
    const b = cores1[`cpu${n}`];
    return a && b && b.total > a.total ? { busy: b.busy - a.busy, total: b.total - a.total } : undefined;
  };
  const sample = { ...r, proxy_pid: proxy?.pid, proxy_rss_kib: proxy ? rssKiB(proxy.pid) : undefined,
    proxy_cpu_us_per_req: perReq('proxy'), upstream_cpu_us_per_req: perReq('upstream'), upstream_rss_kib: rssKiB(upstream.pid) };
  sample.proxy_one_core_rps = sample.proxy_cpu_us_per_req ? 1e6 / sample.proxy_cpu_us_per_req : undefined;
  sample.loadgen_cpu_us_per_req = perReq('loadgen');
  if (pin.proxy !== undefined) {
    // Busy time on the proxy's core that the proxy itself did not use: other work on the machine.
    const c = core(pin.proxy);
    if (c) {
      sample.proxy_core_foreign_pct = Math.max(0, (100 * (c.busy - (delta('proxy') ?? 0))) / c.total);
      sample.proxy_core_idle_pct = Math.max(0, 100 - (100 * c.busy) / c.total);
    }
    const l = core(pin.loadgen);
    if (l) {
      sample.loadgen_core_busy_pct = (100 * l.busy) / l.total;
      const ours = (delta('upstream') ?? 0) + (delta('loadgen') ?? 0);
      sample.loadgen_core_foreign_pct = Math.max(0, (100 * (l.busy - ours)) / l.total);
      sample.loadgen_core_idle_pct = Math.max(0, 100 - sample.loadgen_core_busy_pct);
    }
    // Other work on the core that limits the row: the proxy's core when a proxy is measured (others also fill
    // idle time on core 1 then, which costs the proxy nothing), else the upstream and load generator's core.
    sample.noise_pct = proxy ? sample.proxy_core_foreign_pct ?? 0 : sample.loadgen_core_foreign_pct ?? 0;
    // Disturbed: that core had no idle time left and other processes took a share of it. (Others using idle
    // time on a core that is not the bottleneck, e.g. nginx's core when the load generator's is full, is not.)
    const idle = proxy ? sample.proxy_core_idle_pct : sample.loadgen_core_idle_pct;
    sample.disturbed = sample.noise_pct > 5 && (idle ?? 0) < 10;
  }
  sample.suspect = r.requests === 0 || r.errors > 0 || r.non2xx > 0;
  return sample;
}

const proxyLabel = (sample, pin) => (sample.proxy_pid ? `${fmt(sample.proxy_core_foreign_pct)}% of core ${pin.proxy}, ` : '');

const median = (xs) => {
  const v = xs.filter((x) => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

/** Per-scenario result: the median of every numeric figure over the samples (one sample: itself). */
function summarise(list) {
  const out = {};
  for (const k of Object.keys(list[0])) {
    if (typeof list[0][k] === 'number' && k !== 'proxy_pid') out[k] = median(list.map((x) => x[k]));
  }
  out.proxy_pid = list[0].proxy_pid;
  out.suspect = list.some((x) => x.suspect);
  out.disturbed_rounds = list.filter((x) => x.disturbed).length;
  out.n = list.length;
  return out;
}

/** The `n` functions with the most self time in a V8 .cpuprofile, as printable lines. */
function topFunctions(file, n) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const self = new Map();
  const byId = new Map(prof.nodes.map((node) => [node.id, node]));
  const dt = prof.timeDeltas ?? [];
  let total = 0;
  (prof.samples ?? []).forEach((id, i) => {
    const node = byId.get(id);
    const cf = node.callFrame;
    const where = cf.url ? `${cf.url.replace(/^file:\/\//, '').replace(root + '/', '')}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName || '(anonymous)'} ${where}`.trim();
    const t = dt[i] ?? 0;
    total += t;
    self.set(key, (self.get(key) ?? 0) + t);
  });
  return [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([k, t]) => `  ${((100 * t) / (total || 1)).toFixed(1).padStart(5)}%  ${k}`).join('\n');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const scenarios = allScenarios().filter((s) => selected(s.name, opts.scenario) && (opts.nginx || s.target !== 'nginx'));
  if (opts.list) {
    for (const s of allScenarios()) console.log(s.name);
    return 0;
  }
  if (scenarios.length === 0) fail(`no scenario matches ${opts.scenario.join(',')} (see --list)`);

  const gen = detectLoadGenerator(opts.loadgen);
  if (!gen) fail(INSTALL_HINT, 3);
  const nginxPath = opts.nginx ? which('nginx') : undefined;
  let releaseLock;
  try {
    releaseLock = await acquireMachineLock(join(tmpdir(), 'gatehouse-bench.lock'), opts.lockWait * 1000,
      (pid) => console.log(`waiting (at most ${opts.lockWait} s) for the benchmark run by PID ${pid} to finish ...`));
  } catch (err) {
    fail(err.message, 5);
  }
  process.on('exit', releaseLock);
  const pin = pinningPlan();
  const machine = machineInfo(gen, nginxPath);

  console.log(`Gatehouse bench  ${new Date().toISOString()}  commit ${machine.commit ?? '?'}`);
  console.log(`machine: ${machine.nproc} cores, ${machine.cpuModel}, ${machine.memGiB} GiB, Linux ${machine.kernel}, node ${machine.node}`);
  console.log(`load: ${machine.loadgen}, HTTP/1.1 keep-alive, ${opts.connections} connections, ${opts.warmup} s warm-up + ${opts.duration} s per scenario` +
    (opts.repeat > 1 ? `, ${opts.repeat} interleaved rounds (medians reported)` : ''));
  console.log(`pinning: ${pin.describe}${opts.gatewayCores ? `; gateway overridden to cores ${opts.gatewayCores}` : ''}; gateway --workers ${opts.workers}`);
  if (machine.loadavg1 > 0.5) console.log(`warning: 1-minute load average is ${machine.loadavg1} before the run; other work on this machine skews the figures`);
  console.log(`nginx: ${nginxPath ? `${machine.nginx} (comparison peer, 1 process, pinned like the gateway)` : opts.nginx ? 'not installed; skipped' : 'skipped (--no-nginx)'}`);

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const configDir = join(tmp, 'config');
  mkdirSync(configDir);
  let cleaning;
  const cleanup = () => (cleaning ??= (async () => {
    await stopAll();
    releaseLock();
    if (opts.keep) console.log(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  })());
  const onSignal = (sig) => {
    if (interrupted) return;
    interrupted = sig;
    console.error(`\nbench: ${sig}: stopping everything it started`);
    cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAllSync);

  try {
    const { cert, key } = makeCertificate(tmp);
    const ca = readFileSync(cert);

    // Upstream: own process, keep-alive, HTTP and HTTPS (same certificate) listeners.
    const upstream = start('upstream', process.execPath, [join(here, 'lib', 'upstream.mjs'), '--cert', cert, '--key', key],
      { cpu: pin.upstream, taskset: pin.taskset, logFile: join(tmp, 'upstream.log'), pipeStdout: true });
    const ports = JSON.parse(await readFirstLine(upstream, 10_000));
    const direct = { http: `http://127.0.0.1:${ports.http}`, https: `https://localhost:${ports.https}` };
    for (const [p, base] of Object.entries(direct)) {
      const r = await get(`${base}/`, { ca });
      if (r.status !== 200 || r.body !== TINY_BODY) throw new Error(`upstream ${p} check failed: ${r.status}`);
    }

    const bases = { upstream: direct };
    const procs = { upstream };
    const unavailable = {};
    const gateway = {};
    const wants = (target) => scenarios.some((s) => s.target === target);

    if (wants('gatehouse')) {
      const cli = join(root, 'dist', 'cli', 'main.js');
      const [httpPort, httpsPort, statusPort, statsPort, adminPort] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
      writeIstioConfig(configDir, { httpPort, httpsPort, upstreamPort: ports.http, cert, key });
      if (!existsSync(cli)) {
        unavailable.gatehouse = 'dist/cli/main.js missing (npm run build)';
      } else {
        const log = join(tmp, 'gateway.log');
        const profArgs = opts.profile ? ['--cpu-prof', '--cpu-prof-dir', join(here, 'results'), '--cpu-prof-name', `gatehouse-${stamp}.cpuprofile`] : [];
        if (opts.profile) mkdirSync(join(here, 'results'), { recursive: true });
        const gwArgs = [...opts.nodeArgs, ...profArgs, cli, 'serve', '--config', configDir, '--status-port', String(statusPort),
          '--stats-port', String(statsPort), '--admin-port', String(adminPort), '--bind', '127.0.0.1'];
        if (opts.accessLog) gwArgs.push('--access-log-format', opts.accessLog);
        gwArgs.push('--workers', String(opts.workers), ...opts.gatewayArgs);
        gateway.command = ['node', ...gwArgs].map((a) => a.replace(tmp, '$TMP').replace(root + '/', ''));
        console.log(`gatehouse: ${gateway.command.join(' ')}`);
        const gw = start('gatehouse', process.execPath, gwArgs, { cpu: opts.gatewayCores ?? pin.proxy, taskset: pin.taskset, logFile: log, cwd: root });
        const t0 = Date.now();
        try {
          await waitFor('gatehouse /healthz/ready', async () => (await get(`http://127.0.0.1:${statusPort}/healthz/ready`)).status === 200,
            { timeoutMs: opts.gatewayTimeout * 1000, child: gw, intervalMs: 50 });
          gateway.ready_ms = Date.now() - t0;
          gateway.idle_rss_kib = rssKiB(gw.pid);
          const base = { http: `http://127.0.0.1:${httpPort}`, https: `https://localhost:${httpsPort}` };
          for (const [p, b] of Object.entries(base)) {
            const r = await get(`${b}/1k`, { ca });
            if (r.status !== 200 || r.body !== KB_BODY) throw new Error(`gatehouse ${p} route check: status ${r.status}, ${r.body.length} bytes`);
          }
          bases.gatehouse = base;
          procs.gatehouse = gw;
          console.log(`gatehouse: PID ${gw.pid}, ready after ${gateway.ready_ms} ms, idle RSS ${fmt(gateway.idle_rss_kib / 1024, 1)} MiB; ` +
            `http :${httpPort}, https :${httpsPort}, status :${statusPort}`);
        } catch (err) {
          unavailable.gatehouse = err.message.slice(0, 200);
          console.log(`gatehouse: NOT AVAILABLE: ${err.message}\n  gateway log (last lines):\n${tail(log)}`);
          await stop(gw);
        }
      }
    }

    if (wants('nginx') && nginxPath) {
      const [httpPort, httpsPort] = await Promise.all([freePort(), freePort()]);
      const conf = join(tmp, 'nginx.conf');
      writeFileSync(conf, nginxConf({ dir: tmp, httpPort, httpsPort, upstreamPort: ports.http, cert, key }));
      const ng = start('nginx', nginxPath, ['-c', conf, '-p', tmp, '-e', join(tmp, 'nginx-error.log')],
        { cpu: pin.proxy, taskset: pin.taskset, logFile: join(tmp, 'nginx.log') });
      try {
        const base = { http: `http://127.0.0.1:${httpPort}`, https: `https://localhost:${httpsPort}` };
        await waitFor('nginx', async () => (await get(`${base.http}/`)).status === 200, { timeoutMs: 10_000, child: ng });
        bases.nginx = base;
        procs.nginx = ng;
      } catch (err) {
        unavailable.nginx = err.message.slice(0, 200);
        console.log(`nginx: NOT AVAILABLE: ${err.message}\n${tail(join(tmp, 'nginx-error.log'))}`);
        await stop(ng);
      }
    } else if (wants('nginx')) {
      unavailable.nginx = 'nginx not installed';
    }
    console.log('');

    const samples = new Map(scenarios.map((s) => [s.name, []]));
    const load = { connections: opts.connections, pin, tmpDir: tmp, logFile: join(tmp, 'loadgen.log') };
    if (bases.gatehouse && opts.warmup > 0) {
      // One-time priming of a freshly started gateway (JIT, pools, TLS session machinery) on both listeners,
      // on top of each scenario's own warm-up: the first round is otherwise measurably colder.
      process.stdout.write(`priming gatehouse (${opts.warmup} s HTTP + ${opts.warmup} s HTTPS, not measured) ... `);
      for (const proto of PROTOS) await runLoad(gen, { ...load, url: `${bases.gatehouse[proto]}/`, seconds: opts.warmup });
      console.log('done');
    }
    for (let round = 1; round <= opts.repeat; round++) {
      for (const s of scenarios) {
        if (!bases[s.target]) continue;
        const proc = procs[s.target];
        if (proc.exitCode !== null || proc.signalCode !== null) {
          unavailable[s.target] = `exited during the run (${proc.exitCode ?? proc.signalCode})`;
          console.log(`${s.target}: EXITED (${proc.exitCode ?? proc.signalCode}); its remaining scenarios are skipped` +
            (s.target === 'gatehouse' ? `\n${tail(join(tmp, 'gateway.log'))}` : ''));
          delete bases[s.target];
          continue;
        }
        const url = `${bases[s.target][s.proto]}${s.body === '1k' ? '/1k' : '/'}`;
        const tag = opts.repeat > 1 ? ` [${round}/${opts.repeat}]` : '';
        process.stdout.write(`running ${s.name}${tag} (${url}) ... `);
        if (opts.warmup > 0) await runLoad(gen, { ...load, url, seconds: opts.warmup });
        const waited = opts.quietWait > 0 ? await waitQuiet(opts.quietWait) : undefined;
        const sample = await measure(gen, { ...load, url, seconds: opts.duration }, s.target === 'upstream' ? undefined : procs[s.target], upstream, pin);
        if (waited) Object.assign(sample, waited);
        samples.get(s.name).push(sample);
        const noisy = sample.noise_pct > 5
          ? `  (other work used ${proxyLabel(sample, pin)}${fmt(sample.loadgen_core_foreign_pct)}% of core ${pin.loadgen}` +
            `${sample.disturbed ? '; limiting core saturated: disturbed' : ''})` : '';
        console.log(`${fmt(sample.rps)} req/s${sample.suspect ? `  (errors ${sample.errors}, non-2xx ${sample.non2xx})` : ''}${noisy}`);
      }
    }
    const rows = scenarios.map((s) => {
      if (samples.get(s.name).length === 0) return { ...s, skipped: unavailable[s.target] ?? 'unavailable' };
      return { ...s, ...summarise(samples.get(s.name)), samples: samples.get(s.name) };
    });
    for (const row of rows) {
      const base = rows.find((b) => b.target === 'upstream' && b.proto === row.proto && b.body === row.body && !b.skipped);
      if (base && !row.skipped && base.rps > 0) row.ratio = row.rps / base.rps;
    }

    console.log('');
    printTable(rows);
    console.log('');
    console.log('req/s and latency are what the load generator saw; gw = the proxy under test (gatehouse or nginx), whole process');
    console.log('tree: RSS after the scenario, CPU (utime+stime from /proc) per request served; 1-core req/s = 1e6 / gw CPU µs/req.');
    console.log('vs direct = req/s relative to the upstream scenario of the same protocol and body; upstream-https-* is the');
    console.log('upstream\'s own HTTPS listener (same certificate), gatehouse/nginx-https-* terminate TLS and use plain HTTP upstream.');
    if (pin.taskset && pin.loadgen === pin.upstream) console.log('The load generator shares core 1 with the upstream: on a 2-core machine it caps the fastest rows; read 1-core req/s.');
    if (rows.some((r) => r.suspect)) console.log('! = the load generator saw socket errors or non-2xx responses: treat that row as invalid.');
    const noisy = rows.filter((r) => r.disturbed_rounds > 0);
    if (noisy.length) {
      console.log('Disturbed by other processes (they took > 5% of the row\'s limiting core, core 0 for a proxy or core 1 for');
      console.log(`direct, while it had < 10% idle): ${noisy.map((r) => `${r.name} (${r.disturbed_rounds}/${r.n} rounds, median ${fmt(r.noise_pct)}%)`).join(', ')}.`);
      console.log('req/s and latency there are understated (CPU µs/req much less so); rerun on a quiet machine or with --repeat 3.');
    }

    const outDir = join(here, 'results');
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `bench-${stamp}.json`);
    writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, pinning: pin.describe,
      options: { ...opts }, upstream_ports: ports, gateway, rows }, null, 2) + '\n');
    console.log(`\nresults: ${file}`);
    if (opts.profile && procs.gatehouse) {
      await stop(procs.gatehouse, 10_000); // the profile is written when the gateway exits
      const prof = join(here, 'results', `gatehouse-${stamp}.cpuprofile`);
      if (existsSync(prof)) {
        console.log(`profile: ${prof}\n${topFunctions(prof, 20)}`);
      } else console.log('profile: not written (did the gateway exit cleanly on SIGTERM?)');
    }
    return rows.some((r) => r.target === 'gatehouse' && r.skipped) ? 4 : 0;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code ?? 0),
  async (err) => {
    // After a signal, the load generator's death is expected: the signal handler exits 130.
    if (!interrupted) console.error(`bench: ${err.stack ?? err}`);
    await stopAll();
    process.exit(interrupted ? 130 : 1);
  },
);
