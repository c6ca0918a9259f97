// Request path normalisation before routing and policy, as Istio's meshConfig.pathNormalization
// configures Envoy: what the route table and authorization see is what the upstream receives, so a
// path cannot match one rule at the gateway and mean another thing behind it.
//   NONE                       only the path of an absolute-form target is taken
//   BASE (Istio's default)     RFC 3986 §6.2.2: percent-encoded unreserved characters decoded, other
//                              escapes' hex upper-cased, `\` → `/`, dot segments removed
//   MERGE_SLASHES              BASE, then `//` → `/`
//   DECODE_AND_MERGE_SLASHES   MERGE_SLASHES, with %2F and %5C decoded to `/` first
// In every mode but NONE, a fragment is dropped, and these are refused (undefined → 400): a malformed
// or NUL escape, and a dot segment carrying `;` parameters (`/..;/`), which servlet containers treat
// as a dot segment after the gateway has routed on it.
import type { PathNormalization } from '../edge-policy.js';

const HEX = '0123456789ABCDEF';
const SLASH_RUN = /\/{2,}/g;

/** The normalised origin-form path of a request target without its query, or undefined: refuse. */
export function normalizeRequestPath(raw: string, mode: PathNormalization): string | undefined {
  if (raw.charCodeAt(0) !== 0x2f /* / */) {
    if (raw === '*') return raw;
    const scheme = raw.indexOf('://');
    if (scheme < 0) return undefined;
    let slash = -1;
    for (let i = scheme + 3; i < raw.length; i++) {
      const c = raw.charCodeAt(i);
      if (c === 0x2f || c === 0x23 /* # */) {
        slash = c === 0x2f ? i : -1;
        break;
      }
    }
    return slash < 0 ? '/' : normalizeRequestPath(raw.slice(slash), mode);
  }
  if (mode === 'NONE') return raw;
  // The common path needs no work: one scan for the characters that could change it.
  const merge = mode !== 'BASE';
  let needsWork = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25 /* % */ || c === 0x5c /* \ */ || c === 0x23 /* # */ || c === 0x3b /* ; */) {
      needsWork = true;
      break;
    }
    if (c === 0x2f && i + 1 < raw.length) {
      const next = raw.charCodeAt(i + 1);
      if (next === 0x2e /* . */ || (merge && next === 0x2f)) {
        needsWork = true;
        break;
      }
    }
  }
  return needsWork ? canonicalise(raw, mode) : raw;
}

function canonicalise(raw: string, mode: PathNormalization): string | undefined {
  const hash = raw.indexOf('#');
  const input = hash < 0 ? raw : raw.slice(0, hash);
  const decodeSlashes = mode === 'DECODE_AND_MERGE_SLASHES';
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c === 0x5c) {
      out += '/';
      continue;
    }
    if (c !== 0x25) {
      out += input[i];
      continue;
    }
    const hi = hexValue(input.charCodeAt(i + 1));
    const lo = hexValue(input.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return undefined;
    const byte = hi * 16 + lo;
    i += 2;
    if (byte === 0) return undefined;
    if (isUnreserved(byte)) out += String.fromCharCode(byte);
    else if (decodeSlashes && (byte === 0x2f || byte === 0x5c)) out += '/';
    else out += `%${HEX[hi]}${HEX[lo]}`;
  }
  if (mode !== 'BASE') out = out.replace(SLASH_RUN, '/');
  return removeDotSegments(out);
}

/** RFC 3986 §5.2.4 on an absolute path; undefined for a dot segment with parameters. */
function removeDotSegments(path: string): string | undefined {
  if (path.indexOf('/.') < 0) return path;
  const segments = path.split('/');
  const out: string[] = [];
  const last = segments.length - 1;
  for (let i = 1; i <= last; i++) {
    const s = segments[i] as string;
    if (s === '.' || s === '..') {
      if (s === '..') out.pop();
      if (i === last) out.push('');
    } else if (s.startsWith('.;') || s.startsWith('..;')) return undefined;
    else out.push(s);
  }
  return `/${out.join('/')}`;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** RFC 3986 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
}
