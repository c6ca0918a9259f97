#!/usr/bin/env node
// The floor benchmark: Gatehouse against the bare node:http + undici Pool proxy (bench/floor-proxy.mjs) and the
// upstream directly, in the same run, pinned as bench/run.mjs pins them. The figure that matters is the proxy's
// CPU µs per request; "vs floor" is the floor's µs/req divided by the row's (1.0 = as cheap as the floor).
//   node bench/floor.mjs [--targets floor,gatehouse-raw,gatehouse-fastify,nginx] [--proto http,https]
//                        [--body 1k|tiny] [--duration S] [--warmup S] [--repeat N] [--connections N]
//                        [--access-log text|json|off] [--gateway-arg A]... [--node-arg A]... [--profile TARGET]
//                        [--rate R]   (latency mode: R req/s at a fixed rate (see --client) instead of wrk's
//                                      saturation; report p50/p99 and "p99 added" over the direct upstream)
//                        [--client pace|node]  (with --rate: the C client bench/pace/pace.c, which sends each request
//                                      at its own instant, the default; or bench/fixed-rate.mjs, whose 1 ms timers
//                                      send in pairs and bursts; pace falls back to node where it cannot be built)
//                        [--hold]     (with --rate: capture each proxied row with tcpdump and read the latency
//                                      the proxy added to each request from kernel timestamps, bench/lib/hold.mjs;
//                                      the capture's tap adds a little kernel work to every proxy's writes alike)
//                        [--handshakes]   (HTTPS rows only: `openssl s_time -new`, full TLS handshakes per
//                                      second, one at a time; CPU µs/req is then the proxy's CPU per handshake)
//                        [--upstream-mtls]  (every proxy forwards to the upstream over TLS with a client certificate,
//                                      the upstream requiring it: the cost of mTLS into the mesh)
//                        [--cert ec|rsa]  (the listener certificate: ECDSA P-256, the default, or RSA 2048)
//                        [--resume]       (with --handshakes: `s_time -reuse -www`: resumed sessions, each
//                                      with one proxied GET /, since TLS 1.3 tickets only reach a client that reads)
// Targets: floor, floor+close / floor+headers / floor+limits, combinable (the floor plus one of Gatehouse's per-request costs:
// a 'close' listener per response; the Istio request and response headers with a random x-request-id; Gatehouse's
// HTTP server options), floor-raw (the floor without node's HTTP server, bench/floor-raw-proxy.mjs: a what-if pricing
// node:http, HTTP rows only), gatehouse (the gateway's default data path), gatehouse-raw, gatehouse-fastify (GATEHOUSE_DATAPATH),
// nginx (when installed). A gatehouse target ending in @base (gatehouse-raw@base) runs the build under --baseline-root
// DIR instead (e.g. DIR made with `git archive BASE | tar -x -C DIR`, node_modules linked, then tsc): the named
// baseline of an optimisation, measured in the same run. A gatehouse target ending in +nolog runs with
// --access-log-format off (gatehouse-fastify+nolog), to price the access log in the same run.
// Needs a build (npm run build) and wrk (or autocannon). Loopback only; every process it starts is stopped by its PID.
import { mkdtempSync, mkdirSync, rmSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import { pinningPlan, start, stop, stopAll, killAllSync, freePort, cpuSplitMicros, rssKiB, sleep, coreTimes, acquireMachineLock } from './lib/procs.mjs';
import { median, medianInterval, theilSen } from './lib/stats.mjs';
import { makeCertificate, makeClientCertificate, writeIstioConfig, nginxConf } from './lib/config.mjs';
import { detectLoadGenerator, runLoad, INSTALL_HINT } from './lib/loadgen.mjs';
import { startCapture } from './lib/capture.mjs';
import { readTcpSegments } from './lib/pcap.mjs';
import { holdTimes, quantiles, slowSpells } from './lib/hold.mjs';
import { which, readFirstLine } from './lib/procs.mjs';
import { paceBinary } from './lib/pace.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

function parseArgs(argv) {
  const o = { targets: ['floor', 'gatehouse-raw', 'gatehouse-fastify', 'nginx'], protos: ['http', 'https'], body: '1k', duration: 10,
    warmup: 3, repeat: 3, connections: 64, accessLog: undefined, gatewayArgs: [], profile: undefined, keep: false, baselineRoot: undefined, rate: undefined, handshakes: false, resume: false, cert: 'ec', upstreamMtls: false,
    hold: false, nodeArgs: [], client: 'pace' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const val = () => inline ?? argv[++i];
    switch (flag) {
      case '--targets': o.targets = val().split(','); break;
      case '--proto': o.protos = val().split(','); break;
      case '--body': o.body = val(); break;
      case '--duration': o.duration = Number(val()); break;
      case '--warmup': o.warmup = Number(val()); break;
      case '--repeat': o.repeat = Math.max(1, Math.min(60, Number(val()))); break;
      case '--connections': o.connections = Number(val()); break;
      case '--access-log': o.accessLog = val(); break;
      case '--gateway-arg': o.gatewayArgs.push(val()); break;
      // node's own flags for the gatehouse rows (e.g. --trace-gc, whose lines land in the row's gateway.log with --keep)
      case '--node-arg': o.nodeArgs.push(val()); break;
      case '--profile': o.profile = val(); break;
      case '--keep': o.keep = true; break;
      case '--baseline-root': o.baselineRoot = val(); break;
      case '--rate': o.rate = Number(val()); break;
      case '--handshakes': o.handshakes = true; o.protos = ['https']; break;
      case '--resume': o.resume = true; break;
      case '--upstream-mtls': o.upstreamMtls = true; break;
      case '--hold': o.hold = true; break;
      case '--client': o.client = val(); if (!['pace', 'node'].includes(o.client)) throw new Error('--client must be pace or node'); break;
      case '--cert': o.cert = val(); if (!['ec', 'rsa'].includes(o.cert)) throw new Error('--cert must be ec or rsa'); break;
      default: console.error(`floor: unknown option ${a} (see the header of bench/floor.mjs)`); process.exit(2);
    }
  }
  if (!(o.duration >= 1 && o.duration <= 300)) throw new Error('--duration must be 1..300');
  // The upstream leg must be plaintext: requests are matched there by the number in their request line.
  if (o.hold && (!o.rate || o.upstreamMtls || o.handshakes)) throw new Error('--hold needs --rate, and neither --upstream-mtls nor --handshakes');
  return o;
}

function status(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

async function until(check, ms, child) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error('process exited while starting');
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`not ready after ${ms} ms`);
}

/**
 * s_time sends `GET <path> HTTP/1.0` and nothing else. Without a Host header Gatehouse answers 400 at the edge
 * while nginx and the floor proxy the request, so the path carries one: the request line ends early and the
 * trailing " HTTP/1.0" becomes the value of a harmless header.
 */
const RESUME_REQUEST_PATH = '/ HTTP/1.0\r\nHost: localhost\r\nX-Bench:';

/** Full TLS handshakes (no resumption), sequential, with openssl s_time pinned where the load generator goes. */
async function handshakes(url, seconds, pin, tmp, resume) {
  const u = new URL(url);
  const openssl = which('openssl');
  const child = start('s_time', openssl, ['s_time', '-connect', `127.0.0.1:${u.port}`, ...(resume ? ['-reuse', '-www', RESUME_REQUEST_PATH] : ['-new']), '-time', String(seconds)],
    { cpu: pin.loadgen, taskset: pin.taskset, logFile: join(tmp, 's_time.log'), pipeStdout: true });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => (out += d));
  await new Promise((resolve) => child.once('exit', resolve));
  const m = /(\d+) connections in (\d+(?:\.\d+)?) real seconds/.exec(out);
  if (!m) throw new Error(`openssl s_time gave no figure: ${out.slice(-300)}`);
  const requests = Number(m[1]);
  return { requests, seconds: Number(m[2]), rps: requests / Number(m[2]), p99_ms: undefined, errors: 0, non2xx: 0 };
}

/**
 * The fixed-rate client in its own process, pinned where the load generator goes. With `hold`
 * ({ proxyPort, upstreamPort, tag }) the run is captured and `hold` in the result is what the proxy added to
 * each request, from the capture's timestamps (bench/lib/hold.mjs).
 */
async function fixedRate(client, url, rate, connections, seconds, pin, tmp, hold) {
  const trace = hold ? join(tmp, `trace-${hold.tag}.json`) : undefined;
  const pcap = hold ? join(tmp, `hold-${hold.tag}.pcap`) : undefined;
  const capture = hold
    ? await startCapture({ ports: [hold.proxyPort, hold.upstreamPort], file: pcap, logFile: join(tmp, `tcpdump-${hold.tag}.log`), cpu: pin.loadgen, taskset: pin.taskset })
    : undefined;
  const child = start('fixed-rate', client.command, [...client.args, ...(trace ? ['--trace', trace] : []), url, String(rate), String(connections), String(seconds)],
    { cpu: pin.loadgen, taskset: pin.taskset, logFile: join(tmp, 'fixed-rate.log'), pipeStdout: true });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => (out += d));
  await new Promise((resolve) => child.once('exit', resolve));
  const captured = capture ? await capture.stop() : undefined;
  const line = out.split('\n').find((l) => l.startsWith('FIXED_JSON '));
  if (!line) throw new Error(`fixed-rate client produced no summary: ${out.slice(-300)}`);
  const r = JSON.parse(line.slice('FIXED_JSON '.length));
  if (!hold) return { ...r, rps: r.requests / r.seconds };
  const h = holdTimes(readTcpSegments(readFileSync(pcap)), { proxyPort: hold.proxyPort, upstreamPort: hold.upstreamPort, ...JSON.parse(readFileSync(trace, 'utf8')) });
  if (!hold.keep) {
    rmSync(pcap, { force: true });
    rmSync(trace, { force: true });
  }
  if (h.markerMismatch) throw new Error(`hold: ${h.markerMismatch} client segments carried another request's number: the order matching is wrong`);
  const [p50, p90, p99, p999, max] = quantiles(h.added, [0.5, 0.9, 0.99, 0.999, 1]);
  const [idleP50, idleP99] = quantiles(h.addedIdleArrival, [0.5, 0.99]);
  const [reqP50, reqP99] = quantiles(h.requestLeg, [0.5, 0.99]);
  const [respP50, respP99] = quantiles(h.responseLeg, [0.5, 0.99]);
  const spells = slowSpells(h.added, h.arrivals, { writes: h.writes });
  const [outsideP99] = quantiles(spells.outside, [0.99]);
  const [silenceP50] = quantiles(spells.silences, [0.5]);
  return { ...r, rps: r.requests / r.seconds,
    hold: { p50, p90, p99, p999, max, reqP50, reqP99, respP50, respP99, idleP50, idleP99, idleShare: h.addedIdleArrival.length / h.matched, matched: h.matched, total: h.total, unmatched: h.unmatched, misordered: h.misordered, dropped: captured.dropped,
      slow: spells.slow, inSpells: spells.inSpells, spells: spells.spells, outsideP99, silenceP50 } };
}

/** The fixed-rate client's command: pace (C) unless asked for node or pace cannot be built here. */
function fixedRateClient(kind) {
  const node = { command: process.execPath, args: [join(here, 'fixed-rate.mjs')] };
  if (kind === 'node') return { ...node, describe: 'bench/fixed-rate.mjs (node, 1 ms timers)' };
  const pace = paceBinary();
  if ('path' in pace) return { command: pace.path, args: [], describe: 'bench/pace/pace.c (C, a timerfd deadline per request)' };
  return { ...node, describe: `bench/fixed-rate.mjs: pace unavailable, ${pace.error}` };
}

const fmt = (n, d = 0) => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(d));

/** Whether a build knows `--workers` (its default forks one worker per core). */
function supportsWorkers(gwRoot) {
  try {
    return readFileSync(join(gwRoot, 'dist', 'cli', 'args.js'), 'utf8').includes("'workers'");
  } catch {
    return false;
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const gen = detectLoadGenerator();
  if (!gen) throw new Error(INSTALL_HINT);
  const release = await acquireMachineLock(join(tmpdir(), 'gatehouse-bench.lock'), 900_000, (pid) => console.log(`waiting for bench PID ${pid} ...`));
  process.on('exit', release);
  process.on('exit', killAllSync);
  const stopAndExit = () => stopAll().finally(() => process.exit(130));
  process.on('SIGINT', stopAndExit);
  process.on('SIGTERM', stopAndExit);
  const pin = pinningPlan();
  const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-floor-'));
  console.log(`floor bench ${new Date().toISOString()}  load avg ${loadavg().map((x) => x.toFixed(2)).join(' ')}  pinning: ${pin.describe}`);
  const rateClient = o.rate ? fixedRateClient(o.client) : undefined;
  if (rateClient) console.log(`fixed-rate client: ${rateClient.describe}`);
  console.log(`${gen.kind}, ${o.connections} connections, ${o.warmup} s warm-up + ${o.duration} s, ${o.repeat} interleaved rounds, body ${o.body}`);
  try {
    const { cert, key } = makeCertificate(tmp, o.cert);
    const client = o.upstreamMtls ? makeClientCertificate(tmp) : undefined;
    const upstream = start('upstream', process.execPath, [join(here, 'lib', 'upstream.mjs'), '--cert', cert, '--key', key, ...(client ? ['--client-ca', client.cert] : [])],
      { cpu: pin.upstream, taskset: pin.taskset, logFile: join(tmp, 'upstream.log'), pipeStdout: true });
    const up = JSON.parse(await readFirstLine(upstream, 10_000));
    // With --upstream-mtls every proxy forwards to the upstream's HTTPS port with the client certificate.
    const upstreamMtls = client ? { cert: client.cert, key: client.key, ca: cert } : undefined;
    const upstreamPort = upstreamMtls ? up.mtls : up.http;
    if (upstreamMtls) console.log('upstream: mTLS (TLS origination with a client certificate) on every proxy');
    const bases = { upstream: { http: `http://127.0.0.1:${up.http}`, https: `https://localhost:${up.https}` } };
    const procs = {};
    for (const target of o.targets) {
      if (target === 'floor' || target.startsWith('floor+') || target === 'floor-raw' || target === 'floor-llhttp') {
        // floor+close, floor+headers, floor+close+headers: the floor with one of Gatehouse's per-request costs
        // added (bench/floor-proxy.mjs --extra), to price the gap between the two piece by piece. floor-raw:
        // the floor without node's HTTP server (bench/floor-raw-proxy.mjs, plain HTTP only), a what-if.
        const extra = target.startsWith('floor+') ? ['--extra', target.slice('floor+'.length)] : [];
        const script = target === 'floor-raw' || target === 'floor-llhttp' ? `${target}-proxy.mjs` : 'floor-proxy.mjs';
        const p = start(target, process.execPath, [join(here, script), ...extra, '--upstream', upstreamMtls ? `https://localhost:${up.mtls}` : bases.upstream.http,
          '--https-cert', cert, '--https-key', key, ...(upstreamMtls ? ['--client-cert', upstreamMtls.cert, '--client-key', upstreamMtls.key, '--upstream-ca', upstreamMtls.ca] : [])],
          { cpu: pin.proxy, taskset: pin.taskset, logFile: join(tmp, `${target}.log`), pipeStdout: true, cwd: root });
        const ports = JSON.parse(await readFirstLine(p, 10_000));
        bases[target] = { http: `http://127.0.0.1:${ports.http}`, ...(ports.https ? { https: `https://localhost:${ports.https}` } : {}) };
        procs[target] = p;
      } else if (target.startsWith('gatehouse')) {
        const noLog = target.endsWith('+nolog');
        const [kind, build] = target.replace(/\+nolog$/, '').split('@');
        const gwRoot = build === 'base' ? o.baselineRoot : root;
        if (!gwRoot || !existsSync(join(gwRoot, 'dist', 'cli', 'main.js'))) throw new Error(`${target}: no build (need --baseline-root DIR with dist/)`);
        const dataPath = kind === 'gatehouse' ? undefined : kind.slice('gatehouse-'.length);
        const dir = join(tmp, target);
        mkdirSync(join(dir, 'config'), { recursive: true });
        const [httpPort, httpsPort, statusPort, statsPort, adminPort] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
        writeIstioConfig(join(dir, 'config'), { httpPort, httpsPort, upstreamPort, cert, key, upstreamMtls });
        const prof = o.profile === target ? ['--cpu-prof', '--cpu-prof-dir', join(here, 'results'), '--cpu-prof-name', `${target.replace(/[@+]/g, '-')}-${Date.now()}.cpuprofile`] : [];
        if (prof.length) mkdirSync(join(here, 'results'), { recursive: true });
        const args = [...o.nodeArgs, ...prof, join(gwRoot, 'dist', 'cli', 'main.js'), 'serve', '--config', join(dir, 'config'), '--status-port', String(statusPort),
          '--stats-port', String(statsPort), '--admin-port', String(adminPort), '--bind', '127.0.0.1',
          ...(noLog ? ['--access-log-format', 'off'] : o.accessLog ? ['--access-log-format', o.accessLog] : []),
          // One process per row, as the floor is one: builds from before --workers have no such flag.
          ...(supportsWorkers(gwRoot) ? ['--workers', '1'] : []), ...o.gatewayArgs];
        const env = { ...process.env };
        if (dataPath) env.GATEHOUSE_DATAPATH = dataPath;
        const p = start(target, process.execPath, args, { cpu: pin.proxy, taskset: pin.taskset, logFile: join(dir, 'gateway.log'), cwd: gwRoot, env });
        await until(async () => (await status(`http://127.0.0.1:${statusPort}/healthz/ready`)) === 200, 60_000, p);
        console.log(`${target}: ready, idle RSS ${fmt(rssKiB(p.pid) / 1024, 1)} MiB`);
        bases[target] = { http: `http://127.0.0.1:${httpPort}`, https: `https://localhost:${httpsPort}` };
        procs[target] = p;
      } else if (target === 'nginx') {
        const nginx = which('nginx');
        if (!nginx) continue;
        const [httpPort, httpsPort] = await Promise.all([freePort(), freePort()]);
        const conf = join(tmp, 'nginx.conf');
        writeFileSync(conf, nginxConf({ dir: tmp, httpPort, httpsPort, upstreamPort, cert, key, upstreamMtls }));
        const p = start('nginx', nginx, ['-c', conf, '-p', tmp, '-e', join(tmp, 'nginx-error.log')], { cpu: pin.proxy, taskset: pin.taskset, logFile: join(tmp, 'nginx.log') });
        bases.nginx = { http: `http://127.0.0.1:${httpPort}`, https: `https://localhost:${httpsPort}` };
        await until(async () => (await status(`${bases.nginx.http}/`)) === 200, 10_000, p);
        procs.nginx = p;
      }
    }
    const load = { connections: o.connections, pin, tmpDir: tmp, logFile: join(tmp, 'loadgen.log') };
    const path = o.body === '1k' ? '/1k' : '/';
    const rows = [];
    // --handshakes: the upstream takes no part in a handshake with the proxy; its row would only take time.
    for (const proto of o.protos) for (const t of [...(o.handshakes ? [] : ['upstream']), ...o.targets]) if (bases[t]?.[proto]) rows.push({ name: `${t}-${proto}`, target: t, proto, samples: [] });
    // Prime every proxy once (JIT, pools, TLS): a cold Node proxy costs several times more per request.
    // --handshakes primes with the measured kind of connection (s_time), not wrk's keep-alive requests,
    // which leave the handshake path cold: the first round used to cost ~1.5x the others.
    const warm = (url, seconds) => (o.handshakes ? handshakes(url, seconds, pin, tmp, o.resume) : runLoad(gen, { ...load, url, seconds }));
    for (const r of rows) {
      if (r.target === 'upstream' || o.warmup <= 0) continue;
      await warm(bases[r.target][r.proto] + path, o.warmup);
      // --rate: also once at the measured rate. V8 re-optimizes a Node proxy's hot functions when the load
      // changes from wrk's saturation to one request per wake-up (56 optimizing compiles and 20 deoptimizations
      // in Gatehouse's first 8 s at 1,000 req/s, none in the next 24 s, session 9); unprimed, the compiler's
      // jobs share the proxy's core during round 1 and put milliseconds into its tail.
      if (o.rate) await fixedRate(rateClient, bases[r.target][r.proto] + path, o.rate, o.connections, o.warmup, pin, tmp);
    }
    for (let round = 1; round <= o.repeat; round++) {
      // Even rounds run the rows in reverse (A B B A …): whatever drifts within a round (a neighbour's
      // job, the page cache, thermal state) lands on every row alike, not always on the same one first.
      for (const r of round % 2 === 1 ? rows : [...rows].reverse()) {
        const url = bases[r.target][r.proto] + path;
        if (o.warmup > 0) await warm(url, Math.min(o.warmup, 2));
        const proc = procs[r.target];
        const c0 = coreTimes();
        const before = proc ? cpuSplitMicros(proc.pid) : undefined;
        const hold = o.hold && proc ? { proxyPort: Number(new URL(url).port), upstreamPort, tag: `${r.name}-${round}`, keep: o.keep } : undefined;
        const res = o.handshakes ? await handshakes(url, o.duration, pin, tmp, o.resume) : o.rate ? await fixedRate(rateClient, url, o.rate, o.connections, o.duration, pin, tmp, hold) : await runLoad(gen, { ...load, url, seconds: o.duration });
        const after = proc ? cpuSplitMicros(proc.pid) : undefined;
        const c1 = coreTimes();
        const core = pin.proxy !== undefined ? { a: c0[`cpu${pin.proxy}`], b: c1[`cpu${pin.proxy}`] } : undefined;
        const own = before !== undefined && after !== undefined ? after.total - before.total : 0;
        // The kernel's part of the proxy's CPU time (system time), per request.
        const sysUs = before !== undefined && after !== undefined ? (after.system - before.system) / res.requests : undefined;
        // The event loop's thread alone: V8's compiler and GC threads are the rest.
        const mainUs = before !== undefined && after !== undefined ? (after.main - before.main) / res.requests : undefined;
        const foreign = core?.a && core?.b ? Math.max(0, (100 * (core.b.busy - core.a.busy - own)) / (core.b.total - core.a.total)) : undefined;
        const steal = core?.a && core?.b ? (100 * (core.b.steal - core.a.steal)) / (core.b.total - core.a.total) : undefined;
        // Minor page faults per 1,000 requests: V8 faults young-generation pages in again after giving them back
        // (a first touch costs 2–3 µs on the benchmark VM).
        const faults = before !== undefined && after !== undefined ? (1000 * (after.minorFaults - before.minorFaults)) / res.requests : undefined;
        const s = { rps: res.rps, p99: res.p99_ms, p99Sent: res.p99_sent_ms, bad: res.errors + res.non2xx, us: proc ? own / res.requests : undefined, sysUs, mainUs,
          rss: proc ? rssKiB(proc.pid) / 1024 : undefined, foreign, steal, faults, hold: res.hold };
        r.samples.push(s);
        console.log(`  [${round}/${o.repeat}] ${r.name.padEnd(24)} ${fmt(s.rps).padStart(6)} req/s  ${fmt(s.us, 1).padStart(6)} µs/req (kernel ${fmt(s.sysUs, 1)}, main thread ${fmt(s.mainUs, 1)}, ${fmt(s.faults, 1)} page faults per 1k)` +
          `  other work on core ${pin.proxy}: ${fmt(foreign)}%${s.bad ? `  ERRORS ${s.bad}` : ''}`);
        if (s.hold) {
          console.log(`        held each request: p50 ${fmt(s.hold.p50, 3)} p99 ${fmt(s.hold.p99, 3)} p99.9 ${fmt(s.hold.p999, 3)} max ${fmt(s.hold.max, 2)} ms` +
            ` (request leg p50 ${fmt(s.hold.reqP50, 3)} p99 ${fmt(s.hold.reqP99, 3)}, response leg p50 ${fmt(s.hold.respP50, 3)} p99 ${fmt(s.hold.respP99, 3)}); ${s.hold.matched}/${s.hold.total} matched;` +
            ` dropped ${s.hold.dropped ?? '?'}; stolen from core ${pin.proxy}: ${fmt(s.steal, 2)}%`);
          console.log(`        arriving at an idle proxy (${fmt(100 * s.hold.idleShare)}% of requests): p50 ${fmt(s.hold.idleP50, 3)} p99 ${fmt(s.hold.idleP99, 3)} ms`);
          console.log(`        over 1 ms: ${s.hold.slow}, of which ${s.hold.inSpells} in ${s.hold.spells} spells (≥ 3 in a row, each within 5 ms of the last; the proxy wrote nothing for ${fmt(s.hold.silenceP50, 2)} ms in the median one); p99 outside the spells ${fmt(s.hold.outsideP99, 3)} ms`);
        }
      }
    }
    console.log('');
    console.log(`${'row'.padEnd(24)} ${'req/s'.padStart(7)} ${'p99 ms'.padStart(7)} ${'RSS MiB'.padStart(8)} ${'CPU µs/req'.padStart(10)} ${'1-core req/s'.padStart(12)} ${'vs floor'.padStart(8)} ${'vs nginx'.padStart(8)} ${'paired'.padStart(7)}`);
    const summary = [];
    for (const r of rows) {
      const m = { name: r.name, rps: median(r.samples.map((s) => s.rps)), p99: median(r.samples.map((s) => s.p99)), p99Sent: median(r.samples.map((s) => s.p99Sent)),
        rss: median(r.samples.map((s) => s.rss)), us: median(r.samples.map((s) => s.us)), mainUs: median(r.samples.map((s) => s.mainUs)), foreign: median(r.samples.map((s) => s.foreign)),
        bad: r.samples.reduce((a, s) => a + s.bad, 0), samples: r.samples };
      summary.push({ ...m, target: r.target, proto: r.proto });
    }
    for (const m of summary) {
      const floor = summary.find((x) => x.target === 'floor' && x.proto === m.proto);
      const nginx = summary.find((x) => x.target === 'nginx' && x.proto === m.proto);
      m.vsFloor = floor?.us && m.us ? floor.us / m.us : undefined;
      m.vsNginx = nginx?.us && m.us ? nginx.us / m.us : undefined;
      // The floor's µs in a round over this row's in the same round, median over rounds: the machine drifts
      // from round to round (neighbours, caches), and rows measured back to back drift together.
      const ratios = floor && m.us ? m.samples.map((s, i) => (floor.samples[i]?.us && s.us ? floor.samples[i].us / s.us : undefined)).filter((x) => x !== undefined) : [];
      m.vsFloorPaired = ratios.length ? median(ratios) : undefined;
      if (floor && m !== floor && ratios.length) {
        m.pairedInterval = medianInterval(ratios);
        m.roundsCheaper = ratios.filter((x) => x > 1).length;
        m.rounds = ratios.length;
      }
      const direct = summary.find((x) => x.target === 'upstream' && x.proto === m.proto);
      if (o.rate && direct && m !== direct) {
        m.p99Added = m.p99 - direct.p99;
        // The same from the instant the client issued each request: without the load client's own lateness.
        if (m.p99Sent !== undefined && direct.p99Sent !== undefined) m.p99SentAdded = m.p99Sent - direct.p99Sent;
      }
      console.log(`${(m.name + (m.bad ? ' !' : '')).padEnd(24)} ${fmt(m.rps).padStart(7)} ${fmt(m.p99, 2).padStart(7)} ${fmt(m.rss, 1).padStart(8)} ` +
        `${fmt(m.us, 1).padStart(10)} ${fmt(m.us ? 1e6 / m.us : undefined).padStart(12)} ${fmt(m.vsFloor, 2).padStart(8)} ${fmt(m.vsNginx, 2).padStart(8)} ${fmt(m.vsFloorPaired, 2).padStart(7)}`);
    }
    for (const m of summary) {
      if (m.rounds === undefined) continue;
      const ci = m.pairedInterval ? `95% interval of the median ${fmt(m.pairedInterval[0], 3)}–${fmt(m.pairedInterval[1], 3)}` : 'too few rounds for an interval';
      const floorMain = summary.find((x) => x.target === 'floor' && x.proto === m.proto)?.mainUs;
      console.log(`${m.name}: paired ${fmt(m.vsFloorPaired, 3)}, ${ci}; cheaper than the floor in ${m.roundsCheaper} of ${m.rounds} rounds;` +
        ` main thread ${fmt(m.mainUs, 1)} µs/req of ${fmt(m.us, 1)} (the floor's ${fmt(floorMain, 1)})`);
    }
    if (o.rate) for (const m of summary) if (m.p99Added !== undefined) console.log(`${m.name}: p99 added over direct ${fmt(m.p99Added, 2)} ms; counted from each request's send, ${fmt(m.p99SentAdded, 2)} ms (goal ≤ 1 ms)`);
    for (const m of summary) {
      const held = m.samples.map((s) => s.hold).filter(Boolean);
      if (!held.length) continue;
      const p99s = held.map((h) => h.p99);
      const ci = medianInterval(p99s);
      m.holdP99 = median(p99s);
      m.holdP99Interval = ci;
      console.log(`${m.name}: held each request p50 ${fmt(median(held.map((h) => h.p50)), 3)} ms, p99 ${fmt(m.holdP99, 3)} ms` +
        ` (${ci ? `95% interval ${fmt(ci[0], 3)}–${fmt(ci[1], 3)}` : `rounds ${p99s.map((x) => fmt(x, 3)).join(', ')}`}), p99.9 ${fmt(median(held.map((h) => h.p999)), 3)} ms;` +
        ` steal on the proxy's core ${fmt(median(m.samples.map((s) => s.steal)), 2)}% (goal: p99 added ≤ 1 ms)`);
      // On a VM the tail follows the share of the core the hypervisor took; read it against that share.
      const line = theilSen(m.samples.map((s) => s.steal), m.samples.map((s) => s.hold?.p99));
      const outside = held.map((h) => h.outsideP99);
      const outsideCi = medianInterval(outside);
      m.holdOutsideSpellsP99 = median(outside);
      console.log(`${' '.repeat(m.name.length)}  outside spells of slow requests: p99 ${fmt(m.holdOutsideSpellsP99, 3)} ms` +
        ` (${outsideCi ? `95% interval ${fmt(outsideCi[0], 3)}–${fmt(outsideCi[1], 3)}` : `rounds ${outside.map((x) => fmt(x, 3)).join(', ')}`});` +
        ` ${fmt(median(held.map((h) => (100 * h.inSpells) / h.matched)), 2)}% of requests in spells, ${fmt(median(held.map((h) => (100 * (h.slow - h.inSpells)) / h.matched)), 2)}% slow on their own;` +
        ` the proxy silent for ${fmt(median(held.map((h) => h.silenceP50)), 2)} ms in a spell (medians)`);
      const idle = held.map((h) => h.idleP99);
      const idleCi = medianInterval(idle);
      m.holdIdleP99 = median(idle);
      console.log(`${' '.repeat(m.name.length)}  arriving at an idle proxy: p99 ${fmt(m.holdIdleP99, 3)} ms` +
        ` (${idleCi ? `95% interval ${fmt(idleCi[0], 3)}–${fmt(idleCi[1], 3)}` : `rounds ${idle.map((x) => fmt(x, 3)).join(', ')}`})`);
      // Each round's p99 over a baseline's in the same round: rows measured back to back share the machine's
      // drift (steal comes in spells lasting minutes), which the medians of whole rows do not cancel.
      for (const base of ['floor', 'nginx']) {
        const b = summary.find((x) => x.target === base && x.proto === m.proto);
        if (!b || b === m) continue;
        const ratios = m.samples.map((s, i) => (s.hold && b.samples[i]?.hold ? s.hold.p99 / b.samples[i].hold.p99 : undefined)).filter((x) => x !== undefined);
        if (!ratios.length) continue;
        const rci = medianInterval(ratios);
        m[`holdP99Vs${base === 'floor' ? 'Floor' : 'Nginx'}`] = { median: median(ratios), interval: rci, lower: ratios.filter((x) => x < 1).length, rounds: ratios.length };
        console.log(`${' '.repeat(m.name.length)}  p99 ÷ ${base}'s in the same round: ${fmt(median(ratios), 2)}` +
          ` (${rci ? `95% interval ${fmt(rci[0], 2)}–${fmt(rci[1], 2)}` : 'too few rounds for an interval'}), lower in ${ratios.filter((x) => x < 1).length} of ${ratios.length}`);
      }
      if (line) {
        m.holdP99AtZeroSteal = line.intercept;
        m.holdP99PerStealPct = line.slope;
        const quiet = m.samples.filter((s) => s.hold && s.steal < 1).map((s) => fmt(s.hold.p99, 2));
        console.log(`${' '.repeat(m.name.length)}  p99 against steal (Theil–Sen): ${fmt(line.intercept, 2)} ms at none, +${fmt(line.slope, 2)} ms per % of the core;` +
          ` rounds under 1% steal: ${quiet.length ? quiet.join(', ') + ' ms' : 'none'}`);
      }
    }
    console.log('\nvs floor / vs nginx = that proxy\'s CPU µs/req divided by this row\'s (1.00 = as cheap; higher is cheaper). Medians of the rounds.');
    console.log('paired = the median over rounds of (the floor\'s µs/req in that round ÷ this row\'s in the same round);');
    console.log('its interval is the sign test\'s (distribution-free: order statistics of the per-round ratios).');
    mkdirSync(join(here, 'results'), { recursive: true });
    const file = join(here, 'results', `floor-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ options: o, loadavg: loadavg(), pinning: pin.describe, rows: summary }, null, 2) + '\n');
    console.log(`results: ${file}`);
  } finally {
    await stopAll();
    release();
    if (!o.keep) rmSync(tmp, { recursive: true, force: true });
    else console.log(`kept ${tmp}`);
  }
}

main().catch(async (err) => {
  console.error(`floor: ${err.stack ?? err}`);
  await stopAll();
  process.exit(1);
});
