// Runtime errors that cross module boundaries carry a stable GH_ERR_* code. Configuration problems are
// Diagnostics (core/diagnostics.ts), not exceptions.

export const ErrCode = {
  USAGE: 'GH_ERR_USAGE',
  CONFIG_DIR: 'GH_ERR_CONFIG_DIR',
  LISTEN: 'GH_ERR_LISTEN',
  NO_SNAPSHOT: 'GH_ERR_NO_SNAPSHOT',
  CERT: 'GH_ERR_CERT',
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
