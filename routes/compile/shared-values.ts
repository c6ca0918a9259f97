// Pieces of compiled routes that many routes have in common, made once per compile and shared: at 50,000
// routes the common shapes (a match on the URI alone; one destination taking all traffic, no header
// changes, no rewrite) repeat with a few hundred distinct values, and one object per route for each was
// ~20 MiB of the snapshot. Sharing is safe because the snapshot is immutable (deep-frozen when built) and
// the data plane keeps no state keyed by these objects; it changes no shape, so the hot path's property
// reads stay as monomorphic as before.
import type { RouteAction, RouteMatch, WeightedCluster } from '../../core/snapshot.js';
import type { HTTPMatchRequest } from '../model/index.js';

const CASED_KIND = { exact: 'c exact', prefix: 'c prefix', regex: 'c regex', none: 'c' } as const;
const UNCASED_KIND = { exact: 'i exact', prefix: 'i prefix', regex: 'i regex', none: 'i' } as const;

export class SharedRouteValues {
  /** `[match]` lists whose single match reads the URI (or nothing) alone, by URI match kind and value. */
  readonly #uriOnlyMatches = new Map<string, Map<string, readonly RouteMatch[]>>();
  /** Forward actions to one cluster (weight 100, no header changes, no rewrite), by cluster name. */
  readonly #singleClusterActions = new Map<string, RouteAction>();

  /**
   * `[match]`, or an equal list already made in this compile when `match` tests the URI alone (exact or
   * prefix; regexes are distinct objects per pattern in RegexCache, so they are keyed by pattern too).
   */
  matchList(match: RouteMatch): readonly RouteMatch[] {
    if (match.scheme || match.method || match.authority || match.port !== undefined || match.headers.length > 0 || match.queryParams.length > 0) return [match];
    const uri = match.uri;
    // Keyed by (case, kind) then value: no key string built per route (the value is the parsed string).
    const kind = match.ignoreUriCase ? UNCASED_KIND[uri ? uri.kind : 'none'] : CASED_KIND[uri ? uri.kind : 'none'];
    let byValue = this.#uriOnlyMatches.get(kind);
    if (!byValue) this.#uriOnlyMatches.set(kind, (byValue = new Map()));
    const value = uri ? uri.value : '';
    let list = byValue.get(value);
    if (!list) byValue.set(value, (list = [match]));
    return list;
  }

  /**
   * The shared list an HTTP match block would get from matchList, found without translating the block
   * when it tests the URI alone and an equal match was made already (most routes at scale); undefined
   * otherwise (the caller translates and calls matchList). Mirrors compileStringMatch for the URI.
   */
  knownUriOnly(block: HTTPMatchRequest): readonly RouteMatch[] | undefined {
    if (block.scheme !== undefined || block.method !== undefined || block.authority !== undefined) return undefined;
    if (block.headers !== undefined || block.withoutHeaders !== undefined || block.queryParams !== undefined) return undefined;
    const ignoreCase = block.ignoreUriCase === true;
    const spec = block.uri;
    let kind: 'exact' | 'prefix' | 'regex' | 'none' = 'none';
    let value = '';
    if (spec) {
      if (typeof spec.exact === 'string') {
        kind = 'exact';
        value = ignoreCase ? spec.exact.toLowerCase() : spec.exact;
      } else if (typeof spec.prefix === 'string') {
        kind = 'prefix';
        value = ignoreCase ? spec.prefix.toLowerCase() : spec.prefix;
      } else if (typeof spec.regex === 'string') {
        kind = 'regex';
        value = spec.regex;
      }
    }
    return this.#uriOnlyMatches.get(ignoreCase ? UNCASED_KIND[kind] : CASED_KIND[kind])?.get(value);
  }

  /** The forward action to `cluster` alone, with no header changes and no rewrite. */
  singleClusterAction(cluster: string): RouteAction {
    let action = this.#singleClusterActions.get(cluster);
    if (!action) {
      const destination: WeightedCluster = { cluster, weight: 100, requestHeaders: undefined, responseHeaders: undefined };
      action = { type: 'forward', destinations: [destination], totalWeight: 100, rewrite: undefined };
      this.#singleClusterActions.set(cluster, action);
    }
    return action;
  }
}
