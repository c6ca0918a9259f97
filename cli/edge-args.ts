// `gatehouse serve` flags for the edge's limits and header policy (gateway/edge-policy.ts holds the
// defaults and why). Kept apart from args.ts so the list of limits can grow without touching it.
import { ErrCode, GatehouseError } from '../core/errors.js';
import { DEFAULT_EDGE_POLICY as D, type EdgePolicy, type PathNormalization, type UnderscoreHeaderAction } from '../gateway/edge-policy.js';

export const EDGE_FLAGS = [
  'max-request-headers-kb', 'max-request-headers', 'max-uri-bytes', 'request-headers-timeout', 'request-timeout',
  'idle-timeout', 'tls-handshake-timeout', 'max-connections', 'max-connections-per-listener', 'max-concurrent-streams',
  'max-stream-resets-per-second', 'headers-with-underscores', 'xff-trusted-hops', 'path-normalization',
  'overload-heap-ratio', 'overload-event-loop-lag', 'hsts',
] as const;

export const EDGE_USAGE = `
 edge limits (Envoy's edge recommendations; over a limit: 431, 414, 408, or the connection is closed)
  --max-request-headers-kb N          request line + headers, KiB (default ${D.maxRequestHeaderBytes / 1024})
  --max-request-headers N             header fields per request (default ${D.maxRequestHeaders})
  --max-uri-bytes N                   request target length (default ${D.maxUriBytes})
  --request-headers-timeout D         time to receive the request headers (default ${D.headersTimeoutMs / 1000}s)
  --request-timeout D                 time to receive the whole request, 0 for none (default ${D.requestTimeoutMs / 1000}s)
  --idle-timeout D                    keep-alive idle time of a client connection (default ${D.idleTimeoutMs / 1000}s)
  --tls-handshake-timeout D           time from accept to the end of the TLS handshake (default ${D.tlsHandshakeTimeoutMs / 1000}s)
  --max-connections N                 client connections across all listeners (default ${D.maxConnections})
  --max-connections-per-listener N    client connections per listener (default ${D.maxConnectionsPerListener})
  --max-concurrent-streams N          HTTP/2 streams per connection (default ${D.maxConcurrentStreams})
  --max-stream-resets-per-second N    HTTP/2 client stream resets before the connection is closed (default ${D.maxStreamResetsPerSecond})
  --headers-with-underscores A        reject (400), drop or allow (default ${D.underscoreHeaders})
  --xff-trusted-hops N                proxies in front whose X-Forwarded-For is trusted (default ${D.trustedHops})
  --path-normalization P              NONE, BASE, MERGE_SLASHES or DECODE_AND_MERGE_SLASHES (default ${D.pathNormalization})
  --overload-heap-ratio R             used/limit heap at which new work is refused (503), 0..1 (default ${D.overloadHeapRatio})
  --overload-event-loop-lag D         event-loop delay at which new work is refused (default ${D.overloadEventLoopLagMs}ms)
  --hsts 'max-age=N[; includeSubDomains][; preload]'
                                      Strict-Transport-Security added to HTTPS responses that have none (default off)
`;

function usage(message: string): never {
  throw new GatehouseError(ErrCode.USAGE, message);
}

function count(flag: string, v: string, min: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > 2 ** 31 - 1) usage(`--${flag}: expected a whole number ≥ ${min}, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** RFC 6797 section 6.1 directives: max-age required, includeSubDomains and preload optional, each once. */
function hstsValue(flag: string, v: string): string {
  const directives = v.split(';').map((d) => d.trim()).filter((d) => d !== '');
  const seen = new Set<string>();
  const out: string[] = [];
  for (const d of directives) {
    const m = /^(max-age)\s*=\s*"?(\d{1,10})"?$|^(includesubdomains|preload)$/i.exec(d);
    const name = (m?.[1] ?? m?.[3])?.toLowerCase();
    if (!m || !name || seen.has(name)) usage(`--${flag}: expected 'max-age=N[; includeSubDomains][; preload]', got ${JSON.stringify(v)}`);
    seen.add(name);
    out.push(name === 'max-age' ? `max-age=${m[2]}` : name === 'includesubdomains' ? 'includeSubDomains' : 'preload');
  }
  if (!seen.has('max-age')) usage(`--${flag}: max-age is required, got ${JSON.stringify(v)}`);
  return out.join('; ');
}

/** The edge options given on the command line; unset ones take the gateway's defaults. */
export function parseEdgeArgs(
  flags: ReadonlyMap<string, readonly string[]>,
  parseDurationMs: (flag: string, v: string) => number,
): Partial<EdgePolicy> {
  const edge: { -readonly [K in keyof EdgePolicy]?: EdgePolicy[K] } = {};
  for (const name of EDGE_FLAGS) {
    const values = flags.get(name);
    if (!values) continue;
    if (values.length > 1) usage(`--${name} given more than once`);
    const v = values[0] as string;
    switch (name) {
      case 'max-request-headers-kb': edge.maxRequestHeaderBytes = count(name, v, 1) * 1024; break;
      case 'max-request-headers': edge.maxRequestHeaders = count(name, v, 1); break;
      case 'max-uri-bytes': edge.maxUriBytes = count(name, v, 1); break;
      case 'request-headers-timeout': edge.headersTimeoutMs = Math.max(1, parseDurationMs(`--${name}`, v)); break;
      case 'request-timeout': edge.requestTimeoutMs = parseDurationMs(`--${name}`, v); break;
      case 'idle-timeout': edge.idleTimeoutMs = Math.max(1, parseDurationMs(`--${name}`, v)); break;
      case 'tls-handshake-timeout': edge.tlsHandshakeTimeoutMs = Math.max(1, parseDurationMs(`--${name}`, v)); break;
      case 'max-connections': edge.maxConnections = count(name, v, 1); break;
      case 'max-connections-per-listener': edge.maxConnectionsPerListener = count(name, v, 1); break;
      case 'max-concurrent-streams': edge.maxConcurrentStreams = count(name, v, 1); break;
      case 'max-stream-resets-per-second': edge.maxStreamResetsPerSecond = count(name, v, 1); break;
      case 'headers-with-underscores':
        if (v !== 'reject' && v !== 'drop' && v !== 'allow') usage(`--${name}: expected reject, drop or allow, got ${JSON.stringify(v)}`);
        edge.underscoreHeaders = v satisfies UnderscoreHeaderAction;
        break;
      case 'xff-trusted-hops': edge.trustedHops = count(name, v, 0); break;
      case 'overload-heap-ratio': {
        const r = Number(v);
        if (!/^\d*\.?\d+$/.test(v) || r <= 0 || r > 1) usage(`--${name}: expected a ratio in (0, 1], got ${JSON.stringify(v)}`);
        edge.overloadHeapRatio = r;
        break;
      }
      case 'overload-event-loop-lag': edge.overloadEventLoopLagMs = Math.max(1, parseDurationMs(`--${name}`, v)); break;
      case 'hsts': edge.hsts = hstsValue(name, v); break;
      case 'path-normalization': {
        const p = v.toUpperCase();
        if (p !== 'NONE' && p !== 'BASE' && p !== 'MERGE_SLASHES' && p !== 'DECODE_AND_MERGE_SLASHES') {
          usage(`--${name}: expected NONE, BASE, MERGE_SLASHES or DECODE_AND_MERGE_SLASHES, got ${JSON.stringify(v)}`);
        }
        edge.pathNormalization = p satisfies PathNormalization;
        break;
      }
    }
  }
  return edge;
}
