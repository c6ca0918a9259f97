// A Generation is a Snapshot plus what the data plane derived from it at warm time (listener index,
// cluster runtimes, TLS contexts). It is what `current` points at; a request reads it once.
import type { FilterChain, Listener, Snapshot } from '../core/snapshot.js';
import type { ChainContext } from './tls/secure-contexts.js';
import type { ClusterSet } from './upstream/cluster-manager.js';

export interface Generation {
  readonly snapshot: Snapshot;
  /** Gateway server port → Listener. */
  readonly listeners: ReadonlyMap<number, Listener>;
  readonly clusters: ClusterSet;
  /** Server contexts for terminating chains whose secret is usable; absent means refuse the handshake. */
  readonly contexts: ReadonlyMap<FilterChain, ChainContext>;
}
