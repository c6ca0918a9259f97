// node's own HTTP/1 parser (llhttp, compiled into node), as node:http drives it. node:http puts an
// IncomingMessage stream and a ServerResponse stream around every request (about a fifth of a bare
// proxy's CPU per request, docs/performance.md); Gatehouse's HTTP/1 server drives the same parser with
// the same strictness itself. The binding is reached through node's `_http_common` module, which is not
// a documented API: its shape is checked here, and without it the listeners fall back to node's server.
import { createRequire } from 'node:module';

/** What llhttp's execute returns for bytes it refuses: node's error with the llhttp code (HPE_*). */
export interface ParseError extends Error {
  readonly code: string;
  readonly bytesParsed: number;
  readonly reason?: string;
}

/**
 * The callbacks node's binding makes, by slot. `this` is the parser. Headers arrive in one flat
 * `[name, value, …]` array with the head (kOnHeadersComplete) unless the head is large or spans reads;
 * then the parts come first through kOnHeaders and kOnHeadersComplete gets `undefined` for them.
 */
export interface NativeParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | ParseError;
  close(): void;
  /** Reads the socket's handle in C++, calling kOnExecute after each read instead of a JS 'data' event. */
  consume(handle: object): void;
  unconsume(): void;
  /** The read being parsed, while kOnExecute runs. */
  getCurrentBuffer(): Buffer;
  [slot: number]: unknown;
}

export interface ParserBinding {
  readonly HTTPParser: new () => NativeParser;
  /** llhttp's method names, by the index kOnHeadersComplete passes. */
  readonly methods: readonly string[];
  readonly REQUEST: number;
  readonly kOnMessageBegin: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  readonly kOnExecute: number;
  readonly kLenientNone: number;
}

let loaded: ParserBinding | null | undefined;

/** node's parser binding, or undefined when this node does not have it in the shape Gatehouse drives. */
export function parserBinding(): ParserBinding | undefined {
  if (loaded !== undefined) return loaded ?? undefined;
  loaded = null;
  try {
    const common = createRequire(import.meta.url)('_http_common') as { HTTPParser?: Record<string, unknown> & (new () => NativeParser); methods?: string[] };
    const P = common.HTTPParser;
    const methods = common.methods;
    if (typeof P !== 'function' || !Array.isArray(methods)) return undefined;
    const slots = ['kOnMessageBegin', 'kOnHeaders', 'kOnHeadersComplete', 'kOnBody', 'kOnMessageComplete', 'kOnExecute', 'REQUEST', 'kLenientNone'] as const;
    if (slots.some((k) => typeof P[k] !== 'number')) return undefined;
    for (const m of ['initialize', 'execute', 'close', 'consume', 'unconsume', 'getCurrentBuffer'] as const) if (typeof (P.prototype as Record<string, unknown>)[m] !== 'function') return undefined;
    loaded = {
      HTTPParser: P,
      methods,
      REQUEST: P.REQUEST as number,
      kOnMessageBegin: P.kOnMessageBegin as number,
      kOnHeaders: P.kOnHeaders as number,
      kOnHeadersComplete: P.kOnHeadersComplete as number,
      kOnBody: P.kOnBody as number,
      kOnMessageComplete: P.kOnMessageComplete as number,
      kOnExecute: P.kOnExecute as number,
      kLenientNone: P.kLenientNone as number,
    };
  } catch {
    loaded = null;
  }
  return loaded ?? undefined;
}
