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
}

export type AccessLogFormat = 'text' | 'json' | 'off';

/** Where finished requests are logged: JSON lines as strings, TEXT entries encoded by the sink. */
export interface AccessLogSink {
  /** One formatted line, a latin1 string (see logBytes). */
  write(line: string): void;
  /** One entry in Istio's TEXT format. */
  writeText(entry: AccessLogEntry): void;
}

/** A sink over a function taking whole lines (tests, and anything that wants strings). */
export function lineSink(write: (line: string) => void): AccessLogSink {
  return { write, writeText: (entry) => write(formatText(entry)) };
}

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

function dash(v: string | number | undefined): string | number {
  return v === undefined || v === '' ? '-' : v;
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

export function formatText(e: AccessLogEntry): string {
  return (
    `[${isoTime(e.startTime)}] "${e.method} ${e.path} ${e.protocol}" ${e.responseCode} ${e.responseFlags} ` +
    `${dash(e.responseCodeDetails)} ${dash(e.connectionTerminationDetails)} "${dash(logBytes(e.upstreamTransportFailureReason))}" ` +
    `${e.bytesReceived} ${e.bytesSent} ${Math.round(e.durationMs)} ${dash(e.upstreamServiceTimeMs)} ` +
    `"${dash(e.xForwardedFor)}" "${dash(e.userAgent)}" "${dash(e.requestId)}" "${dash(e.authority)}" "${dash(e.upstreamHost)}" ` +
    `${dash(logBytes(e.upstreamCluster))} ${dash(e.upstreamLocalAddress)} ${dash(e.downstreamLocalAddress)} ${dash(e.downstreamRemoteAddress)} ` +
    `${dash(logBytes(e.requestedServerName))} ${dash(logBytes(e.routeName))}\n`
  );
}

/**
 * formatText's line written straight into `buf` from `at`, byte for byte what `formatText` gives in latin1
 * (test/gateway/access-log-encode.test.ts holds them equal). Building the line as a string made a cons
 * string of ~50 pieces that the latin1 write then flattened: ~12 k instructions a request, the largest
 * single cost the gateway adds to the floor (bench/instructions.mjs). Returns the offset after the line,
 * or -1 when it does not fit in `buf` (nothing past `at` is meaningful then).
 */
export function encodeText(e: AccessLogEntry, buf: Buffer, at: number): number {
  at = putWire(buf, at, '[');
  at = putWire(buf, at, isoTime(e.startTime));
  at = putWire(buf, at, '] "');
  at = putWire(buf, at, e.method);
  at = putWire(buf, at, ' ');
  at = putWire(buf, at, e.path);
  at = putWire(buf, at, ' ');
  at = putWire(buf, at, e.protocol);
  at = putWire(buf, at, '" ');
  at = putInt(buf, at, e.responseCode);
  at = putWire(buf, at, ' ');
  at = putWire(buf, at, e.responseFlags);
  at = putWire(buf, at, ' ');
  at = putDashed(buf, at, e.responseCodeDetails);
  at = putWire(buf, at, ' ');
  at = putDashed(buf, at, e.connectionTerminationDetails);
  at = putWire(buf, at, ' "');
  at = putDashedText(buf, at, e.upstreamTransportFailureReason);
  at = putWire(buf, at, '" ');
  at = putInt(buf, at, e.bytesReceived);
  at = putWire(buf, at, ' ');
  at = putInt(buf, at, e.bytesSent);
  at = putWire(buf, at, ' ');
  at = putInt(buf, at, Math.round(e.durationMs));
  at = putWire(buf, at, ' ');
  at = e.upstreamServiceTimeMs === undefined ? putWire(buf, at, '-') : putInt(buf, at, e.upstreamServiceTimeMs);
  at = putWire(buf, at, ' "');
  at = putDashed(buf, at, e.xForwardedFor);
  at = putWire(buf, at, '" "');
  at = putDashed(buf, at, e.userAgent);
  at = putWire(buf, at, '" "');
  at = putDashed(buf, at, e.requestId);
  at = putWire(buf, at, '" "');
  at = putDashed(buf, at, e.authority);
  at = putWire(buf, at, '" "');
  at = putDashed(buf, at, e.upstreamHost);
  at = putWire(buf, at, '" ');
  at = putDashedText(buf, at, e.upstreamCluster);
  at = putWire(buf, at, ' ');
  at = putDashed(buf, at, e.upstreamLocalAddress);
  at = putWire(buf, at, ' ');
  at = putDashed(buf, at, e.downstreamLocalAddress);
  at = putWire(buf, at, ' ');
  at = putDashed(buf, at, e.downstreamRemoteAddress);
  at = putWire(buf, at, ' ');
  at = putDashedText(buf, at, e.requestedServerName);
  at = putWire(buf, at, ' ');
  at = putDashedText(buf, at, e.routeName);
  return putWire(buf, at, '\n');
}

/** Text off the wire: one byte per character, as a latin1 write stores it (the low byte). */
function putWire(buf: Buffer, at: number, s: string): number {
  const n = s.length;
  if (at < 0 || at + n > buf.length) return -1;
  for (let i = 0; i < n; i++) buf[at + i] = s.charCodeAt(i);
  return at + n;
}

function putDashed(buf: Buffer, at: number, s: string | undefined): number {
  return putWire(buf, at, s === undefined || s === '' ? '-' : s);
}

/** Text from config or error messages: its UTF-8 bytes (logBytes). */
function putDashedText(buf: Buffer, at: number, s: string | undefined): number {
  if (s === undefined || s === '') return putWire(buf, at, '-');
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      if (at < 0 || at + Buffer.byteLength(s, 'utf8') > buf.length) return -1;
      return at + buf.write(s, at, 'utf8');
    }
  }
  return putWire(buf, at, s);
}

/** A count in decimal, as String(n) writes it; digits without a string for the usual integers. */
function putInt(buf: Buffer, at: number, n: number): number {
  if (!(n >= 0 && n <= 0xffffffff && n === Math.floor(n))) return putWire(buf, at, String(n));
  let digits = 1;
  for (let v = n; v >= 10; v = Math.floor(v / 10)) digits++;
  if (at < 0 || at + digits > buf.length) return -1;
  let v = n;
  for (let i = at + digits - 1; i >= at; i--) {
    const q = Math.floor(v / 10);
    buf[i] = 0x30 + (v - q * 10);
    v = q;
  }
  return at + digits;
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
