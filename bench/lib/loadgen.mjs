// Load generators: wrk (preferred, detected on PATH) or autocannon (only when resolvable; never a dependency).
// Both run as their own pinned process with HTTP/1.1 keep-alive, a fixed connection count and a fixed duration.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { which, start } from './procs.mjs';

const here = dirname(fileURLToPath(import.meta.url));

const WRK_LUA = `-- Written by bench/run.mjs: prints wrk's summary as one JSON line.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.2f}}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
`;

function resolveAutocannon() {
  const roots = [join(here, '..', '..', 'package.json')];
  try {
    const g = execFileSync('npm', ['root', '-g'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (g) roots.push(join(g, 'noop.js'));
  } catch {}
  for (const from of roots) {
    try {
      return createRequire(from).resolve('autocannon');
    } catch {}
  }
  return undefined;
}

/** Finds a load generator; `prefer` is 'wrk' | 'autocannon' | undefined. Returns undefined when none. */
export function detectLoadGenerator(prefer) {
  const wrk = which('wrk');
  const autocannon = prefer === 'wrk' ? undefined : resolveAutocannon();
  if (prefer === 'autocannon' && autocannon) return { kind: 'autocannon', path: autocannon, version: autocannonVersion(autocannon) };
  if (wrk && prefer !== 'autocannon') return { kind: 'wrk', path: wrk, version: wrkVersion(wrk) };
  if (autocannon) return { kind: 'autocannon', path: autocannon, version: autocannonVersion(autocannon) };
  return undefined;
}

function wrkVersion(wrk) {
  try {
    execFileSync(wrk, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    // wrk -v prints its banner and exits 1.
    const m = /wrk (\S+)/.exec(String(err.stdout ?? '') + String(err.stderr ?? ''));
    if (m) return m[1];
  }
  return 'unknown';
}

function autocannonVersion(path) {
  try {
    const require = createRequire(path);
    return require(join(dirname(path), 'package.json')).version;
  } catch {
    return 'unknown';
  }
}

export const INSTALL_HINT =
  'No load generator found. Install wrk (Debian/Ubuntu: `apt-get update && apt-get install -y wrk`),\n' +
  'or make autocannon resolvable without adding it to package.json (`npm install -g autocannon`).';

function collect(child) {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ out, code, signal }));
  });
}

/**
 * Runs one bounded load: returns {requests, seconds, rps, p50_ms, p90_ms, p99_ms, max_ms, errors, non2xx}.
 * `url` must point at 127.0.0.1 / localhost.
 */
export async function runLoad(gen, { url, connections, seconds, pin, tmpDir, logFile }) {
  const u = new URL(url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) throw new Error(`refusing non-loopback target ${url}`);
  if (gen.kind === 'wrk') {
    const script = join(tmpDir, 'wrk-summary.lua');
    writeFileSync(script, WRK_LUA);
    const threads = Math.max(1, Math.min(pin?.loadgenThreads ?? 1, connections));
    const args = ['-t', String(threads), '-c', String(Math.max(connections, threads)), '-d', `${seconds}s`,
      '--timeout', '5s', '-s', script, url];
    const child = start('wrk', gen.path, args, { cpu: pin?.loadgen, taskset: pin?.taskset, logFile, pipeStdout: true });
    const { out, code, signal } = await withDeadline(collect(child), (seconds + 30) * 1000, child);
    const line = out.split('\n').find((l) => l.startsWith('WRK_JSON '));
    if (!line) throw new Error(`wrk produced no summary (exit ${code ?? signal}): ${out.slice(-500)}`);
    const s = JSON.parse(line.slice('WRK_JSON '.length));
    const secs = s.duration_us / 1e6;
    const e = s.errors;
    return {
      requests: s.requests,
      seconds: secs,
      rps: s.requests / secs,
      p50_ms: s.latency_us.p50 / 1000,
      p90_ms: s.latency_us.p90 / 1000,
      p99_ms: s.latency_us.p99 / 1000,
      max_ms: s.latency_us.max / 1000,
      errors: e.connect + e.read + e.write + e.timeout,
      non2xx: e.status,
    };
  }
  // autocannon, in its own (pinned) process.
  const runner = join(here, 'autocannon-runner.mjs');
  const args = [runner, pathToFileURL(gen.path).href, url, String(connections), String(seconds), String(pin?.loadgenThreads ?? 1)];
  const child = start('autocannon', process.execPath, args, { cpu: pin?.loadgen, taskset: pin?.taskset, logFile, pipeStdout: true });
  const { out, code, signal } = await withDeadline(collect(child), (seconds + 30) * 1000, child);
  const line = out.split('\n').find((l) => l.startsWith('AC_JSON '));
  if (!line) throw new Error(`autocannon produced no summary (exit ${code ?? signal}): ${out.slice(-500)}`);
  return JSON.parse(line.slice('AC_JSON '.length));
}

async function withDeadline(promise, ms, child) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {}
      reject(new Error(`load generator exceeded ${ms} ms; killed PID ${child.pid}`));
    }, ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
