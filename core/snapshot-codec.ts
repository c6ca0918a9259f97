// The Snapshot on the wire, for workers (cli/worker-pool.ts → cli/worker.ts over the cluster IPC channel).
// JSON alone is not faithful for the two non-JSON things the contract allows: precompiled RegExps (they
// would arrive as `{}`) and null-prototype dictionaries (RouteTable.exactHosts and the wildcard buckets:
// parsed back with Object.prototype, a lookup of the host `constructor` would find a function). Both are
// tagged on the way out and rebuilt on the way in; the result is deep-frozen like a built Snapshot.
// Properties present with the value undefined (optional fields the compiler always writes) are kept too,
// so decoded objects have the compiler's shapes and the hot path's property lookups stay monomorphic.
// Private keys travel as they are: the channel is a socketpair between the primary and its own children.
import { deepFreeze } from './freeze.js';
import type { Snapshot } from './snapshot.js';

// A NUL-prefixed key cannot be a host, header or resource name, so it cannot collide with real data.
const REGEXP_TAG = '\u0000re';
const NULL_PROTO_TAG = '\u0000np';
const UNDEFINED_TAG = '\u0000u';
/** What an undefined property decodes to until its parent object puts undefined back (see decode). */
const UNDEFINED = Object.freeze({});

export function encodeSnapshot(snapshot: Snapshot): string {
  return JSON.stringify(snapshot, function (this: unknown, _key: string, value: unknown) {
    if (value === undefined) return { [UNDEFINED_TAG]: 0 };
    if (value === null || typeof value !== 'object') return value;
    if (value instanceof RegExp) return { [REGEXP_TAG]: [value.source, value.flags] };
    if (!Array.isArray(value) && Object.getPrototypeOf(value) === null) {
      // Entries, not an object: assigning `__proto__` into a plain object would set its prototype.
      return { [NULL_PROTO_TAG]: Object.entries(value) };
    }
    return value;
  });
}

export function decodeSnapshot(text: string): Snapshot {
  // The reviver deletes a property it returns undefined for, so undefined comes back in two steps: the
  // tag becomes the UNDEFINED marker, and the enclosing object (revived after its children) replaces it.
  let pendingUndefined = 0;
  const parsed = JSON.parse(text, (_key, value: unknown) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    const tagged = value as Record<string, unknown>;
    if (UNDEFINED_TAG in tagged) {
      pendingUndefined++;
      return UNDEFINED;
    }
    if (pendingUndefined > 0) {
      for (const k of Object.keys(tagged)) {
        if (tagged[k] === UNDEFINED) {
          tagged[k] = undefined;
          pendingUndefined--;
        }
      }
    }
    const re = tagged[REGEXP_TAG];
    if (re !== undefined) {
      const [source, flags] = re as [string, string];
      return new RegExp(source, flags);
    }
    const entries = tagged[NULL_PROTO_TAG];
    if (entries !== undefined) {
      const dict = Object.create(null) as Record<string, unknown>;
      // No Object.prototype, hence no `__proto__` setter: every key, `__proto__` included, is an own property.
      for (const [k, v] of entries as [string, unknown][]) dict[k] = v;
      return dict;
    }
    return value;
  }) as Snapshot;
  return deepFreeze(parsed);
}
