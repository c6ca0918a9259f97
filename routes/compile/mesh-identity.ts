// The gateway's own mesh identity, as the compiler sees it: a TLS Secret under a reserved name in the
// gateway's namespace. A config source (control/sources/mesh-identity.ts) issues it from the mesh CA and
// emits it again on every rotation, so ISTIO_MUTUAL clusters pick up a renewed certificate through the
// ordinary build → snapshot → pool-replacement path, and routes/ stays free of timers and files.

/** Reserved Secret name; a user Secret of this name in the gateway's namespace is the identity. */
export const MESH_IDENTITY_SECRET = 'gatehouse-mesh-identity';

/** Istio's default trust domain. */
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

/** `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`: what Istio's CA writes as the URI SAN. */
export function spiffeUri(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** Istio's SNI for ISTIO_MUTUAL clusters (`outbound_.<port>_.<subset>_.<host>`), what a sidecar's listener matches. */
export function istioMutualSni(port: number, subset: string, fqdn: string): string {
  return `outbound_.${port}_.${subset}_.${fqdn}`;
}
