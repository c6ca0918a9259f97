// Access log lines in Istio's default formats. TEXT is Istio's default format string:
//   [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
//   %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%
//   "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
//   %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
//   "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW%
//   %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%
//   %REQUESTED_SERVER_NAME% %ROUTE_NAME%
// JSON uses Istio's default JSON keys for the same operators. Missing values are '-' in TEXT and
// null in JSON, as Envoy prints them.

import { putLatin1 } from '../latin1.js';
import type { LineRoom } from './stdout-sink.js';

export interface AccessLogEntry {
  readonly startTime: number;
  readonly method: string;
  readonly path: string;
  /** 'HTTP/1.1', 'HTTP/2'. */
  readonly protocol: string;
  readonly responseCode: number;
  readonly responseFlags: string;
  readonly responseCodeDetails: string;
  readonly connectionTerminationDetails: string | undefined;
  readonly upstreamTransportFailureReason: string | undefined;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly durationMs: number;
  readonly upstreamServiceTimeMs: number | undefined;
  readonly xForwardedFor: string | undefined;
  readonly userAgent: string | undefined;
  readonly requestId: string | undefined;
  readonly authority: string | undefined;
  readonly upstreamHost: string | undefined;
  readonly upstreamCluster: string | undefined;
  readonly upstreamLocalAddress: string | undefined;
  readonly downstreamLocalAddress: string | undefined;
  readonly downstreamRemoteAddress: string | undefined;
  readonly requestedServerName: string | undefined;
  readonly routeName: string | undefined;
  /** Where the text format may keep the end of its line between requests (one per connection), if anywhere. */
  readonly textTail: TextTail | undefined;
}

/**
 * The end of a text line, from UPSTREAM_HOST on: the same for every request of one connection to one
 * route and endpoint, so its bytes are kept and compared field by field (the same strings, mostly the
 * very same objects) instead of being written again for each line.
 */
export class TextTail {
  upstreamHost: string | undefined = undefined;
  upstreamCluster: string | undefined = undefined;
  upstreamLocalAddress: string | undefined = undefined;
  downstreamLocalAddress: string | undefined = undefined;
  downstreamRemoteAddress: string | undefined = undefined;
  requestedServerName: string | undefined = undefined;
  routeName: string | undefined = undefined;
  bytes: Buffer | undefined = undefined;
}

export type AccessLogFormat = 'text' | 'json' | 'off';

export function formatAccessLog(format: 'text' | 'json', e: AccessLogEntry): string {
  return format === 'json' ? formatJson(e) : formatText(e);
}

/**
 * Envoy's START_TIME (ISO 8601, milliseconds, UTC). Thousands of requests share a second, so the
 * date-and-time part is formatted once per second and only the milliseconds are appended per line.
 */
let isoSecond = -1;
let isoPrefix = '';
const MILLIS = Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(3, '0')}Z`);

export function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  return isoPrefix + (MILLIS[ms - second * 1000] as string);
}

/**
 * Text that did not come off the wire (config names, error messages) as its UTF-8 bytes in a latin1
 * string, the form every line is written in (stdout-sink.ts); request-derived text already is.
 */
export function logBytes(v: string | undefined): string | undefined {
  if (v === undefined) return v;
  for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) > 0x7f) return Buffer.from(v, 'utf8').toString('latin1');
  return v;
}

// --- the text format, written as bytes ---
// A line is written byte by byte into the sink's batch: making it a string first (a rope of some forty
// pieces, flattened again to be copied out) cost more than the rest of the log together.

const DASH = 0x2d;
const SPACE = 0x20;
const QUOTE = 0x22;
/** Room for any number as JavaScript prints it (e.g. -1.2345678901234567e-308) and the separator after it. */
const NUMBER_ROOM = 26;
/** The line's fixed bytes (brackets, quotes, spaces, newline) and START_TIME, with a margin. */
const FIXED_ROOM = 96;

/** Writes `s` (latin1: one char a byte, as node decodes the wire) at `p`; '-' when it is empty. */
function putText(buf: Buffer, p: number, s: string | undefined): number {
  if (s === undefined || s.length === 0) {
    buf[p] = DASH;
    return p + 1;
  }
  return putLatin1(buf, p, s);
}

/** A field and the space after it. */
function putField(buf: Buffer, p: number, s: string | undefined): number {
  p = putText(buf, p, s);
  buf[p] = SPACE;
  return p + 1;
}

/** A quoted field (`"-"` when empty) and the space after it. */
function putQuoted(buf: Buffer, p: number, s: string | undefined): number {
  buf[p] = QUOTE;
  p = putText(buf, p + 1, s);
  buf[p] = QUOTE;
  buf[p + 1] = SPACE;
  return p + 2;
}

/** A number field and the space after it. */
function putNumberField(buf: Buffer, p: number, n: number): number {
  p = putNumber(buf, p, n);
  buf[p] = SPACE;
  return p + 1;
}

/** Writes a number in decimal at `p`, as String(n) would. */
function putNumber(buf: Buffer, p: number, n: number): number {
  if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n)) return putText(buf, p, String(n));
  if (n < 10) {
    buf[p] = 0x30 + n;
    return p + 1;
  }
  let digits = 1;
  for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
  let end = p + digits;
  for (let t = n; end > p; t = Math.floor(t / 10)) buf[--end] = 0x30 + (t % 10);
  return p + digits;
}

function textRoom(s: string | undefined): number {
  return s === undefined ? 1 : s.length + 1;
}

/** START_TIME's bytes up to the milliseconds, once per second. */
let isoPrefixSecond = -1;
const isoPrefixBytes = Buffer.alloc(20);

function putIsoTime(buf: Buffer, p: number, ms: number): number {
  const second = Math.floor(ms / 1000);
  if (second !== isoPrefixSecond) {
    isoPrefixSecond = second;
    isoPrefixBytes.write(new Date(second * 1000).toISOString(), 0, 20, 'latin1');
  }
  buf.set(isoPrefixBytes, p);
  const millis = ms - second * 1000;
  buf[p + 20] = 0x30 + Math.floor(millis / 100);
  buf[p + 21] = 0x30 + (Math.floor(millis / 10) % 10);
  buf[p + 22] = 0x30 + (millis % 10);
  buf[p + 23] = 0x5a; // Z
  return p + 24;
}

/** Writes one text line into `sink` (no string is made of it). */
export function writeTextLine(e: AccessLogEntry, sink: LineRoom): void {
  const transportFailure = logBytes(e.upstreamTransportFailureReason);
  const tail = textTailBytes(e);
  const max =
    FIXED_ROOM + 6 * NUMBER_ROOM + tail.length +
    textRoom(e.method) + textRoom(e.path) + textRoom(e.protocol) + textRoom(e.responseFlags) + textRoom(e.responseCodeDetails) +
    textRoom(e.connectionTerminationDetails) + textRoom(transportFailure) + textRoom(e.xForwardedFor) + textRoom(e.userAgent) +
    textRoom(e.requestId) + textRoom(e.authority);
  const buf = sink.room(max);
  let p = sink.used;
  buf[p++] = 0x5b; // [
  p = putIsoTime(buf, p, e.startTime);
  buf[p++] = 0x5d; // ]
  buf[p++] = SPACE;
  buf[p++] = QUOTE;
  p = putField(buf, p, e.method);
  p = putField(buf, p, e.path);
  p = putText(buf, p, e.protocol);
  buf[p++] = QUOTE;
  buf[p++] = SPACE;
  p = putNumberField(buf, p, e.responseCode);
  p = putField(buf, p, e.responseFlags);
  p = putField(buf, p, e.responseCodeDetails);
  p = putField(buf, p, e.connectionTerminationDetails);
  p = putQuoted(buf, p, transportFailure);
  p = putNumberField(buf, p, e.bytesReceived);
  p = putNumberField(buf, p, e.bytesSent);
  p = putNumberField(buf, p, Math.round(e.durationMs));
  if (e.upstreamServiceTimeMs === undefined) p = putField(buf, p, undefined);
  else p = putNumberField(buf, p, e.upstreamServiceTimeMs);
  p = putQuoted(buf, p, e.xForwardedFor);
  p = putQuoted(buf, p, e.userAgent);
  p = putQuoted(buf, p, e.requestId);
  p = putQuoted(buf, p, e.authority);
  buf.set(tail, p);
  sink.commit(p + tail.length);
}

/** The line's end from UPSTREAM_HOST on, with its newline: the connection's kept bytes when nothing changed. */
function textTailBytes(e: AccessLogEntry): Buffer {
  const kept = e.textTail;
  if (
    kept !== undefined &&
    kept.bytes !== undefined &&
    kept.upstreamHost === e.upstreamHost &&
    kept.upstreamCluster === e.upstreamCluster &&
    kept.routeName === e.routeName &&
    kept.requestedServerName === e.requestedServerName &&
    kept.downstreamRemoteAddress === e.downstreamRemoteAddress &&
    kept.downstreamLocalAddress === e.downstreamLocalAddress &&
    kept.upstreamLocalAddress === e.upstreamLocalAddress
  ) {
    return kept.bytes;
  }
  const bytes = Buffer.from(
    `"${dash(e.upstreamHost)}" ${dash(logBytes(e.upstreamCluster))} ${dash(e.upstreamLocalAddress)} ${dash(e.downstreamLocalAddress)} ` +
      `${dash(e.downstreamRemoteAddress)} ${dash(logBytes(e.requestedServerName))} ${dash(logBytes(e.routeName))}\n`,
    'latin1',
  );
  if (kept !== undefined) {
    kept.upstreamHost = e.upstreamHost;
    kept.upstreamCluster = e.upstreamCluster;
    kept.routeName = e.routeName;
    kept.requestedServerName = e.requestedServerName;
    kept.downstreamRemoteAddress = e.downstreamRemoteAddress;
    kept.downstreamLocalAddress = e.downstreamLocalAddress;
    kept.upstreamLocalAddress = e.upstreamLocalAddress;
    kept.bytes = bytes;
  }
  return bytes;
}

function dash(v: string | undefined): string {
  return v === undefined || v === '' ? '-' : v;
}

/** A one-line sink over a scratch buffer: the text format as a string, for sinks that take strings. */
class ScratchLine implements LineRoom {
  private buf = Buffer.allocUnsafe(4096);
  readonly used = 0;
  private end = 0;
  room(max: number): Buffer {
    if (max > this.buf.length) this.buf = Buffer.allocUnsafe(max);
    return this.buf;
  }
  commit(end: number): void {
    this.end = end;
  }
  take(): string {
    return this.buf.toString('latin1', 0, this.end);
  }
}

const scratch = new ScratchLine();

export function formatText(e: AccessLogEntry): string {
  writeTextLine(e, scratch);
  return scratch.take();
}

function orNull<T>(v: T | undefined): T | null {
  return v === undefined || v === '' ? null : v;
}

export function formatJson(e: AccessLogEntry): string {
  return (
    JSON.stringify({
      start_time: isoTime(e.startTime),
      method: e.method,
      path: e.path,
      protocol: e.protocol,
      response_code: e.responseCode,
      response_flags: e.responseFlags,
      response_code_details: orNull(e.responseCodeDetails),
      connection_termination_details: orNull(e.connectionTerminationDetails),
      upstream_transport_failure_reason: orNull(logBytes(e.upstreamTransportFailureReason)),
      bytes_received: e.bytesReceived,
      bytes_sent: e.bytesSent,
      duration: Math.round(e.durationMs),
      upstream_service_time: e.upstreamServiceTimeMs === undefined ? null : String(e.upstreamServiceTimeMs),
      x_forwarded_for: orNull(e.xForwardedFor),
      user_agent: orNull(e.userAgent),
      request_id: orNull(e.requestId),
      authority: orNull(e.authority),
      upstream_host: orNull(e.upstreamHost),
      upstream_cluster: orNull(logBytes(e.upstreamCluster)),
      upstream_local_address: orNull(e.upstreamLocalAddress),
      downstream_local_address: orNull(e.downstreamLocalAddress),
      downstream_remote_address: orNull(e.downstreamRemoteAddress),
      requested_server_name: orNull(logBytes(e.requestedServerName)),
      route_name: orNull(logBytes(e.routeName)),
    }) + '\n'
  );
}
