// Host/:authority handling at the edge. A Host that is not a plausible authority is a 400, never
// forwarded: it would otherwise reach host matching and upstream logs unchanged.

/**
 * Lower-cased host without port or trailing dot, or undefined when malformed. Accepts DNS names
 * (letters, digits, '-', '_', '.'), IPv4, and bracketed IPv6; an optional `:port` of digits.
 */
export function normalizeHost(authority: string | undefined): string | undefined {
  if (!authority) return undefined;
  const len = authority.length;
  if (len > 255 + 6) return undefined;
  let end = len;
  if (authority.charCodeAt(0) === 0x5b /* [ */) {
    const close = authority.indexOf(']');
    if (close < 0) return undefined;
    for (let i = 1; i < close; i++) {
      const c = authority.charCodeAt(i);
      if (!(isHex(c) || c === 0x3a /* : */ || c === 0x2e /* . */)) return undefined;
    }
    if (close + 1 < len && !isPort(authority, close + 1)) return undefined;
    return authority.slice(0, close + 1).toLowerCase();
  }
  const colon = authority.indexOf(':');
  if (colon >= 0) {
    if (!isPort(authority, colon)) return undefined;
    end = colon;
  }
  if (end > 0 && authority.charCodeAt(end - 1) === 0x2e /* . */) end--;
  if (end === 0) return undefined;
  let lower = true;
  for (let i = 0; i < end; i++) {
    const c = authority.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) lower = false;
    else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f)) return undefined;
  }
  const host = end === len ? authority : authority.slice(0, end);
  return lower ? host : host.toLowerCase();
}

/** The port written in an authority, or undefined. */
export function authorityPort(authority: string): string | undefined {
  const start = authority.charCodeAt(0) === 0x5b ? authority.indexOf(']') + 1 : 0;
  const colon = authority.indexOf(':', start);
  return colon >= 0 ? authority.slice(colon + 1) : undefined;
}

function isPort(s: string, colon: number): boolean {
  if (s.charCodeAt(colon) !== 0x3a || colon + 1 >= s.length || s.length - colon > 6) return false;
  for (let i = colon + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}
