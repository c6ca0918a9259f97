// The real `gatehouse` process, started by a test on free loopback ports and stopped by its PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from './ports.js';
import { request } from './client.js';
import { waitFor } from './wait.js';

/** dist/test/support → the package root. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const GATEHOUSE_BIN = join(PACKAGE_ROOT, 'dist', 'cli', 'main.js');

export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly configDir: string;
  readonly statusPort: number;
  readonly statsPort: number;
  readonly adminPort: number;
  /** Everything the process wrote to stdout (the access log). */
  stdout(): string;
  /** Everything the process wrote to stderr (the operational log). */
  stderr(): string;
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `ms`; resolves with the exit code. */
  stop(ms?: number): Promise<number | string>;
}

export function makeConfigDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
  writeConfig(dir, files);
  return dir;
}

export function writeConfig(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

export async function startGateway(
  configDir: string,
  { args = [], waitReady = true, env = {} }: { args?: string[]; waitReady?: boolean; env?: Record<string, string> } = {},
): Promise<GatewayProcess> {
  const [statusPort, statsPort, adminPort] = (await freePorts(3)) as [number, number, number];
  // One process unless a test asks for workers: the default (one per core) would multiply the suite's processes.
  const workers = args.some((a) => a === '--workers' || a.startsWith('--workers=')) ? [] : ['--workers', '1'];
  const child = spawn(
    process.execPath,
    [GATEHOUSE_BIN, 'serve', '--config', configDir, '--status-port', String(statusPort), '--stats-port', String(statsPort),
      '--admin-port', String(adminPort), '--bind', '127.0.0.1', ...workers, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | string>((r) => child.once('exit', (code, signal) => r(code ?? signal ?? -1)));
  let exitedWith: number | string | undefined;
  void exited.then((c) => (exitedWith = c));
  const g: GatewayProcess = {
    child,
    configDir,
    statusPort,
    statsPort,
    adminPort,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(ms = 10_000) {
      if (exitedWith === undefined && child.pid !== undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), ms);
        const code = await exited;
        clearTimeout(timer);
        return code;
      }
      return exited;
    },
  };
  if (waitReady) {
    try {
      await waitFor(
        async () => {
          if (exitedWith !== undefined) throw new Error(`gatehouse exited with ${exitedWith}:\n${err}`);
          const r = await request({ port: statusPort, path: '/healthz/ready' }).catch(() => undefined);
          return r?.status === 200;
        },
        { timeoutMs: 15_000, what: 'gateway readiness' },
      );
    } catch (e) {
      await g.stop(2000);
      throw new Error(`${(e as Error).message}\n--- stderr ---\n${err}`);
    }
  }
  return g;
}
