// An HTTP/1 response written straight to its connection's socket: the head is serialised once into a
// string, sent with the first body bytes (or the end) in one corked write, and framed as node's
// ServerResponse would frame it (Content-Length as given, else chunked for HTTP/1.1, else close-delimited),
// so a client cannot tell the two servers apart. Header names and values are checked as node checks them:
// a CR or LF from an upstream or a config value must never split the response.
import { STATUS_CODES, type OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { putLatin1 } from '../latin1.js';

/** Told about the response's life: the proxy core's Exchange. */
export interface ResponseObserver {
  /** The response ended (written whole) or was cut off with its connection: once. */
  finish(): void;
  /** The socket drained after a write returned false. */
  resume(): void;
}

/** The connection side a response needs. */
export interface ResponseOwner {
  readonly socket: Socket;
  /** ` Connection: keep-alive` and `Keep-Alive: timeout=N` lines for this server. */
  readonly keepAliveLines: string;
  /** The socket is closed or closing: nothing more can be written. */
  readonly writeClosed: boolean;
  responseEnded(res: Http1Response): void;
  destroy(): void;
}

const TOKEN = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
const CRLF_LAST_CHUNK = Buffer.from('\r\n0\r\n\r\n', 'latin1');

export class Http1Response {
  statusCode = 200;
  headersSent = false;
  writableEnded = false;
  /** Written whole to the socket (no `'finish'` wait: the connection knows when it handed the bytes over). */
  writableFinished = false;
  /** False: the connection closes after this response (set by the proxy core while draining). */
  shouldKeepAlive: boolean;
  observer: ResponseObserver | undefined = undefined;
  /** The connection closes once this response is written. */
  last = false;
  /** A write returned false: the observer is told when the socket drains. */
  needDrain = false;
  /** The head, serialised and not yet written (sent with the first body bytes). */
  private head: Buffer | undefined = undefined;
  private chunked = false;
  /** Whether this response may carry a body (not for HEAD, 1xx, 204 and 304). */
  private bodyAllowed: boolean;
  private cut = false;

  constructor(
    private readonly owner: ResponseOwner,
    private readonly headRequest: boolean,
    /** The client speaks HTTP/1.1 (chunked framing may be used). */
    private readonly http11: boolean,
    keepAlive: boolean,
  ) {
    this.shouldKeepAlive = keepAlive;
    this.bodyAllowed = !headRequest;
  }

  get destroyed(): boolean {
    return this.cut || this.owner.writeClosed;
  }

  /**
   * Headers as a flat `[name, value, …]` list (the proxy path) or a record (local replies). A list's
   * names and values are not checked again: the proxy core builds it from what undici's parser accepted
   * from the upstream (llhttp refuses the names and values node would refuse, test/gateway/
   * http1-server.test.ts), config validation accepted (header operations) and constants. A record's are
   * checked as node checks them.
   */
  writeHead(status: number, headers?: readonly (string | Buffer)[] | OutgoingHttpHeaders): this {
    if (this.headersSent) throw codedError('ERR_HTTP_HEADERS_SENT', 'Cannot write headers after they are sent to the client');
    if (!(status >= 100 && status <= 999)) throw codedError('ERR_HTTP_INVALID_STATUS_CODE', `Invalid status code: ${status}`);
    const fields = new HeadFields();
    if (headers !== undefined) {
      if (Array.isArray(headers)) {
        const list = headers as readonly (string | Buffer)[];
        for (let i = 0; i + 1 < list.length; i += 2) fields.add(list[i] as string, list[i + 1] as string | Buffer);
      } else {
        const record = headers as OutgoingHttpHeaders;
        for (const name in record) {
          const value = record[name];
          if (value === undefined) continue;
          if (Array.isArray(value)) for (const v of value) fields.checkedAdd(name, v);
          else fields.checkedAdd(name, typeof value === 'string' ? value : String(value));
        }
      }
    }
    this.statusCode = status;
    if (status < 200 || status === 204 || status === 304) this.bodyAllowed = false;
    let tail = fields.date ? '' : `Date: ${httpDate()}\r\n`;
    if (fields.closes) this.last = true;
    if (!fields.connection) {
      if (this.shouldKeepAlive && !this.last && (fields.contentLength || this.http11 || !this.bodyAllowed)) tail += this.owner.keepAliveLines;
      else {
        this.last = true;
        tail += 'Connection: close\r\n';
      }
    } else if (!this.shouldKeepAlive) this.last = true;
    if (this.bodyAllowed && !fields.contentLength && !fields.transferEncoding) {
      if (this.http11) {
        tail += 'Transfer-Encoding: chunked\r\n';
        this.chunked = true;
      } else this.last = true;
    }
    this.head = fields.serialize(statusLine(status), `${tail}\r\n`);
    this.headersSent = true;
    return this;
  }

  write(chunk: Buffer | string): boolean {
    if (this.writableEnded || this.destroyed) return false;
    if (!this.headersSent) this.writeHead(this.statusCode);
    if (!this.bodyAllowed) return true;
    const length = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    if (length === 0) return true;
    const socket = this.owner.socket;
    const head = this.head;
    let ok: boolean;
    if (this.chunked) {
      this.head = undefined;
      socket.cork();
      if (head !== undefined) socket.write(head);
      socket.write(`${length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      ok = socket.write(CRLF);
      socket.uncork();
    } else if (head !== undefined) {
      this.head = undefined;
      socket.cork();
      socket.write(head);
      ok = socket.write(chunk);
      socket.uncork();
    } else ok = socket.write(chunk);
    if (!ok) this.needDrain = true;
    return ok;
  }

  end(chunk?: Buffer | string): void {
    if (this.writableEnded) return;
    if (!this.headersSent) this.writeHead(this.statusCode);
    this.writableEnded = true;
    if (this.destroyed) return;
    const socket = this.owner.socket;
    const head = this.head;
    this.head = undefined;
    const body = this.bodyAllowed && chunk !== undefined && chunk.length > 0 ? chunk : undefined;
    if (body === undefined) {
      if (this.chunked) {
        if (head === undefined) socket.write(LAST_CHUNK);
        else {
          socket.cork();
          socket.write(head);
          socket.write(LAST_CHUNK);
          socket.uncork();
        }
      } else if (head !== undefined) socket.write(head);
    } else if (this.chunked) {
      socket.cork();
      if (head !== undefined) socket.write(head);
      socket.write(`${(typeof body === 'string' ? Buffer.byteLength(body) : body.length).toString(16)}\r\n`, 'latin1');
      socket.write(body);
      socket.write(CRLF_LAST_CHUNK);
      socket.uncork();
    } else if (head !== undefined) {
      socket.cork();
      socket.write(head);
      socket.write(body);
      socket.uncork();
    } else socket.write(body);
    this.writableFinished = true;
    this.owner.responseEnded(this);
  }

  /** Cuts the response off: its connection is destroyed (a client must see it was not whole). */
  destroy(): void {
    if (this.cut) return;
    this.cut = true;
    this.owner.destroy();
  }
}

/**
 * The header lines of one head and what the framing needs to know of them. Values are strings (the
 * gateway's own, local replies) or the upstream's raw bytes, copied into the head as they came: a value
 * is never made a string only to be encoded back.
 */
class HeadFields {
  private readonly names: string[] = [];
  private readonly values: (string | Buffer)[] = [];
  /** Bytes of the header lines so far. */
  private bytes = 0;
  contentLength = false;
  transferEncoding = false;
  connection = false;
  closes = false;
  date = false;

  checkedAdd(name: string, value: string): void {
    checkHeaderField(name, value);
    this.add(name, value);
  }

  add(name: string, value: string | Buffer): void {
    this.names.push(name);
    this.values.push(value);
    this.bytes += name.length + value.length + 4;
    switch (name.length) {
      case 4:
        if (name === 'date' || name.toLowerCase() === 'date') this.date = true;
        break;
      case 10:
        if (name === 'connection' || name.toLowerCase() === 'connection') {
          this.connection = true;
          if ((typeof value === 'string' ? value : value.toString('latin1')).toLowerCase().includes('close')) this.closes = true;
        }
        break;
      case 14:
        if (name === 'content-length' || name.toLowerCase() === 'content-length') this.contentLength = true;
        break;
      case 17:
        if (name === 'transfer-encoding' || name.toLowerCase() === 'transfer-encoding') this.transferEncoding = true;
        break;
    }
  }

  /** The whole head: the status line, each field as `name: value`, then `tail` (its last lines and the blank line). */
  serialize(status: Buffer, tail: string): Buffer {
    const head = Buffer.allocUnsafe(status.length + this.bytes + tail.length);
    head.set(status, 0);
    let p = status.length;
    const names = this.names;
    const values = this.values;
    for (let i = 0; i < names.length; i++) {
      p = putLatin1(head, p, names[i] as string);
      head[p++] = 0x3a; // :
      head[p++] = 0x20;
      const value = values[i] as string | Buffer;
      if (typeof value === 'string') p = putLatin1(head, p, value);
      else {
        head.set(value, p);
        p += value.length;
      }
      head[p++] = 0x0d;
      head[p++] = 0x0a;
    }
    putLatin1(head, p, tail);
    return head;
  }
}

/** Throws, as node's writeHead does, for a header name that is not a token or a value with control characters. */
export function checkHeaderField(name: string, value: string): void {
  if (!TOKEN.test(name)) throw codedError('ERR_INVALID_HTTP_TOKEN', `Header name must be a valid HTTP token ["${name}"]`);
  if (INVALID_VALUE.test(value)) throw codedError('ERR_INVALID_CHAR', `Invalid character in header content ["${name}"]`);
}

function codedError(code: string, message: string): Error & { code: string } {
  const err = new Error(message) as Error & { code: string };
  err.code = code;
  return err;
}

const STATUS_LINES: Buffer[] = [];

function statusLine(status: number): Buffer {
  return (STATUS_LINES[status] ??= Buffer.from(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`, 'latin1'));
}

let dateSecond = -1;
let dateText = '';

/** The IMF-fixdate of now, made once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}
