// The undici dispatch handler of the what-if floors (bench/floor-raw-proxy.mjs, bench/floor-llhttp-proxy.mjs):
// writes the upstream's response head (minus hop-by-hop headers) and body straight to the client socket,
// corked, and tells the connection when the response is done. Never part of a proxy.
import { STATUS_CODES } from 'node:http';

export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'trailer']);

export class RawForward {
  /** `conn`: `{ socket, done() }`. */
  constructor(conn) {
    this.conn = conn;
  }
  onConnect() {}
  onHeaders(status, raw) {
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i].toString('latin1').toLowerCase();
      if (!HOP_BY_HOP.has(name)) head += `${name}: ${raw[i + 1].toString('latin1')}\r\n`;
    }
    this.conn.socket.cork();
    this.conn.socket.write(`${head}connection: keep-alive\r\n\r\n`, 'latin1');
    return true;
  }
  onData(chunk) {
    return this.conn.socket.write(chunk);
  }
  onComplete() {
    this.conn.socket.uncork();
    this.conn.done();
  }
  onError() {
    this.conn.socket.destroy();
  }
  onBodySent() {}
}
