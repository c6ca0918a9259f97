// Runtime errors that cross module boundaries carry a stable GH_ERR_* code. Configuration problems are
// Diagnostics (core/diagnostics.ts), not exceptions.

export const ErrCode = {
  USAGE: 'GH_ERR_USAGE',
  CONFIG_DIR: 'GH_ERR_CONFIG_DIR',
  LISTEN: 'GH_ERR_LISTEN',
  NO_SNAPSHOT: 'GH_ERR_NO_SNAPSHOT',
  CERT: 'GH_ERR_CERT',
  /** CA material that cannot be loaded: unreadable or partial state directory, PEM that does not parse. */
  CA: 'GH_ERR_CA',
  /** The CA private key does not belong to the CA certificate. */
  CA_KEY_MISMATCH: 'GH_ERR_CA_KEY_MISMATCH',
  /** The CA certificate is not a CA (basicConstraints CA:false or absent). */
  CA_NOT_CA: 'GH_ERR_CA_NOT_CA',
  /** The CA certificate does not chain to the given root certificate(s). */
  CA_CHAIN: 'GH_ERR_CA_CHAIN',
  /** The CA certificate (or a certificate on its chain) is expired or not yet valid. */
  CA_EXPIRED: 'GH_ERR_CA_EXPIRED',
  /** A CA key Gatehouse cannot sign with: node-forge signs RSA only, so an ECDSA CA key is refused. */
  CA_KEY_UNSUPPORTED: 'GH_ERR_CA_KEY_UNSUPPORTED',
  /** A SPIFFE ID (or the trust domain, namespace or service account it is built from) that is not valid. */
  SPIFFE_ID: 'GH_ERR_SPIFFE_ID',
  /** A snapshot message from the primary that is not in this build's wire format (core/snapshot-codec.ts). */
  SNAPSHOT_WIRE: 'GH_ERR_SNAPSHOT_WIRE',
} as const;

export type ErrCodeValue = (typeof ErrCode)[keyof typeof ErrCode];

export class GatehouseError extends Error {
  readonly code: ErrCodeValue;
  constructor(code: ErrCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatehouseError';
    this.code = code;
  }
}
