// The C fixed-rate client (bench/pace/pace.c), built on first use into bench/.build/ with the system's C
// compiler and OpenSSL's headers. Where either is missing, callers fall back to bench/fixed-rate.mjs and say so.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { which } from './procs.mjs';

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = join(benchDir, 'pace', 'pace.c');

/**
 * The path of a pace binary no older than its source, building it when needed.
 * @param {string} [outDir] where to build (default bench/.build)
 * @returns {{ path: string } | { error: string }}
 */
export function paceBinary(outDir = join(benchDir, '.build')) {
  const out = join(outDir, 'pace');
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(SOURCE).mtimeMs) return { path: out };
  const cc = which('cc') ?? which('gcc') ?? which('clang');
  if (!cc) return { error: 'no C compiler (apt-get install -y gcc libssl-dev)' };
  mkdirSync(outDir, { recursive: true });
  try {
    execFileSync(cc, ['-O2', '-Wall', '-o', out, SOURCE, '-lssl', '-lcrypto'], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    return { error: `building ${SOURCE} failed (OpenSSL's headers: apt-get install -y libssl-dev): ${String(err.stderr ?? err.message).trim().split('\n').slice(0, 3).join(' ')}` };
  }
  return { path: out };
}
