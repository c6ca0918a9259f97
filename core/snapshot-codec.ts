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
//
// A delta travels against a base: the snapshot a worker holds (its generation is in the envelope). After
// a one-resource edit most of the new snapshot's objects are the previous one's (the compiler reuses
// unchanged virtual hosts, routes, shared values), so an object of the base is written as a reference to
// its number in the base, and only what the build made anew is written out. Neither side keeps a table
// between publishes: both number the base's objects by the same walk (numberObjects) when a delta is
// encoded or decoded, and the walk finds the same order on both sides because a decoded snapshot is the
// encoded graph itself (same keys in the same order, the same sharing) except for what the walk skips:
// empty arrays (the decoder makes them one), RegExps (values), and the insides of virtual hosts, clusters
// and null-prototype dictionaries (see UNIT_CONTAINERS). A base object's members are base objects
// (snapshots are frozen), so the walked part of a delta-decoded graph is again the primary's, and the next
// delta numbers it the same way; what it holds is equal in value to a full decode, which the tests check.
// A worker that does not hold the base refuses the message.
import { deepFreeze } from './freeze.js';
import { ErrCode, GatehouseError } from './errors.js';
import type { Snapshot } from './snapshot.js';

/**
 * Bumped whenever the encoding changes. Primary and workers run the same build, so a mismatch means a
 * stray or corrupted message: it is refused like a snapshot that cannot bind, not guessed at.
 */
export const SNAPSHOT_WIRE_FORMAT = 3;

// A NUL-prefixed key cannot be a host, header or resource name, so it cannot collide with real data.
const FORMAT_TAG = '\u0000gh';
const BODY_KEY = '\u0000body';
/** The generation of the snapshot a delta's base references point into; absent in a full encoding. */
const BASE_KEY = '\u0000base';
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
/** `BASE_REF_PREFIX + n`: the base's object number n (numberObjects), in a delta. */
const BASE_REF_PREFIX = '\u0000g';
/**
 * An array of a delta with runs of consecutive base objects: `{[BASE_RUNS]: items}`, where an item
 * `{[BASE_RUN]: [n, count]}` stands for the base's objects n … n + count - 1. The members of a unit
 * container are numbered in a row, so an edited route table's 10,000 virtual hosts are a few runs, not
 * 10,000 references to write, parse and look up.
 */
const BASE_RUNS = '\u0000ra';
const BASE_RUN = '\u0000s';
/** Shorter runs are written as single references. */
const MIN_BASE_RUN = 8;
const ESCAPED = '\u0000\u0000';
/** What an undefined property decodes to until its parent object puts undefined back (see decode). */
const UNDEFINED = Object.freeze({});
const EMPTY_ARRAY: readonly never[] = Object.freeze([]);

/** A snapshot a worker holds, as the generation the primary published it under. */
export interface HeldSnapshot {
  readonly generation: number;
  readonly snapshot: Snapshot;
}

/**
 * The wire text of `snapshot`: in full, or with `base` as a delta whose objects of `base.snapshot` are
 * references, for a receiver that holds that generation (decodeSnapshot with the same generation).
 */
export function encodeSnapshot(snapshot: Snapshot, base?: HeldSnapshot): string {
  const baseIds = base === undefined ? undefined : numberObjects(base.snapshot);
  if (base !== undefined) referenceEqualClusters(snapshot, base.snapshot, baseIds!);
  // One map for both passes (at scale it has an entry per object written): a count of references
  // while counting, then -(id + 1) once a shared object has been written.
  const seen = countReferences(snapshot, baseIds);
  let nextId = 0;
  const envelope = base === undefined
    ? { [FORMAT_TAG]: SNAPSHOT_WIRE_FORMAT, [BODY_KEY]: snapshot }
    : { [FORMAT_TAG]: SNAPSHOT_WIRE_FORMAT, [BASE_KEY]: base.generation, [BODY_KEY]: snapshot };
  return JSON.stringify(envelope, function (this: unknown, key: string, value: unknown) {
    if (value === undefined) return UNDEFINED_VALUE;
    if (typeof value === 'string') return value.charCodeAt(0) === NUL ? `\u0000${value}` : value;
    if (value === null || typeof value !== 'object') return value;
    if (baseIds !== undefined) {
      const n = baseIds.get(value);
      if (n !== undefined) return BASE_REF_PREFIX + n;
    }
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
    if (baseIds !== undefined && Array.isArray(value) && value.length >= MIN_BASE_RUN) {
      const items = withBaseRuns(value, baseIds);
      if (items !== undefined) return { [BASE_RUNS]: items };
    }
    if (value instanceof RegExp) return { [REGEXP_TAG]: [value.source, value.flags] };
    if (!Array.isArray(value) && Object.getPrototypeOf(value) === null) {
      // Entries, not an object: assigning `__proto__` into a plain object would set its prototype.
      return { [NULL_PROTO_TAG]: Object.entries(value) };
    }
    return value;
  });
}

/**
 * The containers whose members a delta references whole: a virtual host and a cluster are numbered but
 * not walked into. What the compiler reuses after an edit is mostly whole virtual hosts (and, within the
 * route tables, the exact-host and wildcard dictionaries), and clusters are rebuilt each time, so walking
 * their insides (~5 of every 6 objects at 10,000 hosts) would number objects a delta hardly references,
 * at a cost paid on both sides of every delta. A part of a virtual host that a rewritten one shares with
 * an unchanged one (a shared match list, a forward action) is written out again, so the worker gets a copy
 * of its value instead of the same object. The cut is by key, so both sides walk the same region of their
 * graphs, and those copies, being inside virtual hosts, are never walked: the numbering stays the same.
 */
const UNIT_CONTAINERS: ReadonlySet<string> = new Set(['virtualHosts', 'clusters']);

/**
 * Numbers the objects reachable from `root` that a delta may reference, in one deterministic walk: the
 * encoder's base table (object → number) and, as its keys in order, the decoder's (number → object).
 * Not numbered: RegExps (encoded as values) and empty arrays (decoded as one shared array, so numbering
 * them would count differently on the two sides), nor anything inside a unit (UNIT_CONTAINERS) or a
 * null-prototype dictionary; a delta writes those out. Arrays by index, objects with for-in (same order as Object.keys: snapshot objects
 * inherit no enumerable keys), each object once.
 */
export function numberObjects(root: object): Map<object, number> {
  const ids = new Map<object, number>([[root, 0]]);
  const stack: object[] = [root];
  const number = (child: unknown, walk: boolean): void => {
    if (child === null || typeof child !== 'object' || ids.has(child) || !isNumbered(child)) return;
    ids.set(child, ids.size);
    // A null-prototype dictionary (host → virtual host index) holds numbers: 10,000 keys, nothing to number.
    if (walk && Object.getPrototypeOf(child) !== null) stack.push(child);
  };
  while (stack.length > 0) {
    const value = stack.pop()!;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) number(value[i], true);
      continue;
    }
    for (const key in value) {
      const child: unknown = (value as Record<string, unknown>)[key];
      if (!UNIT_CONTAINERS.has(key) || child === null || typeof child !== 'object' || ids.has(child) || !isNumbered(child)) {
        number(child, true);
        continue;
      }
      number(child, false);
      if (Array.isArray(child)) for (let i = 0; i < child.length; i++) number(child[i], false);
      else for (const k in child) number((child as Record<string, unknown>)[k], false);
    }
  }
  return ids;
}

/** `values` with each run of at least MIN_BASE_RUN consecutive base objects as one BASE_RUN item; undefined if none. */
function withBaseRuns(values: readonly unknown[], baseIds: Map<object, number>): unknown[] | undefined {
  const idOf = (v: unknown): number | undefined => (v !== null && typeof v === 'object' ? baseIds.get(v) : undefined);
  let items: unknown[] | undefined;
  let copied = 0;
  for (let i = 0; i < values.length; ) {
    const start = idOf(values[i]);
    if (start === undefined) {
      i++;
      continue;
    }
    let end = i + 1;
    while (end < values.length && idOf(values[end]) === start + (end - i)) end++;
    if (end - i >= MIN_BASE_RUN) {
      items ??= [];
      for (let k = copied; k < i; k++) items.push(values[k]);
      items.push({ [BASE_RUN]: [start, end - i] });
      copied = end;
    }
    i = end;
  }
  if (items === undefined) return undefined;
  for (let k = copied; k < values.length; k++) items.push(values[k]);
  return items;
}

/** A BASE_RUN item as decoded, until the array around it is put together. */
class BaseRun {
  constructor(
    readonly start: number,
    readonly count: number,
  ) {}
}

/**
 * The compiler builds every cluster anew on each build (~1,000 objects, 300 KB of a 470 KB delta at
 * 10,000 hosts), though an edit of one VirtualService leaves them as they were: a cluster equal in value to
 * the base's of the same name is written as a reference to that one. The worker then holds the base's
 * object where the primary holds an equal one; both are members of a unit container, numbered by position
 * and never walked into, so the next numbering is the same on both sides.
 */
function referenceEqualClusters(snapshot: Snapshot, base: Snapshot, baseIds: Map<object, number>): void {
  if (snapshot.clusters === base.clusters) return;
  // One new cluster per base cluster: two positions holding one object on one side and two on the other
  // would number differently.
  const taken = new Set<object>();
  for (const name in snapshot.clusters) {
    const cluster = snapshot.clusters[name]!;
    const was = base.clusters[name];
    if (was === undefined || was === cluster || baseIds.has(cluster) || taken.has(was)) continue;
    const id = baseIds.get(was);
    if (id !== undefined && sameValue(cluster, was)) {
      baseIds.set(cluster, id);
      taken.add(was);
    }
  }
}

/** Equal as the wire sees them: the same keys in the same order (undefined values included), prototypes, RegExps. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof RegExp || b instanceof RegExp) {
    return a instanceof RegExp && b instanceof RegExp && a.source === b.source && a.flags === b.flags;
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b) || (Object.getPrototypeOf(a) === null) !== (Object.getPrototypeOf(b) === null)) return false;
  const keys = Object.keys(a);
  const other = Object.keys(b);
  if (keys.length !== other.length) return false;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k !== other[i] || !sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

function isNumbered(value: object): boolean {
  return Array.isArray(value) ? value.length > 0 : !(value instanceof RegExp);
}

/**
 * How many times each object is reached from the root, walking what JSON.stringify walks (a shared object
 * once); objects of the base are references, not walked into, and not counted.
 */
function countReferences(root: object, baseIds: Map<object, number> | undefined): Map<object, number> {
  const seen = new Map<object, number>();
  if (baseIds?.has(root)) return seen;
  const stack: object[] = [root];
  while (stack.length > 0) {
    const value = stack.pop()!;
    const keys = Object.keys(value);
    for (let i = 0; i < keys.length; i++) {
      const child = (value as Record<string, unknown>)[keys[i]!];
      if (child === null || typeof child !== 'object') continue;
      if (baseIds !== undefined && baseIds.has(child)) continue;
      const count = seen.get(child);
      seen.set(child, (count ?? 0) + 1);
      if (count === undefined && !(child instanceof RegExp)) stack.push(child);
    }
  }
  return seen;
}

/** The start of a delta's text as encodeSnapshot writes it: format, then the base's generation. */
const DELTA_HEADER = `{"\\u0000gh":${SNAPSHOT_WIRE_FORMAT},"\\u0000base":`;
const DIGIT_0 = 48;
const COMMA = 44;

/** The generation a delta's text is encoded against; undefined for a full encoding (or another format). */
export function snapshotWireBase(text: string): number | undefined {
  // By hand, not with a RegExp: V8 keeps a RegExp's last subject (and a slice its whole parent) until the
  // next match anywhere, which in an idle worker would hold a 10 MiB full text long after its decode.
  if (!text.startsWith(DELTA_HEADER)) return undefined;
  let generation = 0;
  let i = DELTA_HEADER.length;
  for (; i < text.length && i < DELTA_HEADER.length + 15; i++) {
    const digit = text.charCodeAt(i) - DIGIT_0;
    if (digit < 0 || digit > 9) break;
    generation = generation * 10 + digit;
  }
  return i > DELTA_HEADER.length && text.charCodeAt(i) === COMMA ? generation : undefined;
}

/**
 * The snapshot in `text`. A delta is decoded against `held`, which must be the generation it was encoded
 * against (checked before anything is parsed: a refusal costs nothing at scale); the result is the graph a
 * full decode of the same snapshot gives.
 */
export function decodeSnapshot(text: string, held?: HeldSnapshot): Snapshot {
  const baseGeneration = snapshotWireBase(text);
  let baseObjects: object[] | undefined;
  if (baseGeneration !== undefined) {
    if (held === undefined || held.generation !== baseGeneration) {
      throw wireError(`a delta against generation ${baseGeneration}, and this process holds ${held === undefined ? 'no snapshot' : `generation ${held.generation}`}`);
    }
    baseObjects = [...numberObjects(held.snapshot).keys()];
  }
  // The reviver deletes a property it returns undefined for, so undefined comes back in two steps: the
  // tag becomes the UNDEFINED marker, and the enclosing object (revived after its children) replaces it.
  let pendingUndefined = 0;
  // Runs of base objects are put in place by the array around them (revived after them), as undefined is.
  let pendingRuns = 0;
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
    if (value.startsWith(BASE_REF_PREFIX)) {
      const n = Number(value.slice(BASE_REF_PREFIX.length));
      const target = baseObjects !== undefined && value.length > BASE_REF_PREFIX.length && Number.isSafeInteger(n) ? baseObjects[n] : undefined;
      if (target === undefined) throw wireError(`reference to no object of the base: ${JSON.stringify(value.slice(BASE_REF_PREFIX.length))}`);
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
    const run = tagged[BASE_RUN];
    if (run !== undefined) {
      const [start, count] = run as [unknown, unknown];
      if (baseObjects === undefined || !Number.isSafeInteger(start) || !Number.isSafeInteger(count) || (start as number) < 0 || (count as number) < 1 || (start as number) + (count as number) > baseObjects.length) {
        throw wireError(`a run of no objects of the base: ${JSON.stringify(run)}`);
      }
      pendingRuns++;
      return new BaseRun(start as number, count as number);
    }
    const items = tagged[BASE_RUNS];
    if (items !== undefined) {
      const values: unknown[] = [];
      for (const item of items as unknown[]) {
        if (!(item instanceof BaseRun)) {
          values.push(item);
          continue;
        }
        pendingRuns--;
        for (let k = item.start, end = item.start + item.count; k < end; k++) values.push(baseObjects![k]);
      }
      return values;
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
  if (pendingRuns !== 0) throw wireError('a run of base objects outside an array');
  const envelope = parsed as Record<string, unknown> | null;
  if (envelope === null || typeof envelope !== 'object' || envelope[FORMAT_TAG] !== SNAPSHOT_WIRE_FORMAT) {
    const format = envelope !== null && typeof envelope === 'object' ? envelope[FORMAT_TAG] : undefined;
    throw wireError(`not a snapshot in wire format ${SNAPSHOT_WIRE_FORMAT} (format ${JSON.stringify(format) ?? 'absent'})`);
  }
  if (envelope[BASE_KEY] !== baseGeneration) throw wireError(`the base generation is not where the header says (${JSON.stringify(envelope[BASE_KEY]) ?? 'absent'})`);
  const body = envelope[BODY_KEY];
  if (body === null || typeof body !== 'object') throw wireError('no snapshot in the message');
  return deepFreeze(body as Snapshot);
}

function wireError(message: string): GatehouseError {
  return new GatehouseError(ErrCode.SNAPSHOT_WIRE, `snapshot wire: ${message}`);
}
