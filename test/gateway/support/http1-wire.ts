// An HTTP/1 client on a raw (plain or TLS) socket for tests of the gateway's HTTP/1 server: it sends
// exact bytes and reads the answer back as the responses they frame (Content-Length, chunked, until
// close, or none for HEAD/1xx/204/304), keeping the wire form of each (status line, header lines in
// order, how the body was framed), so two servers can be compared byte for byte where it matters.
import net from 'node:net';
import tls from 'node:tls';
import { setImmediate as nextTurn } from 'node:timers/promises';

export type Framing = 'length' | 'chunked' | 'close' | 'none';

export interface WireResponse {
  readonly statusLine: string;
  readonly status: number;
  /** Header lines as sent: [name, value] in order, names in their wire case. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly framing: Framing;
  readonly body: Buffer;
}

export function header(res: WireResponse, name: string): string | undefined {
  const lower = name.toLowerCase();
  return res.headers.find(([n]) => n.toLowerCase() === lower)?.[1];
}

export function headerValues(res: WireResponse, name: string): string[] {
  const lower = name.toLowerCase();
  return res.headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

const DEFAULT_WAIT_MS = 5_000;

export class WireConnection {
  /** Every byte received, as latin1 text. */
  text = '';
  /** The server ended or reset the connection. */
  closed = false;
  readonly responses: WireResponse[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  /** Methods of the requests sent whose final responses are not parsed yet, in order. */
  private readonly methods: string[] = [];
  private waiters: Array<() => void> = [];
  private taken = 0;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.text += d.toString('latin1');
      this.buffer = this.buffer.length === 0 ? d : Buffer.concat([this.buffer, d]);
      this.parse();
      this.wake();
    });
    const gone = (): void => {
      if (this.closed) return;
      this.closed = true;
      this.parse();
      this.wake();
    };
    socket.on('end', gone);
    socket.on('close', gone);
    socket.on('error', gone);
  }

  static async open(port: number): Promise<WireConnection> {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new WireConnection(socket);
  }

  static async openTls(port: number, opts: { servername: string; ca: string; alpn?: string[] }): Promise<WireConnection> {
    const socket = tls.connect({ port, host: '127.0.0.1', servername: opts.servername, ca: opts.ca, ...(opts.alpn ? { ALPNProtocols: opts.alpn } : {}) });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    return new WireConnection(socket);
  }

  /**
   * Sends bytes carrying requests whose methods are `methods` (in order; a HEAD's response has no
   * body), in one write.
   */
  send(bytes: string | Buffer, methods: readonly string[] = []): void {
    this.methods.push(...methods);
    if (!this.socket.destroyed) this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /** Sends bytes `size` at a time, letting the event loop turn (the gateway reads) between pieces. */
  async sendInPieces(bytes: string | Buffer, size: number, methods: readonly string[] = []): Promise<void> {
    this.methods.push(...methods);
    const data = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
    for (let i = 0; i < data.length && !this.socket.destroyed; i += size) {
      this.socket.write(data.subarray(i, i + size));
      await nextTurn();
      await nextTurn();
    }
  }

  /** The next response not yet taken (1xx responses included); rejects if the connection closes first. */
  async next(waitMs = DEFAULT_WAIT_MS): Promise<WireResponse> {
    await this.until(() => this.responses.length > this.taken || this.closed, 'a response', waitMs);
    const res = this.responses[this.taken];
    if (res === undefined) throw new Error(`connection closed before response ${this.taken + 1}; received ${JSON.stringify(this.text)}`);
    this.taken++;
    return res;
  }

  /** Waits for the server to close the connection; rejects when it does not within `waitMs`. */
  async whenClosed(waitMs = DEFAULT_WAIT_MS): Promise<void> {
    await this.until(() => this.closed, 'the server to close the connection', waitMs);
  }

  /**
   * Whether the server keeps the connection for another request, found by sending one: it is answered
   * (open), or the connection closes (closed). No waiting for a close that may not come.
   */
  async fate(probe: string): Promise<'open' | 'closed'> {
    if (this.closed) return 'closed';
    const before = this.responses.length;
    this.send(probe, ['GET']);
    await this.until(() => this.responses.length > before || this.closed, 'the probe request to be answered or the connection to close');
    if (this.responses.length > before) {
      this.taken = this.responses.length;
      return 'open';
    }
    return 'closed';
  }

  close(): void {
    this.socket.destroy();
  }

  private async until(condition: () => boolean, what: string, waitMs = DEFAULT_WAIT_MS): Promise<void> {
    if (condition()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out after ${waitMs} ms waiting for ${what}; received ${JSON.stringify(this.text.slice(0, 2000))}`));
      }, waitMs);
      const check = (): void => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private parse(): void {
    for (let guard = 0; guard < 1000; guard++) {
      const parsed = parseResponse(this.buffer, this.methods[0] ?? 'GET', this.closed);
      if (parsed === undefined) return;
      this.buffer = this.buffer.subarray(parsed.consumed);
      this.responses.push(parsed.response);
      if (parsed.response.status >= 200) this.methods.shift();
    }
  }
}

/** One response from the front of `buffer`, or undefined when it is not whole yet. */
export function parseResponse(buffer: Buffer, method: string, closed: boolean): { response: WireResponse; consumed: number } | undefined {
  const headEnd = buffer.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const lines = buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
  const statusLine = lines[0] ?? '';
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
  const headers = lines.slice(1).map((line): [string, string] => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon), line.slice(colon + 1).trim()];
  });
  const find = (name: string) => headers.find(([n]) => n.toLowerCase() === name)?.[1];
  const start = headEnd + 4;
  const done = (framing: Framing, body: Buffer, consumed: number) => ({ response: { statusLine, status, headers, framing, body }, consumed });
  if (status < 200 || status === 204 || status === 304 || method === 'HEAD') return done('none', Buffer.alloc(0), start);
  if (/chunked/i.test(find('transfer-encoding') ?? '')) {
    const parts: Buffer[] = [];
    let offset = start;
    for (let guard = 0; guard < 1_000_000; guard++) {
      const lineEnd = buffer.indexOf('\r\n', offset);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buffer.subarray(offset, lineEnd).toString('latin1'), 16);
      if (size === 0) {
        const trailerEnd = buffer.indexOf('\r\n\r\n', lineEnd);
        if (trailerEnd < 0) return undefined;
        return done('chunked', Buffer.concat(parts), trailerEnd + 4);
      }
      if (buffer.length < lineEnd + 2 + size + 2) return undefined;
      parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      offset = lineEnd + 2 + size + 2;
    }
    return undefined;
  }
  const length = find('content-length');
  if (length !== undefined) {
    const n = Number(length);
    if (buffer.length < start + n) return undefined;
    return done('length', Buffer.from(buffer.subarray(start, start + n)), start + n);
  }
  if (!closed) return undefined;
  return done('close', Buffer.from(buffer.subarray(start)), buffer.length);
}
