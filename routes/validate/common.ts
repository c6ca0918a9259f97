// Checks and schemas shared by several kinds: names, hosts, durations, regexes, ports, header operations.
import { CfgCode } from '../../core/codes.js';
import type { Check, ObjectSchema } from './schema.js';
import { any, int, isRecord, label, list, map, obj, required, str } from './schema.js';
import { compileRegex } from '../compile/string-match.js';

const DNS_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS_LABEL_RE = new RegExp(`^${DNS_LABEL}$`);
const DNS_SUBDOMAIN_RE = new RegExp(`^${DNS_LABEL}(\\.${DNS_LABEL})*$`);
// Host names are case-insensitive; Istio accepts upper case and lower-cases when matching. isHostname
// scans for what this says: /^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*\.?$/
const IPV6_RE = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$/;

export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && DNS_LABEL_RE.test(s);
}

export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && DNS_SUBDOMAIN_RE.test(s);
}

/**
 * The pattern above with every label at most 63 characters, as one scan: no label list per host (hosts are
 * checked once per route destination, 50,000 times at scale).
 */
function isHostname(s: string): boolean {
  const n = s.length;
  if (n === 0 || n > 253) return false;
  // One trailing dot (a rooted name) is allowed; it ends no label.
  const end = s.charCodeAt(n - 1) === DOT ? n - 1 : n;
  let start = 0;
  for (let i = 0; i <= end; i++) {
    const c = i === end ? DOT : s.charCodeAt(i);
    if (c === DOT) {
      const len = i - start;
      if (len === 0 || len > 63 || !isAlphanumeric(s.charCodeAt(start)) || !isAlphanumeric(s.charCodeAt(i - 1))) return false;
      start = i + 1;
    } else if (c !== HYPHEN && !isAlphanumeric(c)) {
      return false;
    }
  }
  return true;
}

const DOT = 46;
const HYPHEN = 45;

function isAlphanumeric(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** `*`, `*.suffix`, or a DNS name: what Gateway and VirtualService hosts may say. */
export function isWildcardHostname(s: string): boolean {
  if (s === '*') return true;
  return isHostname(s.startsWith('*.') ? s.slice(2) : s);
}

// ----- checks ---------------------------------------------------------------------------------------

export const checkResourceName: Check<string> = (v, ctx, path) => {
  if (!isDnsSubdomain(v)) {
    ctx.error(
      CfgCode.NAME,
      `${label(path)} ${JSON.stringify(v)} is not a valid Kubernetes name (lower-case letters, digits, '-' and '.', at most 253 characters)`,
      path,
    );
  }
};

export const checkNamespace: Check<string> = (v, ctx, path) => {
  if (!isDnsLabel(v)) {
    ctx.error(CfgCode.NAME, `namespace ${JSON.stringify(v)} is not a valid DNS label`, path);
  }
};

/** VirtualService/DestinationRule/ServiceEntry hosts: wildcard names, short names, FQDNs, or IPs. */
export const checkServiceHost: Check<string> = (v, ctx, path) => {
  if (!isWildcardHostname(v) && !IPV6_RE.test(v)) {
    ctx.error(CfgCode.VALUE, `${label(path)} ${JSON.stringify(v)} is not a valid host (a DNS name, "*" or "*.suffix")`, path);
  }
};

// Go's time.ParseDuration syntax, which Istio's durations accept: `1s`, `500ms`, `1.5s`, `2m`, `1h30m`.
const DURATION_RE = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

export const checkDuration: Check<string> = (v, ctx, path) => {
  if (v !== '0' && !DURATION_RE.test(v)) {
    ctx.error(CfgCode.VALUE, `${label(path)} must be a duration such as 1s, 500ms, 1.5s, 2m or 1h, got ${JSON.stringify(v)}`, path);
  }
};

/**
 * Gatehouse evaluates Istio's (RE2) regexes with JavaScript RegExp, so they must compile there; the check
 * compiles them exactly as compile will (a leading RE2 `(?i)` becomes the `i` flag).
 */
export const checkRegex: Check<string> = (v, ctx, path) => {
  // Istio's own limits: an empty regex is a mistake, and Envoy's RE2 program size is bounded by length.
  if (v === '') {
    ctx.error(CfgCode.REGEX, `${label(path)} must not be empty`, path);
    return;
  }
  if (v.length > 1024) {
    ctx.error(CfgCode.REGEX, `${label(path)} is ${v.length} characters long; at most 1024 are allowed`, path);
    return;
  }
  try {
    compileRegex(v);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    ctx.error(CfgCode.REGEX, `${label(path)} ${JSON.stringify(v)} is not a valid regular expression: ${why}`, path);
  }
};

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Standard base64 with padding, as Kubernetes stores Secret data; line breaks are ignored, as Go does. */
export function isBase64(v: string): boolean {
  const s = v.replace(/[\r\n]/g, '');
  return s.length % 4 === 0 && BASE64_RE.test(s);
}

export const checkBase64: Check<string> = (v, ctx, path) => {
  if (!isBase64(v)) ctx.error(CfgCode.VALUE, `${label(path)} is not valid base64`, path);
};

const PROTOCOLS = ['HTTP', 'HTTPS', 'HTTP2', 'GRPC', 'GRPC-WEB', 'HTTP_PROXY', 'TCP', 'TLS', 'UDP', 'MONGO', 'MYSQL', 'REDIS'];

/** Istio port protocols are case-insensitive names. */
export const checkProtocol: Check<string> = (v, ctx, path) => {
  if (!PROTOCOLS.includes(v.toUpperCase())) {
    ctx.error(CfgCode.VALUE, `${label(path)} must be one of ${PROTOCOLS.join(', ')}, got ${JSON.stringify(v)}`, path);
  }
};

// ----- schemas --------------------------------------------------------------------------------------

export const portNumber = int({ min: 1, max: 65535 });
export const stringMap = map(str());
export const stringList = list(str());
export const duration = str({ check: checkDuration });

export const objectMeta: ObjectSchema = obj(
  'ObjectMeta',
  {
    name: str({ check: checkResourceName }),
    namespace: str({ check: checkNamespace }),
    labels: stringMap,
    annotations: stringMap,
    creationTimestamp: str(),
    generateName: str(),
    resourceVersion: str(),
    uid: str(),
    generation: int(),
  },
  { open: true },
);

export const stringMatch = obj(
  'StringMatch',
  { exact: str(), prefix: str(), regex: str({ check: checkRegex }) },
  { oneOf: [['exact', 'prefix', 'regex']] },
);

/**
 * What a header operation may name and set: an HTTP token and a value an HTTP/1 response can carry
 * (no control characters but HT, so never a CR or LF that would split it). Envoy refuses the rest at
 * config load; the data path writes these as they are (gateway/http1/response.ts).
 */
const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

const checkHeaderName: Check<string> = (v, ctx, path) => {
  if (!HTTP_TOKEN.test(v)) ctx.error(CfgCode.VALUE, `${label(path)} must be an HTTP header name (a token), got ${JSON.stringify(v)}`, path);
};

const checkHeaderValues: Check<Record<string, unknown>> = (v, ctx, path) => {
  for (const name in v) {
    const at = [...path, name];
    if (!HTTP_TOKEN.test(name)) ctx.error(CfgCode.VALUE, `${label(at)}: ${JSON.stringify(name)} is not an HTTP header name (a token)`, at);
    const value = v[name];
    if (typeof value === 'string' && INVALID_HEADER_VALUE.test(value)) {
      ctx.error(CfgCode.VALUE, `${label(at)} must not contain control characters (CR, LF, NUL…), got ${JSON.stringify(value)}`, at);
    }
  }
};

const headerValues = map(str(), { check: checkHeaderValues });

export const headerOperations = obj('HeaderOperations', { set: headerValues, add: headerValues, remove: list(str({ check: checkHeaderName })) });
export const headers = obj('Headers', { request: headerOperations, response: headerOperations });

export const portSelector = obj('PortSelector', { number: portNumber });

export const destination = obj('Destination', {
  host: required(str({ check: checkServiceHost })),
  subset: str(),
  port: portSelector,
});

export const workloadSelector = obj('WorkloadSelector', { matchLabels: stringMap });

/** Istio's policy `targetRef(s)`: a Gateway API style reference, read but not used by Gatehouse. */
export const policyTargetReference = obj('PolicyTargetReference', {
  group: str(),
  kind: required(str()),
  name: required(str()),
  namespace: str(),
});

/** The envelope of an Istio kind: `spec` as given, plus the fields every object has. */
export function istioObject(kind: string, spec: ObjectSchema, specRequired = true): ObjectSchema {
  return obj(kind, {
    apiVersion: str(),
    kind: str(),
    metadata: objectMeta,
    spec: specRequired ? required(spec) : spec,
    status: any(),
  });
}

export { isRecord };
