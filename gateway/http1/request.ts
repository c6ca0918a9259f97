// An HTTP/1 request as the proxy core reads it: the fields of node's IncomingMessage that Gatehouse
// uses, without being a stream. Only a request that has a body gets one (RequestBody), made when its
// head is parsed; a GET costs one object and its header record.
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { requestHeaderKey } from './header-names.js';

/** What a request body asks of its connection: more bytes once its reader wants them. */
export interface BodySource {
  resumeBody(): void;
}

/**
 * A request body as it arrives, for undici to stream upstream. Backpressure reaches the socket: a full
 * buffer pauses reading, a read resumes it.
 */
export class RequestBody extends Readable {
  constructor(private readonly source: BodySource) {
    super();
  }

  override _read(): void {
    this.source.resumeBody();
  }
}

export class Http1Request {
  readonly httpVersion: string;
  /** Whether the whole message (body included) has been parsed. */
  complete = false;
  /** The body stream; null for a request without one. */
  body: RequestBody | null = null;
  /** Body bytes received so far (the access log's BYTES_RECEIVED when no Content-Length was sent). */
  bodyBytes = 0;

  constructor(
    readonly method: string,
    readonly url: string,
    readonly headers: IncomingHttpHeaders,
    readonly rawHeaders: string[],
    readonly httpVersionMajor: number,
    readonly httpVersionMinor: number,
    readonly socket: Socket,
  ) {
    this.httpVersion = httpVersionMinor === 1 && httpVersionMajor === 1 ? '1.1' : `${httpVersionMajor}.${httpVersionMinor}`;
  }
}

/** Whether an HTTP/1 head announces a body: any Transfer-Encoding, or a Content-Length other than 0. */
export function announcesBody(headers: IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

/**
 * The header record node's IncomingMessage would give for these raw headers: names lower-cased,
 * repeated set-cookie kept as an array, repeated cookie joined with '; ', the fields that can only be
 * single keeping their first value, any other repeated field joined with ', '.
 */
export function headerRecord(raw: readonly string[]): IncomingHttpHeaders {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = requestHeaderKey(raw[i] as string);
    const value = raw[i + 1] as string;
    const existing = headers[name];
    if (existing === undefined) {
      headers[name] = name === 'set-cookie' ? [value] : value;
    } else if (name === 'set-cookie') {
      (existing as string[]).push(value);
    } else if (name === 'cookie') {
      headers[name] = `${existing as string}; ${value}`;
    } else if (!SINGLE_VALUED.has(name)) {
      headers[name] = `${existing as string}, ${value}`;
    }
  }
  return headers as IncomingHttpHeaders;
}

/** Fields whose repeats node drops (its IncomingMessage matchKnownFields). */
const SINGLE_VALUED = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after',
  'server', 'user-agent',
]);
