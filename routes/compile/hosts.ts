// Host names as Istio reads them: short-name resolution, `ns/host` server hosts, and wildcard subset rules.
// All comparisons are on lower-cased names: DNS is case-insensitive and Istio lower-cases vhost domains.

/**
 * Istio's ResolveShortnameToFQDN: a name without a dot is a Kubernetes Service in the referring
 * resource's namespace. `*` and anything dotted are taken as written.
 */
export function resolveShortname(name: string, namespace: string, domainSuffix: string): string {
  const lower = name.toLowerCase();
  if (lower === '*' || lower.includes('.')) return lower;
  return domainSuffix ? `${lower}.${namespace}.svc.${domainSuffix}` : `${lower}.${namespace}`;
}

export interface ServerHost {
  /** Namespace the host admits VirtualServices from; `*` admits any. */
  readonly namespace: string;
  /** Lower-cased host, possibly `*` or `*.suffix`. */
  readonly host: string;
}

/** `ns/host`, `./host` (the Gateway's namespace), `*\/host` or a bare host (any namespace). */
export function parseServerHost(raw: string, gatewayNamespace: string): ServerHost {
  const slash = raw.indexOf('/');
  if (slash < 0) return { namespace: '*', host: raw.toLowerCase() };
  const ns = raw.slice(0, slash);
  return { namespace: ns === '.' ? gatewayNamespace : ns, host: raw.slice(slash + 1).toLowerCase() };
}

export function isWildcard(host: string): boolean {
  return host.startsWith('*');
}

/**
 * Istio's host.Name.SubsetOf: every name `a` matches is also matched by `b`. A wildcard is never a subset
 * of an exact name; `*.a.com` is a subset of `*.com`; `*` covers everything.
 */
export function hostSubsetOf(a: string, b: string): boolean {
  if (b === '*') return true;
  if (isWildcard(b)) {
    const suffix = b.slice(1); // `.example.com`
    if (isWildcard(a)) return a === b || (a !== '*' && a.slice(1).endsWith(suffix));
    return a.length > suffix.length && a.endsWith(suffix);
  }
  return a === b;
}

/**
 * The hosts a set of server hosts and a set of VirtualService hosts have in common, each the more
 * specific of the pair (Istio's Names.Intersection): server `*.example.com` with VS `a.example.com` gives
 * `a.example.com`; server `*` with VS `*.org` gives `*.org`.
 * Server hosts arrive pre-split so exact VS hosts cost a hash lookup plus a scan of the (few) wildcards.
 */
export class HostSet {
  readonly exact = new Set<string>();
  readonly wildcards: string[] = [];
  readonly all: string[] = [];
  add(host: string): void {
    if (this.exact.has(host) || this.wildcards.includes(host)) return;
    this.all.push(host);
    if (isWildcard(host)) this.wildcards.push(host);
    else this.exact.add(host);
  }
  get size(): number {
    return this.all.length;
  }
  /** Appends to `out` (deduplicated through `seen`) the intersection of this set with `host`. */
  intersectInto(host: string, out: string[], seen: DedupSet): void {
    // No local closure for the push: one would capture `out` and `seen` in a context allocated on every
    // call (once per VirtualService and server).
    const wildcards = this.wildcards;
    if (!isWildcard(host)) {
      if (this.exact.has(host)) return pushNew(host, out, seen);
      for (let i = 0; i < wildcards.length; i++) if (hostSubsetOf(host, wildcards[i] as string)) return pushNew(host, out, seen);
      return;
    }
    for (let i = 0; i < wildcards.length; i++) {
      const w = wildcards[i] as string;
      if (hostSubsetOf(w, host)) pushNew(w, out, seen);
      else if (hostSubsetOf(host, w)) pushNew(host, out, seen);
    }
    for (const e of this.exact) if (hostSubsetOf(e, host)) pushNew(e, out, seen);
  }
}

function pushNew(h: string, out: string[], seen: DedupSet): void {
  if (!seen.has(h)) {
    seen.add(h);
    out.push(h);
  }
}

export function intersectHosts(server: HostSet | readonly HostSet[], vsHosts: readonly string[]): string[] {
  // Collected in one reused list, returned as an exact-length copy (once per VirtualService and server:
  // a fresh list grown by push() has room for 17 hosts, and the caller keeps the result).
  const out = scratchHosts;
  out.length = 0;
  const sets = Array.isArray(server) ? (server as readonly HostSet[]) : [server as HostSet];
  // Most VirtualServices name a handful of hosts: a Set for de-duplication only pays off beyond that.
  const seen: DedupSet = vsHosts.length * sets.length > 8 ? new Set<string>() : scratchDedup;
  for (let i = 0; i < vsHosts.length; i++) for (let j = 0; j < sets.length; j++) (sets[j] as HostSet).intersectInto(vsHosts[i] as string, out, seen);
  return out.slice();
}

interface DedupSet {
  has(h: string): boolean;
  add(h: string): unknown;
}

/** De-duplicates by scanning the (short) output itself. */
class ArrayDedup implements DedupSet {
  constructor(private readonly out: readonly string[]) {}
  has(h: string): boolean {
    return this.out.includes(h);
  }
  add(): void {}
}

const scratchHosts: string[] = [];
const scratchDedup = new ArrayDedup(scratchHosts);
