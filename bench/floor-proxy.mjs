// The floor: the least a Node reverse proxy can do per request. A bare node:http server forwards every
// request to one undici Pool (keep-alive), copying headers minus hop-by-hop, with no routing, metrics,
// access log or policy. Gatehouse's goal is to cost no more CPU per request than this.
//   node bench/floor-proxy.mjs --upstream http://127.0.0.1:PORT [--https-cert F --https-key F]
//                              [--client-cert F --client-key F --upstream-ca F]   (upstream https://: mTLS to it)
// Listens on 127.0.0.1 ephemeral ports and prints one JSON line {"http":PORT,"https":PORT|null}.
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'trailer']);

/** One undici dispatch handler per request: the shape undici's own request() uses, minus promises. */
// --extra close+headers: the floor plus one of Gatehouse's per-request costs, to price the gap piece by piece
// (bench/floor.mjs targets floor+close, floor+headers). Not part of the floor itself.
let extraClose = false;
let extraHeaders = false;
/** --extra limits: the HTTP server options Gatehouse's listeners use (gateway/listeners/bound-listener.ts http1Limits). */
let extraLimits = false;
const onClose = () => {};

class Forward {
  constructor(res) {
    this.res = res;
    this.started = extraHeaders ? Date.now() : 0;
  }
  onConnect() {}
  onHeaders(status, raw, resume) {
    const headers = {};
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i].toString('latin1').toLowerCase();
      if (!HOP_BY_HOP.has(name)) headers[name] = raw[i + 1].toString('latin1');
    }
    if (extraHeaders) {
      headers['x-envoy-upstream-service-time'] = String(Date.now() - this.started);
      headers.server = 'istio-envoy';
    }
    this.res.writeHead(status, headers);
    return true;
  }
  onData(chunk) {
    return this.res.write(chunk);
  }
  onComplete() {
    this.res.end();
  }
  onError() {
    if (this.res.headersSent) this.res.destroy();
    else {
      this.res.writeHead(502, { 'content-length': 0 });
      this.res.end();
    }
  }
  onBodySent() {}
}

function main() {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const extra = (opt('--extra') ?? '').split('+');
  extraClose = extra.includes('close');
  extraHeaders = extra.includes('headers');
  extraLimits = extra.includes('limits');
  const upstream = opt('--upstream');
  if (!upstream) throw new Error('--upstream URL is required');
  const clientCert = opt('--client-cert');
  const connect = clientCert
    ? { cert: readFileSync(clientCert), key: readFileSync(opt('--client-key')), ca: readFileSync(opt('--upstream-ca')), servername: 'localhost' }
    : undefined;
  const pool = new Pool(upstream, { connections: 128, pipelining: 1, keepAliveTimeout: 60_000, ...(connect ? { connect } : {}) });
  const handler = (req, res) => {
    const headers = {};
    const incoming = req.headers;
    for (const name in incoming) if (!HOP_BY_HOP.has(name)) headers[name] = incoming[name];
    if (extraClose) res.on('close', onClose);
    if (extraHeaders) {
      const ip = req.socket.remoteAddress;
      headers['x-forwarded-for'] = ip;
      headers['x-forwarded-proto'] = req.socket.encrypted ? 'https' : 'http';
      headers['x-envoy-external-address'] = ip;
      headers['x-request-id'] = randomUUID();
    }
    const hasBody = incoming['content-length'] !== undefined || incoming['transfer-encoding'] !== undefined;
    pool.dispatch({ path: req.url, method: req.method, headers, body: hasBody ? req : null, reset: false }, new Forward(res));
  };
  const limits = extraLimits
    ? { requireHostHeader: false, maxHeaderSize: 60 * 1024, headersTimeout: 10_000, requestTimeout: 300_000, keepAliveTimeout: 60_000, connectionsCheckingInterval: 1000, maxHeadersCount: 0 }
    : { keepAliveTimeout: 120_000 };
  const servers = [http.createServer(limits, handler)];
  const cert = opt('--https-cert');
  const key = opt('--https-key');
  if (cert && key) servers.push(https.createServer({ cert: readFileSync(cert), key: readFileSync(key), keepAliveTimeout: 120_000 }, handler));
  const out = { http: null, https: null };
  let pending = servers.length;
  servers.forEach((s, i) => {
    s.listen(0, '127.0.0.1', 1024, () => {
      out[i === 0 ? 'http' : 'https'] = s.address().port;
      if (--pending === 0) process.stdout.write(JSON.stringify(out) + '\n');
    });
  });
  const shutdown = () => {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
    pool.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main();
