#!/usr/bin/env node
// A fixed-rate HTTP/1.1 load client (wrk2 is not packaged for Debian): RATE requests per second spread over
// CONNECTIONS keep-alive connections for SECONDS, each request's latency counted from the moment it was
// scheduled (not sent), so a stalled proxy cannot hide its queueing (no coordinated omission).
//   node bench/fixed-rate.mjs URL RATE CONNECTIONS SECONDS [HOST]   → one line: FIXED_JSON {...}
// HOST, when given, is sent as the Host header (a virtual host at configuration scale, bench/scale-serve.mjs).
// Loopback only. Requests that would exceed CONNECTIONS in flight wait for a free connection, still timed
// from their scheduled instant. A second figure counts each request from the moment the client actually
// issued it (p99_sent_ms …): the same, minus the client's own lateness (its timers fire up to a millisecond
// or more after the scheduled instant, and later when it collects garbage), which lands on a direct call and a
// proxied one alike and only adds noise to their difference. Queueing for a free connection stays in both.
// --trace FILE numbers each request in its query (`?n=N`) and writes, at the end, which connection (local
// port) took each request, in order: what bench/lib/hold.mjs needs to match a capture's segments to requests.
import http from 'node:http';
import https from 'node:https';
import { writeFileSync } from 'node:fs';

const argv = process.argv.slice(2);
const traceAt = argv.indexOf('--trace');
const traceFile = traceAt >= 0 ? argv.splice(traceAt, 2)[1] : undefined;
const [url, rateArg, connArg, secondsArg, hostHeader] = argv;
const u = new URL(url);
if (!['127.0.0.1', 'localhost'].includes(u.hostname)) throw new Error(`refusing non-loopback target ${url}`);
const rate = Number(rateArg);
const connections = Number(connArg);
const seconds = Number(secondsArg);
if (!(rate > 0 && rate <= 100_000 && connections > 0 && connections <= 1000 && seconds > 0 && seconds <= 300)) {
  throw new Error('usage: fixed-rate.mjs URL RATE(1..100000) CONNECTIONS(1..1000) SECONDS(1..300)');
}
const secure = u.protocol === 'https:';
const client = secure ? https : http;
// HTTPS: the benchmark's self-signed certificate for localhost; the client checks nothing (like wrk).
const agent = new client.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections, ...(secure ? { rejectUnauthorized: false, servername: 'localhost' } : {}) });
const headers = hostHeader ? { host: hostHeader } : undefined;
const total = Math.round(rate * seconds);
const latenciesUs = new Float64Array(total);
const sentLatenciesUs = new Float64Array(total);
let done = 0;
let errors = 0;
let non2xx = 0;
let scheduled = 0;
let start = performance.now();
const interval = 1000 / rate;
// Request numbers in the order the agent gave them a connection, and those connections.
const traceOrder = [];
const traceSockets = [];
const pathOf = (n) => (traceFile ? `${u.pathname}?n=${n}` : u.pathname);

function request(n, onResponse) {
  const req = client.request({ host: u.hostname, port: u.port, path: pathOf(n), agent, method: 'GET', headers }, onResponse);
  if (traceFile) {
    req.on('socket', (socket) => {
      traceOrder.push(n);
      traceSockets.push(socket);
    });
  }
  return req;
}

function send(n, at, sentAt) {
  const req = request(n, (res) => {
    if (res.statusCode < 200 || res.statusCode > 299) non2xx++;
    res.on('data', () => {});
    res.on('end', () => finish(at, sentAt));
  });
  req.on('error', () => {
    errors++;
    finish(at, sentAt);
  });
  req.end();
}

function finish(at, sentAt) {
  const now = performance.now();
  sentLatenciesUs[done] = (now - sentAt) * 1000;
  latenciesUs[done++] = (now - at) * 1000;
  if (done === total) report();
}

function tick() {
  const now = performance.now();
  while (scheduled < total && start + scheduled * interval <= now) {
    const n = scheduled++;
    send(n, start + interval * n, performance.now());
  }
  if (scheduled < total) setTimeout(tick, Math.max(0, start + scheduled * interval - performance.now()));
}

function report() {
  const v = latenciesUs.slice(0, done).sort();
  const w = sentLatenciesUs.slice(0, done).sort();
  const q = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] / 1000;
  const out = { requests: done, seconds: (performance.now() - start) / 1000, errors, non2xx, p50_ms: q(v, 0.5), p90_ms: q(v, 0.9), p99_ms: q(v, 0.99), p999_ms: q(v, 0.999), max_ms: v[v.length - 1] / 1000,
    p50_sent_ms: q(w, 0.5), p99_sent_ms: q(w, 0.99), p999_sent_ms: q(w, 0.999) };
  // Local ports are read now, while every connection is still open (a connecting socket has none yet).
  if (traceFile) writeFileSync(traceFile, JSON.stringify({ total, order: traceOrder, ports: traceSockets.map((s) => s.localPort ?? -1) }));
  process.stdout.write(`FIXED_JSON ${JSON.stringify(out)}\n`);
  agent.destroy();
}

// Bounded: a run that cannot finish (a proxy that stopped answering) ends after SECONDS + 30 s.
setTimeout(() => {
  if (done < total) {
    errors += total - done;
    done = total;
    report();
  }
  process.exit(0);
}, (seconds + 30) * 1000).unref();

// Open every connection before the schedule starts: otherwise the first requests wait for the TLS
// handshakes of all CONNECTIONS (and the proxy's cold JIT), and p99 measures connection setup.
function warm() {
  return Promise.all(Array.from({ length: connections }, (_, k) => new Promise((resolve) => {
    const req = request(total + k, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', resolve);
    req.end();
  })));
}

warm().then(() => {
  start = performance.now();
  tick();
});
