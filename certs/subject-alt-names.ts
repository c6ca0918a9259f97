// Subject alternative names: node's text rendering parsed back into values, and matching with the
// semantics Envoy applies to Istio's `subjectAltNames`. Pure functions, no certificate parsing.
import { isIP } from 'node:net';

export type SubjectAltNameType = 'DNS' | 'IP' | 'URI' | 'email' | 'other';

export interface SubjectAltName {
  readonly type: SubjectAltNameType;
  readonly value: string;
}

/**
 * Parses node's rendering of subjectAltName, as in `X509Certificate.subjectAltName` and a peer
 * certificate's `subjectaltname`: `DNS:a, IP Address:10.0.0.1, URI:"spiffe://x\u002cy"`. Node quotes a
 * value as a JSON string when it holds a separator, so splitting on ", " alone would cut such URIs apart.
 */
export function parseSubjectAltNameText(text: string | undefined): SubjectAltName[] {
  const out: SubjectAltName[] = [];
  if (!text) return out;
  let i = 0;
  // Each iteration consumes at least one character, so the loop ends.
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const label = text.slice(i, colon).trim();
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      const end = closingQuote(text, colon + 2);
      const raw = text.slice(colon + 1, end + 1);
      try {
        value = JSON.parse(raw) as string;
      } catch {
        value = raw.slice(1, -1);
      }
      next = text.indexOf(', ', end + 1);
    } else {
      next = text.indexOf(', ', colon + 1);
      value = text.slice(colon + 1, next < 0 ? text.length : next);
    }
    out.push({ type: sanType(label), value: label === 'IP Address' ? canonicalIp(value) : value });
    i = next < 0 ? text.length : next + 2;
  }
  return out;
}

function closingQuote(text: string, from: number): number {
  for (let j = from; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j;
  }
  return text.length - 1;
}

function sanType(label: string): SubjectAltNameType {
  switch (label) {
    case 'DNS':
      return 'DNS';
    case 'IP Address':
      return 'IP';
    case 'URI':
      return 'URI';
    case 'email':
      return 'email';
    default:
      return 'other';
  }
}

/**
 * One spelling per address, so `::1` in a DestinationRule equals node's `0:0:0:0:0:0:0:1`: IPv6 as eight
 * lower-case hex groups without leading zeros. Anything that is not an IP address is returned unchanged.
 */
export function canonicalIp(value: string): string {
  const family = isIP(value);
  if (family !== 6) return value;
  let text = value.toLowerCase();
  // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two hex groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16).toString(16)).join(':');
}

/**
 * True when any expected name matches any SAN of the certificate, as Envoy checks Istio's
 * `subjectAltNames` (exact matchers): URIs and e-mail exactly; IPs after canonicalising both sides; DNS
 * names case-insensitively, where a certificate SAN `*.example.com` covers exactly one label
 * (`a.example.com`, not `example.com` nor `a.b.example.com`). A wildcard in the expected list is literal.
 * An empty expected list matches nothing: callers decide whether "no SANs configured" means "any peer".
 */
export function matchesSubjectAltNames(sans: readonly SubjectAltName[], expected: readonly string[]): boolean {
  for (const want of expected) {
    for (const san of sans) {
      if (sanMatches(san, want)) return true;
    }
  }
  return false;
}

function sanMatches(san: SubjectAltName, want: string): boolean {
  switch (san.type) {
    case 'DNS':
      return dnsNameMatches(san.value, want);
    case 'IP':
      return isIP(want) !== 0 && canonicalIp(want) === canonicalIp(san.value);
    default:
      return san.value === want;
  }
}

/** Envoy's `dnsNameMatch`: `pattern` is the certificate's SAN, `name` the configured one. */
export function dnsNameMatches(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  const n = name.toLowerCase();
  if (p === n) return true;
  if (p.length > 2 && p.startsWith('*.')) {
    const suffix = p.slice(1);
    if (n.length <= suffix.length || !n.endsWith(suffix)) return false;
    return !n.slice(0, n.length - suffix.length).includes('.');
  }
  return false;
}
