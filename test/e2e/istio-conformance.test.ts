// Istio's own gateway test cases (../shared/conformance/istio-gateway: config in, expected routing out),
// run by their runner against the real gateway process. They are the spec for routing semantics.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { PACKAGE_ROOT } from '../support/gateway-process.js';

const RUNNER = resolve(PACKAGE_ROOT, '..', 'shared', 'conformance', 'istio-gateway', 'run.mjs');

test('Istio gateway conformance cases pass', { skip: existsSync(RUNNER) ? false : `runner not found at ${RUNNER}` }, async () => {
  const { code, output } = await new Promise<{ code: number | null; output: string }>((done) => {
    const child = spawn(process.execPath, [RUNNER], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.once('exit', (c) => {
      clearTimeout(timer);
      done({ code: c, output });
    });
  });
  const failures = output.split('\n').filter((l) => l.startsWith('FAIL'));
  const summary = output.trim().split('\n').filter((l) => /^\d+ passed, \d+ failed$/.test(l)).at(-1);
  assert.equal(code, 0, `${summary}\n${failures.join('\n')}\n${join(RUNNER)}`);
});
