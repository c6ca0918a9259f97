// A what-if, not a proxy: the floor (bench/floor-proxy.mjs) with node's HTTP server replaced by node's own
// llhttp binding driven directly on the socket (no IncomingMessage/ServerResponse). Prices what node:http's
// JS layer costs per request when the parser stays the same: the design gateway/http1 took. It forwards the
// benchmark's bodiless requests only (bodies are dropped, no pipelining, no deadlines): never put it in
// front of anything.
//   node bench/floor-llhttp-proxy.mjs --upstream http://127.0.0.1:PORT [--https-cert F --https-key F]
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Pool } from 'undici';
import { HOP_BY_HOP, RawForward } from './lib/raw-forward.mjs';

const { HTTPParser, methods } = createRequire(import.meta.url)('_http_common');

function onHeadersComplete(versionMajor, versionMinor, rawHeaders, method, url, _s, _m, upgrade, keepAlive) {
  const conn = this.conn;
  const headers = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (!HOP_BY_HOP.has(name)) headers.push(name, rawHeaders[i + 1]);
  }
  conn.pool.dispatch({ path: url, method: methods[method], headers, body: null, reset: false }, new RawForward(conn));
  return 0;
}
function onBody() {}
function onMessageComplete() {}

class Connection {
  done() {}
  constructor(socket, pool) {
    this.socket = socket;
    this.pool = pool;
    const parser = new HTTPParser();
    parser.initialize(HTTPParser.REQUEST, {}, 0, 0);
    parser.conn = this;
    parser[HTTPParser.kOnHeadersComplete] = onHeadersComplete;
    parser[HTTPParser.kOnBody] = onBody;
    parser[HTTPParser.kOnMessageComplete] = onMessageComplete;
    this.parser = parser;
    socket.on('data', (chunk) => {
      const r = parser.execute(chunk);
      if (typeof r !== 'number') socket.destroy();
    });
    socket.on('error', () => socket.destroy());
  }
}

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const upstream = opt('--upstream');
if (!upstream) throw new Error('--upstream URL is required');
const pool = new Pool(upstream, { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 });
const server = net.createServer({ noDelay: true }, (socket) => new Connection(socket, pool));
const cert = opt('--https-cert');
const secure = cert ? tls.createServer({ cert: readFileSync(cert), key: readFileSync(opt('--https-key')), noDelay: true }, (socket) => new Connection(socket, pool)) : null;
server.listen(0, '127.0.0.1', 1024, () => {
  const done = () => process.stdout.write(`${JSON.stringify({ http: server.address().port, https: secure ? secure.address().port : null })}\n`);
  if (secure) secure.listen(0, '127.0.0.1', 1024, done);
  else done();
});
const shutdown = () => {
  server.close();
  pool.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
