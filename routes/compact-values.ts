// The parsed config is kept for the life of the gateway (the parse cache hands unchanged resources to the
// next build by identity), so its in-memory form is made compact once, right after yaml's toJS:
// - Arrays are copied to exact length. toJS builds every sequence by push(), and V8 gives a pushed-to
//   array room for 17 elements: ~128 bytes of slack per array, ~15 MiB over the 120,000 small sequences
//   (match, route, hosts, gateways, http) of 10,000 VirtualServices with 50,000 routes.
// - Short string scalars are shared within one file ("bench", "r0", "/api/v1/", "VirtualService" repeat
//   in every document; yaml makes each occurrence its own string). The table lives for one file's parse
//   only, so nothing outlives the config it came from.
// Objects are changed in place (their identity is what the parse cache and origins refer to); only the
// arrays are replaced, inside their parents.

/** Strings longer than this are rarely repeated (host names, messages) and are left alone. */
const MAX_SHARED_LENGTH = 64;

/** One file's table of shared string scalars. */
export type StringTable = Map<string, string>;

/**
 * `value` with every array (at any depth) replaced by an exact-length copy and short strings taken from
 * `strings`. Objects reachable twice (YAML aliases) are visited once; cycles (a recursive alias) end.
 */
export function compactParsedValue(value: unknown, strings: StringTable): unknown {
  return compact(value, strings, new Map());
}

/** `seen`: what each object or array visited so far became (an array its copy, an object itself). */
function compact(value: unknown, strings: StringTable, seen: Map<object, unknown>): unknown {
  if (typeof value === 'string') return value.length <= MAX_SHARED_LENGTH ? share(value, strings) : value;
  if (value === null || typeof value !== 'object') return value;
  const done = seen.get(value);
  if (done !== undefined) return done;
  seen.set(value, value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = compact(value[i], strings, seen);
    const exact = value.slice();
    // An alias of this sequence met later gets the same copy, so it stays one value.
    seen.set(value, exact);
    return exact;
  }
  // Plain data from toJS: own enumerable keys only (a Map appears only with mapAsMap, not used here).
  const record = value as Record<string, unknown>;
  for (const key in record) {
    const v = record[key];
    if (v !== null && (typeof v === 'object' || typeof v === 'string')) {
      const c = compact(v, strings, seen);
      // An object is itself (nothing to store); a string is always stored, as `===` cannot tell the
      // shared copy from an equal one.
      if (c === v && typeof v !== 'string') continue;
      // yaml defines a `__proto__` key as an own property; assigning it would set the prototype instead.
      if (key === '__proto__') Object.defineProperty(record, key, { value: c, writable: true, enumerable: true, configurable: true });
      else record[key] = c;
    }
  }
  return value;
}

function share(text: string, strings: StringTable): string {
  const known = strings.get(text);
  if (known !== undefined) return known;
  strings.set(text, text);
  return text;
}
