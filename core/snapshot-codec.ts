// The Snapshot on the wire, for workers (cli/worker-pool.ts → cli/worker.ts over the cluster IPC channel).
// JSON alone is not faithful for the two non-JSON things the contract allows: precompiled RegExps (they
// would arrive as `{}`) and null-prototype dictionaries (RouteTable.exactHosts and the wildcard buckets:
// parsed back with Object.prototype, a lookup of the host `constructor` would find a function). Both are
// tagged on the way out and rebuilt on the way in; the result is deep-frozen like a built Snapshot.
// Properties present with the value undefined (optional fields the compiler always writes) are kept too,
// so decoded objects have the compiler's shapes and the hot path's property lookups stay monomorphic.
// Private keys travel as they are: the channel is a socketpair between the primary and its own children.
//
// Sharing survives the wire. The compiler shares frozen pieces between routes (one match list per URI
// match, one forward action per cluster: routes/compile/shared-values.ts); plain JSON would decode each
// occurrence as its own object, and a worker's snapshot at 10,000 hosts would cost several times the
// primary's (docs/performance.md, workers at scale). An object reached more than once is written once,
// wrapped with an id, and every later occurrence is a reference to that id; the decoder rebuilds the same
// graph. Strings are decoded once per distinct value (JSON.parse makes a new string per occurrence).
// Identity is not observable in a frozen snapshot (nothing keys state by these objects), so a decoder
// sharing more than the encoder did, as with empty arrays, is still the same snapshot.
import { deepFreeze } from './freeze.js';
import { ErrCode, GatehouseError } from './errors.js';
import type { Snapshot } from './snapshot.js';

/**
 * Bumped whenever the encoding changes. Primary and workers run the same build, so a mismatch means a
 * stray or corrupted message: it is refused like a snapshot that cannot bind, not guessed at.
 */
export const SNAPSHOT_WIRE_FORMAT = 2;

// A NUL-prefixed key cannot be a host, header or resource name, so it cannot collide with real data.
const FORMAT_TAG = '\u0000gh';
const BODY_KEY = '\u0000body';
const REGEXP_TAG = '\u0000re';
const NULL_PROTO_TAG = '\u0000np';
/** `{[SHARED_TAG]: id, [SHARED_VALUE]: value}`: the first occurrence of an object reached more than once. */
const SHARED_TAG = '\u0000id';
const SHARED_VALUE = '\u0000v';
// Values, being the most frequent, are tagged as strings that begin with NUL; a real string that begins
// with NUL travels with a second NUL in front (ESCAPED), which the decoder takes off.
const NUL = 0;
const UNDEFINED_VALUE = '\u0000u';
/** `REF_PREFIX + id`: a later occurrence of a shared object. */
const REF_PREFIX = '\u0000r';
const ESCAPED = '\u0000\u0000';
/** What an undefined property decodes to until its parent object puts undefined back (see decode). */
const UNDEFINED = Object.freeze({});
const EMPTY_ARRAY: readonly never[] = Object.freeze([]);

export function encodeSnapshot(snapshot: Snapshot): string {
  // One map for both passes (at scale it has an entry per object of the snapshot): a count of references
  // while counting, then -(id + 1) once a shared object has been written.
  const seen = countReferences(snapshot);
  let nextId = 0;
  return JSON.stringify({ [FORMAT_TAG]: SNAPSHOT_WIRE_FORMAT, [BODY_KEY]: snapshot }, function (this: unknown, key: string, value: unknown) {
    if (value === undefined) return UNDEFINED_VALUE;
    if (typeof value === 'string') return value.charCodeAt(0) === NUL ? `\u0000${value}` : value;
    if (value === null || typeof value !== 'object') return value;
    // The shared object itself, as its wrapper's value (no snapshot object has a NUL key): written out in full, this once.
    if (!(key === SHARED_VALUE && (this as Record<string, unknown>)[SHARED_TAG] !== undefined)) {
      const state = seen.get(value);
      if (state !== undefined && state < 0) return REF_PREFIX + (-state - 1);
      if (state !== undefined && state > 1) {
        const id = nextId++;
        seen.set(value, -id - 1);
        return { [SHARED_TAG]: id, [SHARED_VALUE]: value };
      }
    }
    if (value instanceof RegExp) return { [REGEXP_TAG]: [value.source, value.flags] };
    if (!Array.isArray(value) && Object.getPrototypeOf(value) === null) {
      // Entries, not an object: assigning `__proto__` into a plain object would set its prototype.
      return { [NULL_PROTO_TAG]: Object.entries(value) };
    }
    return value;
  });
}

/** How many times each object is reached from the root, walking what JSON.stringify walks (a shared object once). */
function countReferences(root: object): Map<object, number> {
  const seen = new Map<object, number>();
  const stack: object[] = [root];
  while (stack.length > 0) {
    const value = stack.pop()!;
    const keys = Object.keys(value);
    for (let i = 0; i < keys.length; i++) {
      const child = (value as Record<string, unknown>)[keys[i]!];
      if (child === null || typeof child !== 'object') continue;
      const count = seen.get(child);
      seen.set(child, (count ?? 0) + 1);
      if (count === undefined && !(child instanceof RegExp)) stack.push(child);
    }
  }
  return seen;
}

export function decodeSnapshot(text: string): Snapshot {
  // The reviver deletes a property it returns undefined for, so undefined comes back in two steps: the
  // tag becomes the UNDEFINED marker, and the enclosing object (revived after its children) replaces it.
  let pendingUndefined = 0;
  // JSON.parse revives in document order, children first (so a shared object inside another is decoded
  // before its container, though numbered after it), and the encoder writes a shared object before any
  // reference to it: a reference always finds its object here.
  const shared = new Map<number, unknown>();
  const strings = new Map<string, string>();
  function decodeTaggedString(value: string): unknown {
    if (value === UNDEFINED_VALUE) {
      pendingUndefined++;
      return UNDEFINED;
    }
    if (value.startsWith(ESCAPED)) return value.slice(1);
    if (value.startsWith(REF_PREFIX)) {
      const target = shared.get(Number(value.slice(REF_PREFIX.length)));
      if (target === undefined) throw wireError(`reference to an object not decoded before it: ${JSON.stringify(value.slice(REF_PREFIX.length))}`);
      return target;
    }
    throw wireError(`unknown tag ${JSON.stringify(value)}`);
  }
  const parsed = JSON.parse(text, (_key, value: unknown) => {
    if (typeof value === 'string') {
      if (value.charCodeAt(0) === NUL) return decodeTaggedString(value);
      const known = strings.get(value);
      if (known !== undefined) return known;
      strings.set(value, value);
      return value;
    }
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) {
      if (value.length === 0) return EMPTY_ARRAY;
      if (pendingUndefined > 0) {
        for (let i = 0; i < value.length; i++) {
          if (value[i] === UNDEFINED) {
            value[i] = undefined;
            pendingUndefined--;
          }
        }
      }
      return value;
    }
    const tagged = value as Record<string, unknown>;
    if (pendingUndefined > 0) {
      for (const k of Object.keys(tagged)) {
        if (tagged[k] === UNDEFINED) {
          tagged[k] = undefined;
          pendingUndefined--;
        }
      }
    }
    const id = tagged[SHARED_TAG];
    if (id !== undefined) {
      if (typeof id !== 'number' || shared.has(id)) throw wireError(`shared object id ${String(id)} is not new`);
      shared.set(id, tagged[SHARED_VALUE]);
      return tagged[SHARED_VALUE];
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
  }) as unknown;
  if (pendingUndefined !== 0) throw wireError('an undefined value outside an object');
  const envelope = parsed as Record<string, unknown> | null;
  if (envelope === null || typeof envelope !== 'object' || envelope[FORMAT_TAG] !== SNAPSHOT_WIRE_FORMAT) {
    const format = envelope !== null && typeof envelope === 'object' ? envelope[FORMAT_TAG] : undefined;
    throw wireError(`not a snapshot in wire format ${SNAPSHOT_WIRE_FORMAT} (format ${JSON.stringify(format) ?? 'absent'})`);
  }
  const body = envelope[BODY_KEY];
  if (body === null || typeof body !== 'object') throw wireError('no snapshot in the message');
  return deepFreeze(body as Snapshot);
}

function wireError(message: string): GatehouseError {
  return new GatehouseError(ErrCode.SNAPSHOT_WIRE, `snapshot wire: ${message}`);
}
