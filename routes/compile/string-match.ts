// Istio StringMatch → the snapshot's StringMatch, with regexes compiled once here (never per request).
import type { StringMatch } from '../../core/snapshot.js';
import type { StringMatchSpec } from '../model/index.js';

/**
 * Full anchored match, as Envoy's RE2 safe_regex does. RE2's leading `(?i)` (common in Istio configs,
 * unknown to JS before Node 23) becomes the `i` flag. Throws on a pattern JS cannot compile.
 */
export function compileRegex(re: string, ignoreCase = false): RegExp {
  if (re.startsWith('(?i)')) return new RegExp(`^(?:${re.slice(4)})$`, 'i');
  return new RegExp(`^(?:${re})$`, ignoreCase ? 'i' : '');
}

/**
 * One RegExp per distinct pattern and flags for a whole compile: configurations repeat patterns across
 * thousands of routes. Sharing is safe because the snapshot's regexes are never global or sticky.
 */
export class RegexCache {
  private readonly byKey = new Map<string, RegExp>();
  get(re: string, ignoreCase: boolean): RegExp {
    const key = ignoreCase ? `i:${re}` : `c:${re}`;
    let compiled = this.byKey.get(key);
    if (!compiled) {
      compiled = compileRegex(re, ignoreCase);
      this.byKey.set(key, compiled);
    }
    return compiled;
  }
}

/**
 * Undefined when the spec sets no match type (Istio treats that as "present"). `ignoreCase` lower-cases
 * exact and prefix values; `regexIgnoreCase` adds the `i` flag (Envoy ignores case_sensitive for regex
 * paths, so ignoreUriCase leaves URI regexes case-sensitive).
 */
export function compileStringMatch(
  spec: StringMatchSpec | undefined,
  ignoreCase = false,
  regexes?: RegexCache,
  regexIgnoreCase = ignoreCase,
): StringMatch | undefined {
  if (!spec) return undefined;
  if (typeof spec.exact === 'string') return { kind: 'exact', value: ignoreCase ? spec.exact.toLowerCase() : spec.exact };
  if (typeof spec.prefix === 'string') return { kind: 'prefix', value: ignoreCase ? spec.prefix.toLowerCase() : spec.prefix };
  if (typeof spec.regex === 'string') {
    const re = regexes ? regexes.get(spec.regex, regexIgnoreCase) : compileRegex(spec.regex, regexIgnoreCase);
    return { kind: 'regex', value: spec.regex, re };
  }
  return undefined;
}

/**
 * Istio's canBeConvertedToPresentMatch: an empty StringMatch, an empty prefix or a match-anything regex
 * only asks that the header be there.
 */
export function isPresenceMatch(spec: StringMatchSpec | undefined): boolean {
  if (!spec) return true;
  if (typeof spec.exact === 'string') return false;
  if (typeof spec.prefix === 'string') return spec.prefix === '';
  if (typeof spec.regex === 'string') return spec.regex === '*' || spec.regex === '.*';
  return true;
}
