// The state a listener's request handler shares with the DataPlane: the live generation, drain
// state and telemetry. One object per DataPlane, created once.
import type { FilterChain } from '../core/snapshot.js';
import type { EdgePolicy } from './edge-policy.js';
import type { Generation } from './generation.js';
import type { RequestMetrics } from './telemetry/metrics.js';
import type { ByteLineSink, LineSink } from './telemetry/stdout-sink.js';

export interface PlaneState {
  current: Generation | undefined;
  draining: boolean;
  readonly metrics: RequestMetrics;
  readonly accessLogFormat: 'text' | 'json' | 'off';
  readonly accessLog: LineSink;
  /** The same sink when the text format may write a line's bytes into it, else undefined. */
  readonly accessLogBytes: ByteLineSink | undefined;
  readonly log: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
  /** Requests between arrival and the end of their response. */
  inFlight: number;
  /** Called when inFlight drops to zero (drain waits on it). */
  onIdle: (() => void) | undefined;
  /** Limits and header policy at the edge. */
  readonly edge: EdgePolicy;
  /** Open client connections across all listeners (for EdgePolicy.maxConnections). */
  connections: number;
  /** Set by the overload guard: new connections are closed and new requests get 503. */
  overloaded: boolean;
}

/** What a listener's handler knows without looking at the snapshot. */
export interface ListenerContext {
  /** Gateway server port (before --port-map). */
  readonly port: number;
  readonly scheme: 'http' | 'https';
  readonly plane: PlaneState;
}

/** Set on a terminated TLS socket at SNI time: the chain its requests use. */
export const kConnection = Symbol('gatehouse.connection');

export interface ConnectionInfo {
  readonly chain: FilterChain;
  readonly sni: string | undefined;
  /** Set after the handshake when the client presented a verified certificate (SANITIZE_SET, as Istio's gateways). */
  clientCert?: string;
}
