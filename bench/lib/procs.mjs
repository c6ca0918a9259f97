// Process bookkeeping for the benchmark: spawn (optionally pinned), stop by PID, /proc sampling, free ports.
// Every child we start is recorded here and stopped by its own PID in stopAll(), also on error and Ctrl-C.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, openSync, closeSync, writeSync, unlinkSync } from 'node:fs';
import net from 'node:net';

/** @type {Map<number, {name: string, child: import('node:child_process').ChildProcess}>} */
const started = new Map();

/** Absolute path of an executable on PATH, or undefined. */
export function which(cmd) {
  try {
    const out = execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The pinning plan: gateway (and nginx) on core 0, upstream and load generator on core 1. */
export function pinningPlan() {
  const taskset = which('taskset');
  let cores = 1;
  try {
    cores = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || 1;
  } catch {}
  if (!taskset || cores < 2) {
    return { taskset: undefined, cores, proxy: undefined, upstream: undefined, loadgen: undefined,
      loadgenThreads: 1, describe: `not pinned (${taskset ? `${cores} core` : 'taskset not found'})` };
  }
  if (cores >= 4) {
    // Room for a load generator of its own: it no longer caps the fastest targets.
    const last = Math.min(cores - 1, 5);
    return { taskset, cores, proxy: '0', upstream: '1', loadgen: `2-${last}`, loadgenThreads: last - 1,
      describe: `taskset: gateway/nginx on core 0; upstream on core 1; load generator on cores 2-${last} (${cores} cores online)` };
  }
  return { taskset, cores, proxy: '0', upstream: '1', loadgen: '1', loadgenThreads: 1,
    describe: `taskset: gateway/nginx on core 0; upstream and load generator on core 1 (${cores} cores online)` };
}

/**
 * Spawns a child, pinned to `cpu` when a taskset path is given (taskset execs, so the PID is the program's).
 * stdout/stderr go to `logFile` (a file, so a chatty child never blocks on a pipe) unless `pipeStdout`.
 */
export function start(name, cmd, args, { cpu, taskset, logFile, pipeStdout = false, env, cwd } = {}) {
  const argv = cpu !== undefined && taskset ? [taskset, '-c', cpu, cmd, ...args] : [cmd, ...args];
  const fd = logFile ? openSync(logFile, 'a') : 'ignore';
  const child = spawn(argv[0], argv.slice(1), {
    stdio: ['ignore', pipeStdout ? 'pipe' : fd, fd],
    env: env ?? process.env,
    cwd,
  });
  if (typeof fd === 'number') closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${argv[0]})`);
  started.set(child.pid, { name, child });
  child.once('exit', () => started.delete(child.pid));
  return child;
}

/** Stops one child by PID: SIGTERM, then SIGKILL after `graceMs`. */
export async function stop(child, graceMs = 3000) {
  if (!child || child.pid === undefined) return;
  if (child.exitCode !== null || child.signalCode !== null) {
    started.delete(child.pid);
    return;
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {}
  const timer = setTimeout(() => {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {}
  }, graceMs);
  await exited;
  clearTimeout(timer);
  started.delete(child.pid);
}

/** Stops every child still running, each by its own PID. */
export async function stopAll() {
  await Promise.all([...started.values()].map(({ child }) => stop(child)));
}

/** Synchronous last resort (process 'exit'): SIGKILL each recorded PID. */
export function killAllSync() {
  for (const pid of started.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}

/** A free TCP port on 127.0.0.1 (bound then released; good enough on a quiet machine). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

let clkTck;
function clockTicks() {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** PIDs of `pid` and all its descendants (a gateway that forks workers is measured as a whole). */
export function processTree(pid) {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {}
  }
  const out = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift();
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/** CPU time (user+system, all threads) of a process tree, in microseconds; undefined if gone. */
export function cpuMicros(pid) {
  return cpuSplitMicros(pid)?.total;
}

/**
 * cpuMicros split into user and system (kernel) time, and the part of the total spent by each process's
 * main thread (the event loop; the rest is V8's compiler and GC threads and libuv's pool), in
 * microseconds; undefined if gone.
 */
export function cpuSplitMicros(pid) {
  let user = 0;
  let system = 0;
  let main = 0;
  let minorFaults = 0;
  let found = false;
  for (const p of processTree(pid)) {
    try {
      const f = statFields(`/proc/${p}/stat`);
      minorFaults += Number(f[7]);
      user += Number(f[11]);
      system += Number(f[12]);
      found = true;
      const t = statFields(`/proc/${p}/task/${p}/stat`);
      main += Number(t[11]) + Number(t[12]);
    } catch {}
  }
  if (!found) return undefined;
  const scale = 1e6 / clockTicks();
  return { user: user * scale, system: system * scale, total: (user + system) * scale, main: main * scale, minorFaults };
}

/** A /proc stat line's fields after "(comm) ": state(3) ppid(4) … minflt(10) is index 7, utime(14) stime(15) are 11 and 12. */
function statFields(file) {
  const stat = readFileSync(file, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Resident set size (VmRSS) of a process tree, in KiB; undefined if gone. */
export function rssKiB(pid) {
  return statusKiB(pid, 'VmRSS');
}

/**
 * Peak resident set size (VmHWM) of a process tree, in KiB: what a memory limit must allow (a cgroup
 * kills at the peak, not at the steady state). For a tree it is the sum of each process's own peak, an
 * upper bound of the tree's (the peaks need not coincide).
 */
export function peakRssKiB(pid) {
  return statusKiB(pid, 'VmHWM');
}

function statusKiB(pid, field) {
  const re = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm');
  let kib = 0;
  let found = false;
  for (const p of processTree(pid)) {
    try {
      const m = re.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) {
        kib += Number(m[1]);
        found = true;
      }
    } catch {}
  }
  return found ? kib : undefined;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Per-core CPU counters from /proc/stat in microseconds: {cpu0: {busy, total}, ...}. Busy excludes idle and
 * iowait. Used to see how much of the proxy's core was taken by processes the bench did not start.
 */
export function coreTimes() {
  const out = {};
  const tick = 1e6 / clockTicks();
  try {
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const m = /^(cpu\d+)\s+(.*)$/.exec(line);
      if (!m) continue;
      const v = m[2].split(/\s+/).map(Number);
      // user nice system idle iowait irq softirq steal (guest time is already inside user)
      const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
      const idle = v[3] + v[4];
      // steal: time the hypervisor ran something else while this vCPU had work.
      out[m[1]] = { busy: (total - idle) * tick, total: total * tick, steal: v[7] * tick };
    }
  } catch {}
  return out;
}

/** CPU time (user+system) of this process's reaped children (cutime+cstime), in microseconds. */
export function reapedChildrenCpuMicros() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[13]) + Number(f[14])) * 1e6) / clockTicks();
  } catch {
    return undefined;
  }
}

/**
 * One benchmark at a time per machine: two runs pinned to the same cores spoil each other's figures.
 * Takes `lockFile` (O_EXCL, holding our PID), waiting up to `waitMs` while another live PID holds it;
 * a lock whose PID is gone is taken over. Returns a release function, or throws after the wait.
 */
export async function acquireMachineLock(lockFile, waitMs, onWait) {
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(lockFile, 'utf8').trim() === String(process.pid)) unlinkSync(lockFile);
        } catch {}
      };
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    let holder;
    try {
      holder = Number(readFileSync(lockFile, 'utf8').trim());
    } catch {
      continue; // released between our two calls
    }
    let alive = false;
    if (holder > 0) {
      try {
        process.kill(holder, 0);
        alive = true;
      } catch (err) {
        alive = err.code === 'EPERM';
      }
    }
    if (!alive) {
      try {
        unlinkSync(lockFile);
      } catch {}
      continue;
    }
    if (Date.now() >= deadline) throw new Error(`another benchmark (PID ${holder}) still holds ${lockFile}`);
    if (!told) {
      onWait?.(holder);
      told = true;
    }
    await sleep(1000);
  }
}

/** The first line a child process prints on stdout (how the bench's helper processes report their ports). */
export function readFirstLine(child, timeoutMs) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('child did not report its ports')), timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(buf.slice(0, nl));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before reporting its ports`));
    });
  });
}

/** How many established connections on local `port` each of `pids` holds (ss -p), or undefined without ss. */
export function connectionsByPid(port, pids) {
  try {
    const out = execFileSync('ss', ['-Htnp', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
    return pids.map((pid) => out.split('\n').filter((l) => l.includes(`pid=${pid},`)).length);
  } catch {
    return undefined;
  }
}

/** Context switches of a whole process (all threads): voluntary (waiting for I/O) and involuntary (preempted). */
export function contextSwitches(pid) {
  let voluntary = 0;
  let involuntary = 0;
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        const st = readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
        voluntary += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0);
        involuntary += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0);
      } catch {}
    }
  } catch {}
  return { voluntary, involuntary };
}
