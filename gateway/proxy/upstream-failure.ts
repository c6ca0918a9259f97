// What an upstream failure before the response means to the client, in Envoy's terms: status, response
// flag, RESPONSE_CODE_DETAILS and the local reply body Envoy would send.
import { ResponseFlag } from '../../core/response-flags.js';

export interface UpstreamFailure {
  readonly status: number;
  readonly flag: string;
  readonly details: string;
  readonly body: string;
}

/** Connect-phase failures: the upstream was never reached (503 UF). */
const CONNECT_FAILURE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
]);

const RESET_BODY = 'upstream connect error or disconnect/reset before headers. reset reason: ';

const PROTOCOL_ERROR: UpstreamFailure = {
  status: 502,
  flag: ResponseFlag.UPSTREAM_PROTOCOL_ERROR,
  details: 'upstream_reset_before_response_started{protocol_error}',
  body: 'upstream protocol error',
};
const HEADERS_TIMEOUT: UpstreamFailure = { status: 504, flag: ResponseFlag.UPSTREAM_REQUEST_TIMEOUT, details: 'response_timeout', body: 'upstream request timeout' };
const REMOTE_RESET: UpstreamFailure = {
  status: 503,
  flag: ResponseFlag.UPSTREAM_RESET,
  details: 'upstream_reset_before_response_started{remote_reset}',
  body: `${RESET_BODY}remote reset`,
};
const TERMINATION: UpstreamFailure = {
  status: 503,
  flag: ResponseFlag.UPSTREAM_CONNECTION_TERMINATION,
  details: 'upstream_reset_before_response_started{connection_termination}',
  body: `${RESET_BODY}connection termination`,
};

/**
 * `connected` says whether undici had a connection for the request (onConnect ran): a failure before
 * that is a connection failure whatever its code.
 */
export function classifyUpstreamFailure(err: Error, connected: boolean, transportReason: string): UpstreamFailure {
  const code = (err as { code?: string }).code ?? '';
  if (!connected || CONNECT_FAILURE_CODES.has(code) || isTlsFailure(code)) {
    return {
      status: 503,
      flag: ResponseFlag.UPSTREAM_CONNECTION_FAILURE,
      details: 'upstream_reset_before_response_started{connection_failure}',
      body: `${RESET_BODY}connection failure, transport failure reason: ${transportReason}`,
    };
  }
  if (err.name === 'HTTPParserError' || code.startsWith('HPE_') || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return PROTOCOL_ERROR;
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return HEADERS_TIMEOUT;
  if (code === 'ECONNRESET') return REMOTE_RESET;
  return TERMINATION;
}

export function errorText(err: Error): string {
  const code = (err as { code?: string }).code;
  return code ? `${code}: ${err.message}` : err.message;
}

function isTlsFailure(code: string): boolean {
  return code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT') || code.startsWith('UNABLE_TO');
}
