// The catalogue of configuration diagnostic codes. A code is stable once shipped: users grep for it.
// Severity is decided where the diagnostic is raised (the same code can be a warning in one place).

export const CfgCode = {
  /** A config file or folder could not be read, or the config directory is missing. */
  READ: 'GH_CFG_READ',
  /** A build stage threw: a bug in Gatehouse, reported as a rejection rather than a crash. */
  INTERNAL: 'GH_CFG_INTERNAL',
  /** The file is not YAML, or a document in it is malformed. */
  YAML: 'GH_CFG_YAML',
  /** A document has no apiVersion/kind, or they are not strings. */
  NO_KIND: 'GH_CFG_NO_KIND',
  /** A kind Gatehouse does not read; ignored. */
  UNKNOWN_KIND: 'GH_CFG_UNKNOWN_KIND',
  /** A field Gatehouse does not know in a kind it reads; ignored. */
  UNKNOWN_FIELD: 'GH_CFG_UNKNOWN_FIELD',
  /** A field of the wrong type (string for a number, map for a list, ...). */
  TYPE: 'GH_CFG_TYPE',
  /** A required field is missing or empty. */
  REQUIRED: 'GH_CFG_REQUIRED',
  /** A value outside what the field allows (enum, range, syntax). */
  VALUE: 'GH_CFG_VALUE',
  /** metadata.name missing or not a DNS label. */
  NAME: 'GH_CFG_NAME',
  /** Two resources with the same kind, namespace and name. */
  DUPLICATE: 'GH_CFG_DUPLICATE',
  /** A regular expression that does not compile. */
  REGEX: 'GH_CFG_REGEX',
  /** A VirtualService names a Gateway that does not exist. */
  GATEWAY_NOT_FOUND: 'GH_CFG_GATEWAY_NOT_FOUND',
  /** A route names a subset that no DestinationRule defines. */
  SUBSET_NOT_FOUND: 'GH_CFG_SUBSET_NOT_FOUND',
  /** A destination host that no ServiceEntry or Service defines. */
  HOST_NOT_FOUND: 'GH_CFG_HOST_NOT_FOUND',
  /** A credentialName whose Secret does not exist in the gateway's namespace. */
  SECRET_NOT_FOUND: 'GH_CFG_SECRET_NOT_FOUND',
  /** A Secret that cannot serve: bad PEM, key not matching the certificate, expired, missing keys. */
  SECRET_INVALID: 'GH_CFG_SECRET_INVALID',
  /** A Secret's `tls.ocsp-staple` that cannot be stapled (unparsable, unsuccessful, another certificate, expired); none is sent. */
  OCSP_STAPLE: 'GH_CFG_OCSP_STAPLE',
  /** Two servers or routes that claim the same thing; the loser is named. */
  CONFLICT: 'GH_CFG_CONFLICT',
  /** A value Gatehouse parses but does not act on yet. */
  UNSUPPORTED: 'GH_CFG_UNSUPPORTED',
  /** A resource that has no effect at this gateway (no matching selector, no bound host). */
  UNUSED: 'GH_CFG_UNUSED',
  /** The gateway has no mesh identity (its CA could not be loaded): ISTIO_MUTUAL upstreams cannot be reached. */
  MESH_IDENTITY: 'GH_CFG_MESH_IDENTITY',
  /** A Secret changed into something unusable; its last good version keeps serving. */
  SECRET_KEPT: 'GH_CFG_SECRET_KEPT',
} as const;

export type CfgCodeValue = (typeof CfgCode)[keyof typeof CfgCode];
