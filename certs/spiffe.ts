// SPIFFE IDs in Istio's shape: spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>.
import { ErrCode, GatehouseError } from '../core/errors.js';

export interface WorkloadIdentity {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

// SPIFFE spec: trust domain is lower-case letters, digits, '.', '-', '_'. Kubernetes: a namespace is a
// DNS-1123 label, a service account name a DNS-1123 subdomain. Anything else cannot be a real workload,
// and refusing it here keeps '/' or '..' from smuggling extra path segments into an ID.
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function spiffeId(identity: WorkloadIdentity): string {
  checkIdentity(identity);
  return `spiffe://${identity.trustDomain}/ns/${identity.namespace}/sa/${identity.serviceAccount}`;
}

/** The identity in an Istio workload SPIFFE ID; throws GH_ERR_SPIFFE_ID for anything else. */
export function parseSpiffeId(uri: string): WorkloadIdentity {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  if (!m) throw new GatehouseError(ErrCode.SPIFFE_ID, `not a workload SPIFFE ID (spiffe://<trust-domain>/ns/<ns>/sa/<sa>): ${JSON.stringify(uri)}`);
  const identity = { trustDomain: m[1]!, namespace: m[2]!, serviceAccount: m[3]! };
  checkIdentity(identity);
  return identity;
}

export function isTrustDomain(value: string): boolean {
  return TRUST_DOMAIN.test(value) && !value.startsWith('.') && !value.endsWith('.');
}

function checkIdentity({ trustDomain, namespace, serviceAccount }: WorkloadIdentity): void {
  if (!isTrustDomain(trustDomain)) {
    throw new GatehouseError(ErrCode.SPIFFE_ID, `trust domain ${JSON.stringify(trustDomain)}: lower-case letters, digits, '.', '-' and '_' only`);
  }
  if (!DNS_LABEL.test(namespace)) {
    throw new GatehouseError(ErrCode.SPIFFE_ID, `namespace ${JSON.stringify(namespace)} is not a DNS-1123 label`);
  }
  if (serviceAccount.length > 253 || !DNS_SUBDOMAIN.test(serviceAccount)) {
    throw new GatehouseError(ErrCode.SPIFFE_ID, `service account ${JSON.stringify(serviceAccount)} is not a DNS-1123 subdomain`);
  }
}
