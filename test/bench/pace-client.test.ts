// bench/pace/pace.c, the C fixed-rate client of the latency benchmark (`floor.mjs --rate`): built here from its
// source and run against real servers on loopback. What the benchmark's figures rest on: every scheduled request
// goes out once, carrying its number; the trace names the connection each one took, as the server saw it;
// counted and chunked bodies, TLS and non-2xx answers are read; the load spreads over every connection.
// Nothing here is timed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA, issueLeaf } from '../support/pki.js';

const pace = (await import(new URL('../../../bench/lib/pace.mjs', import.meta.url).href)) as {
  paceBinary(outDir?: string): { path: string } | { error: string };
};

interface Summary { requests: number; errors: number; non2xx: number; p50_ms: number; p99_ms: number; client: string }
interface Trace { total: number; order: number[]; ports: number[] }
interface Seen { n: number; port: number; host: string | undefined }

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pace-test-'));
let binary = '';

before(() => {
  const built = pace.paceBinary(dir);
  if ('error' in built) throw new Error(`pace must build where the benchmark runs: ${built.error}`);
  binary = built.path;
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Answers by path: /chunked streams its body in chunks, /fail answers 503, anything else 1 KiB with a length. */
function handler(seen: Seen[]) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push({ n: Number(url.searchParams.get('n') ?? -1), port: req.socket.remotePort ?? -1, host: req.headers.host });
    if (url.pathname === '/chunked') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('a'.repeat(700));
      res.write('b'.repeat(9));
      res.end('c'.repeat(300));
    } else if (url.pathname === '/fail') {
      res.writeHead(503, { 'content-length': '4' });
      res.end('busy');
    } else {
      res.writeHead(200, { 'content-length': '1024' });
      res.end('x'.repeat(1024));
    }
  };
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(binary, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function summary(stdout: string): Summary {
  const line = stdout.split('\n').find((l) => l.startsWith('FIXED_JSON '));
  assert.ok(line, `no summary line in ${JSON.stringify(stdout)}`);
  return JSON.parse(line.slice('FIXED_JSON '.length)) as Summary;
}

test('every scheduled request goes out once with its number, and the trace names the connection the server saw', async () => {
  const seen: Seen[] = [];
  const server = http.createServer(handler(seen));
  const port = await listen(server);
  try {
    const traceFile = join(dir, 'trace.json');
    const { code, stdout, stderr } = await run(['--trace', traceFile, `http://127.0.0.1:${port}/1k`, '200', '4', '1']);
    assert.equal(code, 0, stderr);
    const s = summary(stdout);
    assert.deepEqual({ requests: s.requests, errors: s.errors, non2xx: s.non2xx, client: s.client }, { requests: 200, errors: 0, non2xx: 0, client: 'pace' });
    assert.ok(s.p50_ms > 0 && s.p99_ms >= s.p50_ms, `quantiles ${s.p50_ms} / ${s.p99_ms}`);

    // The server saw 4 warm-up requests (numbered 200..203) and then 0..199, each exactly once, on 4 connections.
    const numbers = seen.map((x) => x.n).sort((a, b) => a - b);
    assert.deepEqual(numbers, Array.from({ length: 204 }, (_, i) => i));
    assert.equal(new Set(seen.map((x) => x.port)).size, 4);
    assert.ok(seen.every((x) => x.host === `127.0.0.1:${port}`), 'Host is the URL\'s host and port, as node sends it');

    // The trace, in order, is what the server saw per connection.
    const trace = JSON.parse(readFileSync(traceFile, 'utf8')) as Trace;
    assert.equal(trace.total, 200);
    const byPort = (xs: { n: number; port: number }[]) => {
      const m = new Map<number, number[]>();
      for (const x of xs) m.set(x.port, [...(m.get(x.port) ?? []), x.n]);
      return m;
    };
    assert.deepEqual(byPort(trace.order.map((n, i) => ({ n, port: trace.ports[i] ?? -1 }))), byPort(seen));

    // Requests go to the connection idle the longest: every connection carries a share, not the first one all.
    for (const [p, ns] of byPort(seen)) assert.ok(ns.length >= 40, `connection ${p} carried ${ns.length} of 204`);
  } finally {
    server.close();
    server.closeAllConnections();
  }
});

test('chunked bodies, HTTPS and non-2xx answers are read to their end on kept-alive connections', async () => {
  const ca = createCA('pace');
  const leaf = issueLeaf(ca, ['localhost']);
  const seen: Seen[] = [];
  const server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem }, handler(seen));
  const port = await listen(server);
  try {
    const chunked = await run([`https://localhost:${port}/chunked`, '100', '2', '1', 'bench.example']);
    assert.equal(chunked.code, 0, chunked.stderr);
    assert.deepEqual(summary(chunked.stdout), { ...summary(chunked.stdout), requests: 100, errors: 0, non2xx: 0 });
    assert.ok(seen.every((x) => x.host === 'bench.example'), 'HOST replaces the Host header');
    assert.equal(new Set(seen.map((x) => x.port)).size, 2, 'two connections, kept alive throughout');

    const failing = await run([`https://localhost:${port}/fail`, '50', '2', '1']);
    assert.equal(failing.code, 0, failing.stderr);
    assert.deepEqual(summary(failing.stdout), { ...summary(failing.stdout), requests: 50, errors: 0, non2xx: 50 });
  } finally {
    server.close();
    server.closeAllConnections();
    rmSync(ca.dir, { recursive: true, force: true });
  }
});

test('a connection the server closes fails its request as an error; the run goes on over the others', async () => {
  let answered = 0;
  const server = http.createServer((req, res) => {
    // The 31st request overall (warm-ups included) gets its connection torn down instead of an answer.
    if (++answered === 31) {
      req.socket.destroy();
      return;
    }
    res.writeHead(200, { 'content-length': '2' });
    res.end('ok');
  });
  const port = await listen(server);
  try {
    const { code, stdout, stderr } = await run([`http://127.0.0.1:${port}/`, '100', '3', '1']);
    assert.equal(code, 0, stderr);
    assert.deepEqual(summary(stdout), { ...summary(stdout), requests: 100, errors: 1, non2xx: 0 });
  } finally {
    server.close();
    server.closeAllConnections();
  }
});

test('a target off loopback is refused before anything is sent', async () => {
  const { code, stderr } = await run(['http://192.0.2.1:80/', '10', '1', '1']);
  assert.equal(code, 2);
  assert.match(stderr, /refusing non-loopback target/);
});
