// The sha256 of a value's canonical JSON (control/build.ts canonicalJson: keys sorted at every level,
// undefined members dropped), written as UTF-8 straight into one reused buffer and hashed from there.
// Building the text as strings cost a string per key and value, a parts array per resource and a join:
// ~76 MiB allocated per cold build at 11,000 resources, 40% of the build's allocation. The bytes are
// exactly canonicalJson's text encoded as UTF-8 (what hashing that string hashes), so every digest, and
// with them every snapshot hash, is unchanged; test/control/canonical-digest.test.ts holds them equal.
import { hash as oneShotHash } from 'node:crypto';

const QUOTE = 34;
/** Integers up to this are written digit by digit (String() writes larger ones in exponent form from 1e21). */
const MAX_DIGITS_INTEGER = 2 ** 31 - 1;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;

/**
 * The sorted key list of every key sequence met so far, in a tree by key: parsed objects of one kind share
 * a few sequences (a VirtualService's `spec` is hosts, gateways, http; an HTTPRoute name, match, route),
 * so an object whose keys are out of order is written in the order sorted for its sequence the first time,
 * with no key array or sort per object (60,000 of them, ~4 MiB of key arrays per cold build at scale).
 */
class KeyOrder {
  readonly next = new Map<string, KeyOrder>();
  sorted: readonly string[] | undefined = undefined;
}

/** Sequences remembered at most (nodes of the tree); beyond, objects get a key array of their own again. */
const MAX_KEY_ORDERS = 4096;

export class CanonicalDigest {
  #buf = Buffer.allocUnsafe(64 * 1024);
  #len = 0;
  readonly #orders = new KeyOrder();
  #orderCount = 0;

  /** Base64 sha256 of `value`'s canonical JSON. */
  digest(value: unknown): string {
    this.#len = 0;
    this.value(value);
    const digest = oneShotHash('sha256', this.#buf.subarray(0, this.#len), 'base64');
    // A very large resource grew the buffer; it is not kept at that size.
    if (this.#buf.length > 1024 * 1024) this.#buf = Buffer.allocUnsafe(64 * 1024);
    return digest;
  }

  /** The bytes `digest` hashes (tests compare them with canonicalJson's text). */
  bytes(value: unknown): Buffer {
    this.#len = 0;
    this.value(value);
    return Buffer.from(this.#buf.subarray(0, this.#len));
  }

  private room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  private byte(c: number): void {
    this.room(1);
    this.#buf[this.#len++] = c;
  }

  /** Text JSON.stringify wrote, or any other: as UTF-8. */
  private raw(text: string): void {
    this.room(text.length * 3);
    this.#len += this.#buf.write(text, this.#len, 'utf8');
  }

  /**
   * String(n) for an integer in [0, MAX_DIGITS_INTEGER] (ports, weights, counts: most numbers written), digit
   * by digit: String() and a native buffer write per number cost more than the number. -0 writes `0`, as
   * String(-0) does.
   */
  private digits(n: number): void {
    let width = 1;
    for (let p = 10; p <= n; p *= 10) width++;
    this.room(width);
    const buf = this.#buf;
    let at = this.#len + width;
    this.#len = at;
    do {
      const q = Math.floor(n / 10);
      buf[--at] = 48 + (n - q * 10);
      n = q;
    } while (n > 0);
  }

  /** JSON.stringify(s): printable ASCII without `"` or `\` is copied as it is; anything else goes through JSON.stringify. */
  private string(s: string): void {
    this.room(s.length + 2);
    const buf = this.#buf;
    const start = this.#len;
    let len = start;
    buf[len++] = QUOTE;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c >= 0x80 || c === QUOTE || c === BACKSLASH) {
        this.#len = start;
        this.raw(JSON.stringify(s));
        return;
      }
      buf[len++] = c;
    }
    buf[len++] = QUOTE;
    this.#len = len;
  }

  /** canonicalJson's appendCanonical, case for case. */
  private value(value: unknown): void {
    if (typeof value === 'string') {
      this.string(value);
      return;
    }
    if (value === null || typeof value !== 'object') {
      if (typeof value === 'number') {
        if (value >= 0 && value <= MAX_DIGITS_INTEGER && Number.isInteger(value)) this.digits(value);
        else this.raw(Number.isFinite(value) ? String(value) : 'null');
      }
      else if (typeof value === 'boolean') this.raw(value ? 'true' : 'false');
      else this.raw(value === undefined ? 'null' : (JSON.stringify(value) ?? 'null'));
      return;
    }
    if (Array.isArray(value)) {
      // `[` or `,` by one call: lists of one item come first (the Gateway's, the ServiceEntries'), and a
      // call reached only from the second item on had no feedback when this was optimised (a deopt).
      for (let i = 0; i < value.length; i++) {
        this.byte(i === 0 ? 91 : COMMA); // [ or ,
        // canonicalJson writes a hole as nothing.
        if (i in value) this.value(value[i]);
      }
      if (value.length === 0) this.byte(91); // [
      this.byte(93); // ]
      return;
    }
    if (value instanceof Date) {
      this.string(value.toISOString());
      return;
    }
    const obj = value as Record<string, unknown>;
    const proto: unknown = Object.getPrototypeOf(obj);
    if (proto === Object.prototype || proto === null) {
      // A plain object's for-in keys are its own (Object.keys's, in the same order): keys already in
      // order, as most are, are written without a key array.
      let sorted = true;
      let previous: string | undefined;
      for (const k in obj) {
        if (previous !== undefined && !(previous < k)) {
          sorted = false;
          break;
        }
        previous = k;
      }
      if (sorted) {
        this.byte(123); // {
        let first = true;
        for (const k in obj) first = this.member(first, k, obj[k]);
        this.byte(125); // }
        return;
      }
      this.members(this.sortedKeysOf(obj), obj);
      return;
    }
    const keys = Object.keys(obj);
    sortKeys(keys);
    this.members(keys, obj);
  }

  /** `{` the members of `obj` in the order of `keys` `}`. */
  private members(keys: readonly string[], obj: Record<string, unknown>): void {
    this.byte(123); // {
    let first = true;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      first = this.member(first, k, obj[k]);
    }
    this.byte(125); // }
  }

  /** A plain object's keys sorted, from the tree of key sequences (its for-in keys are its own). */
  private sortedKeysOf(obj: Record<string, unknown>): readonly string[] {
    let node = this.#orders;
    for (const k in obj) {
      let child = node.next.get(k);
      if (child === undefined) {
        if (this.#orderCount >= MAX_KEY_ORDERS) return sortedOwnKeys(obj);
        child = new KeyOrder();
        node.next.set(k, child);
        this.#orderCount++;
      }
      node = child;
    }
    return (node.sorted ??= sortedOwnKeys(obj));
  }

  /** `"k":v`, after a comma unless first; undefined members are left out, as JSON.stringify does. Whether the next is still first. */
  private member(first: boolean, k: string, v: unknown): boolean {
    if (v === undefined) return first;
    if (!first) this.byte(COMMA);
    this.string(k);
    this.byte(COLON);
    this.value(v);
    return false;
  }
}

function sortedOwnKeys(obj: object): string[] {
  const keys = Object.keys(obj);
  sortKeys(keys);
  return keys;
}

/**
 * Array.prototype.sort()'s order (code units) for an object's keys, in place: insertion sort on a few
 * keys, where sort() copied the list into a work array of its own (~40 MiB per cold build at scale).
 */
export function sortKeys(keys: string[]): void {
  if (keys.length > 32) {
    keys.sort();
    return;
  }
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > k) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = k;
  }
}
