// security.istio.io resources the compiler reads. PeerAuthentication decides, for a destination without
// an explicit DestinationRule TLS mode, whether the gateway must originate Istio mutual TLS (auto mTLS).
import type { KubeObject } from './resource.js';

export type PeerAuthenticationMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

export interface PeerAuthenticationResource extends KubeObject {
  kind: 'PeerAuthentication';
  spec?: {
    selector?: { matchLabels?: Record<string, string> };
    mtls?: { mode?: PeerAuthenticationMode };
    /** Keyed by the workload's (target) port number, as text; only honoured with a selector, as in Istio. */
    portLevelMtls?: Record<string, { mode?: PeerAuthenticationMode }>;
  };
}
