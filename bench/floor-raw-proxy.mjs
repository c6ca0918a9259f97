// A what-if, not a proxy: the floor (bench/floor-proxy.mjs) without node's HTTP server. It reads HTTP/1.1
// requests off the socket itself and writes the response head and body straight back, so the difference
// to the floor prices what node:http costs per request (IncomingMessage and ServerResponse streams, their
// ticks, header objects and validation). It parses only what the benchmarks send (GET/HEAD, no body, no
// continuation lines) and closes the connection on anything else: never put it in front of anything.
//   node bench/floor-raw-proxy.mjs --upstream http://127.0.0.1:PORT   → one JSON line {"http":PORT,"https":null}
import net from 'node:net';
import { Pool } from 'undici';
import { HOP_BY_HOP, RawForward } from './lib/raw-forward.mjs';

const CRLFCRLF = Buffer.from('\r\n\r\n');

class Connection {
  constructor(socket, pool) {
    this.socket = socket;
    this.pool = pool;
    this.pending = null;
    this.busy = false;
    socket.on('data', (chunk) => {
      this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
      this.next();
    });
    socket.on('error', () => socket.destroy());
  }
  done() {
    this.busy = false;
    this.next();
  }
  next() {
    if (this.busy || !this.pending) return;
    const end = this.pending.indexOf(CRLFCRLF);
    if (end < 0) return;
    const text = this.pending.toString('latin1', 0, end);
    this.pending = end + 4 === this.pending.length ? null : this.pending.subarray(end + 4);
    const lines = text.split('\r\n');
    const [method, path, version] = lines[0].split(' ');
    if ((method !== 'GET' && method !== 'HEAD') || version !== 'HTTP/1.1') return void this.socket.destroy();
    const headers = [];
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      const colon = line.indexOf(':');
      if (colon <= 0) return void this.socket.destroy();
      const name = line.slice(0, colon).toLowerCase();
      if (name === 'content-length' || name === 'transfer-encoding') return void this.socket.destroy();
      if (!HOP_BY_HOP.has(name)) headers.push(name, line.slice(colon + 1).trim());
    }
    this.busy = true;
    this.pool.dispatch({ path, method, headers, body: null, reset: false }, new RawForward(this));
  }
}

const args = process.argv.slice(2);
const upstream = args[args.indexOf('--upstream') + 1];
if (!upstream || args.indexOf('--upstream') < 0) throw new Error('--upstream URL is required');
const pool = new Pool(upstream, { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 });
const server = net.createServer({ noDelay: true }, (socket) => new Connection(socket, pool));
server.listen(0, '127.0.0.1', 1024, () => process.stdout.write(`${JSON.stringify({ http: server.address().port, https: null })}\n`));
const shutdown = () => {
  server.close();
  pool.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
