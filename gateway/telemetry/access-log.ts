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
  /** Where the text format may keep the end of its line between requests (one per connection), if anywhere. */
  readonly textTail: TextTail | undefined;
}

/**
 * The end of a text line, from UPSTREAM_HOST on: the same for every request of one connection to one
 * route and endpoint, so it is kept and compared field by field (the same strings, mostly the very same
 * objects) instead of being concatenated again for each line.
 */
export class TextTail {
  upstreamHost: string | undefined = undefined;
  upstreamCluster: string | undefined = undefined;
  upstreamLocalAddress: string | undefined = undefined;
  downstreamLocalAddress: string | undefined = undefined;
  downstreamRemoteAddress: string | undefined = undefined;
  requestedServerName: string | undefined = undefined;
  routeName: string | undefined = undefined;
  text: string | undefined = undefined;
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
    `"${dash(e.xForwardedFor)}" "${dash(e.userAgent)}" "${dash(e.requestId)}" "${dash(e.authority)}" ` +
    textTail(e)
  );
}

function textTail(e: AccessLogEntry): string {
  const kept = e.textTail;
  if (
    kept !== undefined &&
    kept.text !== undefined &&
    kept.upstreamHost === e.upstreamHost &&
    kept.upstreamCluster === e.upstreamCluster &&
    kept.routeName === e.routeName &&
    kept.requestedServerName === e.requestedServerName &&
    kept.downstreamRemoteAddress === e.downstreamRemoteAddress &&
    kept.downstreamLocalAddress === e.downstreamLocalAddress &&
    kept.upstreamLocalAddress === e.upstreamLocalAddress
  ) {
    return kept.text;
  }
  const text =
    `"${dash(e.upstreamHost)}" ${dash(logBytes(e.upstreamCluster))} ${dash(e.upstreamLocalAddress)} ${dash(e.downstreamLocalAddress)} ` +
    `${dash(e.downstreamRemoteAddress)} ${dash(logBytes(e.requestedServerName))} ${dash(logBytes(e.routeName))}\n`;
  if (kept !== undefined) {
    kept.upstreamHost = e.upstreamHost;
    kept.upstreamCluster = e.upstreamCluster;
    kept.routeName = e.routeName;
    kept.requestedServerName = e.requestedServerName;
    kept.downstreamRemoteAddress = e.downstreamRemoteAddress;
    kept.downstreamLocalAddress = e.downstreamLocalAddress;
    kept.upstreamLocalAddress = e.upstreamLocalAddress;
    kept.text = text;
  }
  return text;
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
