// Request header names as the header record's keys. A name off the wire is a new string each time;
// lower-casing it makes another, and a record keyed by strings V8 has not internalized pays a string
// table lookup on every load and store (~1 k instructions a header, measured). The names clients send
// most are matched here in the two spellings they come in and given as this module's own constants,
// which V8 interned when it loaded them; node's IncomingMessage does the same (matchKnownFields).

const COMMON_REQUEST_HEADERS = [
  'accept', 'accept-charset', 'accept-encoding', 'accept-language', 'authorization', 'b3', 'cache-control', 'connection',
  'content-encoding', 'content-length', 'content-type', 'cookie', 'dnt', 'expect', 'forwarded', 'grpc-accept-encoding',
  'grpc-encoding', 'grpc-timeout', 'host', 'if-modified-since', 'if-none-match', 'keep-alive', 'origin', 'pragma',
  'priority', 'proxy-authorization', 'proxy-connection', 'range', 'referer', 'sec-ch-ua', 'sec-ch-ua-mobile',
  'sec-ch-ua-platform', 'sec-fetch-dest', 'sec-fetch-mode', 'sec-fetch-site', 'sec-fetch-user', 'sec-websocket-extensions',
  'sec-websocket-key', 'sec-websocket-protocol', 'sec-websocket-version', 'te', 'traceparent', 'tracestate',
  'transfer-encoding', 'upgrade', 'upgrade-insecure-requests', 'user-agent', 'x-b3-parentspanid', 'x-b3-sampled',
  'x-b3-spanid', 'x-b3-traceid', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-proto',
  'x-real-ip', 'x-request-id', 'x-requested-with',
];

interface KnownName {
  /** The record key: lower case, interned. */
  readonly lower: string;
  /** The spelling HTTP/1.1 clients mostly use: each word capitalised (User-Agent). */
  readonly capitalised: string;
}

const KNOWN_BY_LENGTH: (readonly KnownName[] | undefined)[] = [];
for (const lower of COMMON_REQUEST_HEADERS) {
  const capitalised = lower.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
  ((KNOWN_BY_LENGTH[lower.length] ??= []) as KnownName[]).push({ lower, capitalised });
}

/** The lower-case record key for a header name as it came off the wire; a common one as an interned constant. */
export function requestHeaderKey(raw: string): string {
  const known = KNOWN_BY_LENGTH[raw.length];
  if (known === undefined) return raw.toLowerCase();
  for (let i = 0; i < known.length; i++) {
    const k = known[i] as KnownName;
    if (raw === k.lower || raw === k.capitalised) return k.lower;
  }
  const lower = raw.toLowerCase();
  for (let i = 0; i < known.length; i++) {
    const k = known[i] as KnownName;
    if (lower === k.lower) return k.lower;
  }
  return lower;
}
