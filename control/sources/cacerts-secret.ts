// Istio's `cacerts` Secret, as the mesh identity source reads it from what the other config sources hold:
// in the gateway's namespace, keys `ca-cert.pem`, `ca-key.pem`, `root-cert.pem`, `cert-chain.pem` (istiod's
// plug-in CA), or cert-manager's `tls.crt`, `tls.key`, `ca.crt` (istiod reads those too). Only the PEM
// text is extracted here; certs/ judges it. Nothing here logs or returns the key outside the material.
import { createHash } from 'node:crypto';
import type { IstioCacerts } from '../../certs/authority.js';
import type { SourceRef } from '../../core/diagnostics.js';
import { secretData } from '../../routes/compile/secrets.js';
import type { SecretResource } from '../../routes/model/index.js';
import type { Located } from '../../routes/model/resource.js';

/** istiod's plug-in CA Secret name. */
export const CACERTS_SECRET = 'cacerts';

export interface CacertsSecret {
  /** `Secret/<namespace>/cacerts`, for diagnostics. */
  readonly resource: string;
  readonly source: SourceRef;
  /** sha256 of the data: an unchanged Secret re-emitted by its source is not a new CA. */
  readonly digest: string;
  /** The PEM text, or why the Secret does not hold the keys a CA needs. */
  readonly material: IstioCacerts | { readonly missing: string };
}

/** The `cacerts` Secret in `namespace` among `resources`, if there is one. */
export function findCacertsSecret(resources: readonly Located[], namespace: string): CacertsSecret | undefined {
  for (const r of resources) {
    const meta = r.object.metadata;
    if (r.object.kind !== 'Secret' || meta.name !== CACERTS_SECRET || meta.namespace !== namespace) continue;
    const data = secretData(r.object as SecretResource);
    const digest = createHash('sha256')
      .update(JSON.stringify(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))))
      .digest('hex');
    return { resource: `Secret/${namespace}/${CACERTS_SECRET}`, source: r.origin.at('data'), digest, material: material(data) };
  }
  return undefined;
}

function material(data: Record<string, string>): CacertsSecret['material'] {
  if (data['ca-cert.pem'] || data['ca-key.pem']) {
    const missing = ['ca-cert.pem', 'ca-key.pem', 'root-cert.pem'].filter((k) => !data[k]);
    if (missing.length > 0) return { missing: missing.join(', ') };
    return {
      caCertPem: data['ca-cert.pem'] as string,
      caKeyPem: data['ca-key.pem'] as string,
      rootCertPem: data['root-cert.pem'] as string,
      ...(data['cert-chain.pem'] ? { certChainPem: data['cert-chain.pem'] } : {}),
    };
  }
  // cert-manager's layout: tls.crt is the intermediate (possibly followed by its chain), ca.crt the root.
  const missing = ['tls.crt', 'tls.key', 'ca.crt'].filter((k) => !data[k]);
  if (missing.length === 3) return { missing: 'ca-cert.pem, ca-key.pem, root-cert.pem (or tls.crt, tls.key, ca.crt)' };
  if (missing.length > 0) return { missing: missing.join(', ') };
  return { caCertPem: data['tls.crt'] as string, caKeyPem: data['tls.key'] as string, rootCertPem: data['ca.crt'] as string, certChainPem: data['tls.crt'] as string };
}
