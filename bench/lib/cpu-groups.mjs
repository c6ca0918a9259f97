// CPU bandwidth groups for the benchmark: the kernel's CFS quota (cgroup v1 `cpu` controller, or v2 `cpu.max`)
// gives a process "Q % of one core", which is how bench/workers-scale.mjs emulates cores the load generator
// does not share on a machine that has only two. Everything here is synchronous so the cleanup can run from
// a process 'exit' handler: every group it made is emptied (its PIDs moved back to the cgroup this process
// started in) and removed, also after an error or Ctrl-C.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

function mounts() {
  return readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')).filter((f) => f.length > 3);
}

/** This process's cgroup path in the hierarchy that holds `controller` (v1), or the v2 path ('0::'). */
function ownPath(v1Controller) {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [id, controllers, path] = [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1, line.lastIndexOf(':')), line.slice(line.lastIndexOf(':') + 1)];
    if (v1Controller ? controllers.split(',').includes(v1Controller) : id === '0' && controllers === '') return path;
  }
  return undefined;
}

/** Whether we may create groups in `dir` (a probe group, removed at once). */
const canCreateIn = (dir) => {
  const probe = join(dir, `gatehouse-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
    return true;
  } catch {
    return false;
  }
};

/**
 * Finds a writable cpu controller: v1 (a `cgroup` mount with the `cpu` option) first, then v2 (`cgroup2` with
 * `cpu` in cgroup.controllers). Throws with the reason when there is none or we are not root.
 */
export function detectCpuController() {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('bench/workers-scale.mjs needs root: it creates cgroups to give each gateway process a CPU quota');
  }
  const reasons = [];
  for (const f of mounts()) {
    if (f[2] === 'cgroup' && f[3].split(',').includes('cpu')) {
      const own = ownPath('cpu') ?? '/';
      const base = join(f[1], own);
      if (existsSync(join(base, 'cpu.cfs_quota_us')) && canCreateIn(base)) return { version: 1, mount: f[1], base, home: base };
      reasons.push(`cgroup v1 cpu controller at ${f[1]} is not writable`);
    }
  }
  for (const f of mounts()) {
    if (f[2] !== 'cgroup2') continue;
    const controllers = readFileSync(join(f[1], 'cgroup.controllers'), 'utf8').split(/\s+/);
    if (!controllers.includes('cpu')) {
      reasons.push(`cgroup v2 at ${f[1]} has no cpu controller (cgroup.controllers: ${controllers.join(' ').trim() || 'none'}; in a hybrid setup it is bound to v1)`);
      continue;
    }
    // v2's "no internal processes" rule: our parent group must hold no process once +cpu is in its
    // subtree_control, which only the hierarchy's root is exempt from. So the groups go under the mount root.
    try {
      const sub = readFileSync(join(f[1], 'cgroup.subtree_control'), 'utf8');
      if (!sub.split(/\s+/).includes('cpu')) writeFileSync(join(f[1], 'cgroup.subtree_control'), '+cpu');
      return { version: 2, mount: f[1], base: f[1], home: join(f[1], ownPath(undefined) ?? '/') };
    } catch (err) {
      reasons.push(`cgroup v2 at ${f[1]}: cannot enable +cpu in cgroup.subtree_control (${err.code ?? err.message})`);
    }
  }
  throw new Error(`no writable cgroup cpu controller (need v1 /sys/fs/cgroup/cpu or v2 cpu.max):\n  ${reasons.join('\n  ') || 'no cgroup mount found'}`);
}

/** A tree of groups under one parent named after this process; `cleanupSync()` undoes all of it. */
export class CpuGroups {
  constructor(ctl, name) {
    this.ctl = ctl;
    this.parent = join(ctl.base, name);
    this.groups = new Map();
    mkdirSync(this.parent);
    if (ctl.version === 2) writeFileSync(join(this.parent, 'cgroup.subtree_control'), '+cpu');
    else this.#weight(this.parent, 100_000); // the tree as a whole before other engineers' processes
  }

  /** Creates a leaf group: `weight` in v1 shares (1024 = a nice-0 task), `quotaPct` of one core or none. */
  create(name, { weight = 1024, quotaPct, periodUs = 100_000 } = {}) {
    const dir = join(this.parent, name);
    mkdirSync(dir);
    this.groups.set(name, dir);
    this.#weight(dir, weight);
    this.setQuota(name, quotaPct, periodUs);
    return dir;
  }

  #weight(dir, shares) {
    if (this.ctl.version === 1) writeFileSync(join(dir, 'cpu.shares'), String(shares));
    else writeFileSync(join(dir, 'cpu.weight'), String(Math.min(10_000, Math.max(1, Math.round((shares * 100) / 1024)))));
  }

  /** Quota as a percentage of one core per period; undefined = unlimited. */
  setQuota(name, quotaPct, periodUs = 100_000) {
    const dir = this.groups.get(name);
    const quota = quotaPct === undefined ? -1 : Math.round((quotaPct / 100) * periodUs);
    if (this.ctl.version === 1) {
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), '-1'); // a period shorter than the old quota is refused otherwise
      writeFileSync(join(dir, 'cpu.cfs_period_us'), String(periodUs));
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
    } else {
      writeFileSync(join(dir, 'cpu.max'), `${quota < 0 ? 'max' : quota} ${periodUs}`);
    }
  }

  /** Moves a whole process (every thread) into a group. */
  move(name, pid) {
    writeFileSync(join(this.groups.get(name), 'cgroup.procs'), String(pid));
  }

  pids(name) {
    return readFileSync(join(this.groups.get(name), 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  }

  /** Periods, throttled periods, throttled µs and (v2 only) usage µs of a group. */
  stat(name) {
    const kv = Object.fromEntries(readFileSync(join(this.groups.get(name), 'cpu.stat'), 'utf8').trim().split('\n').map((l) => l.split(' ')).map(([k, v]) => [k, Number(v)]));
    return {
      periods: kv.nr_periods,
      throttled: kv.nr_throttled,
      throttledUs: kv.throttled_time !== undefined ? kv.throttled_time / 1000 : kv.throttled_usec,
    };
  }

  /** Moves every PID left in the tree back to where this process started, then removes the groups. */
  cleanupSync() {
    const problems = [];
    const dirs = [...this.groups.values(), this.parent];
    for (const dir of dirs) {
      if (!existsSync(dir)) continue;
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
            try {
              writeFileSync(join(this.ctl.home, 'cgroup.procs'), pid);
            } catch {} // exited meanwhile
          }
          // Children before the parent; the leaves were listed first.
          rmdirSync(dir);
          break;
        } catch (err) {
          if (attempt === 19) problems.push(`${dir}: ${err.code ?? err.message}`);
          else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50); // a process still exiting
        }
      }
    }
    this.groups.clear();
    return problems;
  }
}

/** Leftover groups of earlier runs whose process is gone (named `gatehouse-scale-PID`). */
export function staleGroups(ctl) {
  const out = [];
  try {
    for (const e of readdirSync(ctl.base)) {
      const m = /^gatehouse-scale-(\d+)$/.exec(e);
      if (!m) continue;
      try {
        process.kill(Number(m[1]), 0);
      } catch (err) {
        if (err.code === 'ESRCH') out.push(join(ctl.base, e));
      }
    }
  } catch {}
  return out;
}

/** Removes a leftover tree (leaves, then the parent); its processes are gone. Returns 'ok' or the error. */
export function removeStaleGroup(dir) {
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmdirSync(join(dir, e.name));
    rmdirSync(dir);
    return 'ok';
  } catch (err) {
    return err.code ?? err.message;
  }
}
