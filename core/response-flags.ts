// Envoy's response flags, so access logs and the istio_requests_total response_flags label read as
// they do under Istio. Only the flags Gatehouse can raise are listed.
export const ResponseFlag = {
  NONE: '-',
  /** No route configured for the request (404). */
  NO_ROUTE: 'NR',
  /** The route names a cluster that does not exist. */
  NO_CLUSTER: 'NC',
  /** The cluster has no healthy upstream hosts. */
  NO_HEALTHY_UPSTREAM: 'UH',
  /** Connecting to the upstream failed. */
  UPSTREAM_CONNECTION_FAILURE: 'UF',
  /** The upstream reset the connection before/while responding. */
  UPSTREAM_RESET: 'UR',
  /** The upstream connection was closed or reset mid-response. */
  UPSTREAM_CONNECTION_TERMINATION: 'UC',
  /** Upstream overflow (circuit breaker). */
  UPSTREAM_OVERFLOW: 'UO',
  /** The route timeout elapsed. */
  UPSTREAM_REQUEST_TIMEOUT: 'UT',
  /** Retries exhausted. */
  UPSTREAM_RETRY_LIMIT_EXCEEDED: 'URX',
  /** The upstream's response could not be parsed. */
  UPSTREAM_PROTOCOL_ERROR: 'UPE',
  /** The downstream went away before the response was complete. */
  DOWNSTREAM_CONNECTION_TERMINATION: 'DC',
  /** The downstream sent something the gateway could not parse. */
  DOWNSTREAM_PROTOCOL_ERROR: 'DPE',
  /** Rate limited. */
  RATE_LIMITED: 'RL',
  /** Denied by external or local authorization. */
  UNAUTHORIZED: 'UAEX',
  /** Refused by the overload guard (Envoy's overload manager). */
  OVERLOAD_MANAGER: 'OM',
  /** Answered by a direct response or redirect configured on the route. */
  DIRECT_RESPONSE: 'DR',
} as const;

export type ResponseFlagValue = (typeof ResponseFlag)[keyof typeof ResponseFlag];
