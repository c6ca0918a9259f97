// How evenly `--workers 2` shares connections that arrive together (docs/performance.md, "Workers: how
// connections split"). A gateway with two workers; `--tries` times, wrk opens `--connections` keep-alive
// connections at once and sends requests for `--seconds`; after the first second, `ss` counts each
// worker's established connections on the listener. Run once per `--accept` mode: `default` (libuv accepts
// every pending connection in one go) and `single` (UV_TCP_SINGLE_ACCEPT=1 in the workers' environment:
// libuv sleeps after each accept, so a worker that woke first leaves some of a burst to the other).
// Prints each try's split, the mean share of the smaller side, and req/s.
//   node bench/workers-split.mjs [--tries 12] [--connections 64] [--seconds 2] [--accept default,single] [--proto http|https]
// Needs wrk and ss; after a build. Takes /tmp/gatehouse-bench.lock; stops what it started by PID.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeCertificate, writeIstioConfig } from './lib/config.mjs';
import { start, stop, stopAll, killAllSync, freePort, acquireMachineLock, readFirstLine, which, processTree, connectionsByPid } from './lib/procs.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

function parseArgs(argv) {
  const o = { tries: 12, connections: 64, seconds: 2, accept: ['default', 'single'], proto: 'http' };
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--tries': o.tries = Number(v); break;
      case '--connections': o.connections = Number(v); break;
      case '--seconds': o.seconds = Number(v); break;
      case '--accept': o.accept = v.split(','); break;
      case '--proto': o.proto = v; break;
      default: throw new Error(`unknown option ${argv[i]}`);
    }
  }
  if (!(o.tries >= 1 && o.tries <= 100 && o.seconds >= 2 && o.seconds <= 30 && o.connections >= 2)) throw new Error('--tries 1–100, --seconds 2–30, --connections ≥ 2');
  if (o.accept.some((a) => a !== 'default' && a !== 'single')) throw new Error('--accept: default and/or single');
  if (o.proto !== 'http' && o.proto !== 'https') throw new Error('--proto: http or https');
  return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(fn, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error('timed out waiting for the gateway');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const wrk = which('wrk');
  if (!wrk || !which('ss')) throw new Error('needs wrk and ss (apt-get install -y wrk iproute2)');
  const release = await acquireMachineLock('/tmp/gatehouse-bench.lock', 900_000, (pid) => console.log(`waiting for bench PID ${pid} ...`));
  process.on('exit', release);
  process.on('exit', killAllSync);
  process.on('SIGINT', () => stopAll().finally(() => process.exit(130)));
  const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-split-'));
  console.log(`workers-split ${new Date().toISOString()}  load avg ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`--workers 2, wrk -t2 -c${o.connections} -d${o.seconds}s ${o.proto}, ${o.tries} tries per mode; split counted 1 s in`);
  try {
    const { cert, key } = makeCertificate(tmp, 'ec');
    const upstream = start('upstream', process.execPath, [join(here, 'lib', 'upstream.mjs'), '--cert', cert, '--key', key], { logFile: join(tmp, 'upstream.log'), pipeStdout: true });
    const up = JSON.parse(await readFirstLine(upstream, 10_000));
    for (const mode of o.accept) {
      const dir = join(tmp, mode);
      mkdirSync(join(dir, 'config'), { recursive: true });
      const [httpPort, httpsPort, statusPort, statsPort, adminPort] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
      writeIstioConfig(join(dir, 'config'), { httpPort, httpsPort, upstreamPort: up.http, cert, key });
      const env = { ...process.env };
      if (mode === 'single') env.UV_TCP_SINGLE_ACCEPT = '1';
      else delete env.UV_TCP_SINGLE_ACCEPT;
      const gw = start(`gatehouse-${mode}`, process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'serve', '--config', join(dir, 'config'), '--status-port', String(statusPort),
        '--stats-port', String(statsPort), '--admin-port', String(adminPort), '--bind', '127.0.0.1', '--workers', '2', '--access-log-format', 'off'],
        { logFile: join(dir, 'gateway.log'), cwd: root, env });
      await until(async () => (await fetch(`http://127.0.0.1:${statusPort}/healthz/ready`)).status === 200, 60_000);
      const port = o.proto === 'http' ? httpPort : httpsPort;
      const url = `${o.proto}://127.0.0.1:${port}/1k`;
      const workers = () => processTree(gw.pid).filter((p) => p !== gw.pid);
      const smaller = [];
      const rates = [];
      const splits = [];
      for (let t = 0; t < o.tries; t++) {
        const child = spawn(wrk, ['-t2', `-c${o.connections}`, `-d${o.seconds}s`, url], { stdio: ['ignore', 'pipe', 'ignore'] });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        const exited = new Promise((r) => child.once('exit', r));
        await sleep(1000);
        const counts = connectionsByPid(port, workers()) ?? [];
        await exited;
        const total = counts.reduce((a, b) => a + b, 0);
        splits.push(counts.join('/'));
        if (total > 0) smaller.push(Math.min(...counts) / total);
        const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
        if (rps) rates.push(Number(rps[1]));
        // Let the closed connections leave both workers before the next burst.
        await sleep(300);
      }
      const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
      console.log(`${mode.padEnd(8)} splits ${splits.join(' ')}`);
      console.log(`${''.padEnd(8)} smaller side's share: mean ${(100 * mean(smaller)).toFixed(1)}%, worst ${(100 * Math.min(...smaller)).toFixed(1)}%; req/s mean ${mean(rates).toFixed(0)}`);
      await stop(gw);
    }
  } finally {
    await stopAll();
    release();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch(async (err) => {
  console.error(`workers-split: ${err.stack ?? err}`);
  await stopAll();
  process.exit(1);
});
