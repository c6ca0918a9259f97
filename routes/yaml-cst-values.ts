// A YAML document's JS value read straight from yaml's CST (its Parser's tokens), without the Composer's
// node tree and toJS: at 50,000 routes the Composer and toJS were about half of a cold start's YAML CPU.
//
// Only a subset is read here: block and flow mappings and sequences, plain, quoted and block scalars,
// comments. Anything else — anchors, aliases, tags, explicit or non-string keys, `<<`, duplicate keys,
// tabs in indentation or separation, error tokens, and every shape the Composer would report as an
// error — makes `readCstDocument` give up (undefined) and the caller composes that document with yaml's
// Composer, so the value and the diagnostics are always the Composer's. The checks below mirror the
// Composer's own (compose/resolve-props, resolve-block-map, resolve-block-seq, resolve-flow-collection,
// resolve-end of yaml 2.x): a shape is read here only where the Composer reports nothing for it.
// test/routes/parse-cst-equivalence.test.ts compares both readers over a broad corpus.
import { CST, Document, isScalar } from 'yaml';
import type { ScalarTag } from 'yaml';
import type { StringTable } from './compact-values.js';

/** A document read from its CST: the value (as toJS + compactParsedValue would give it) and where its parts are. */
export interface CstDocument {
  /** undefined for an empty document (no value node). */
  readonly value: unknown;
  /** Offset of the document's value node. */
  readonly nodeStart: number;
  /** The document's range in the file: [start of the document token, end of its last token). */
  readonly docStart: number;
  readonly docEnd: number;
  /**
   * Offsets of the item nodes of the root mapping's `items` sequence, one per element, when the root is a
   * mapping with an `items` sequence whose elements are all collections (a `kind: List`); else undefined.
   */
  readonly itemStarts: readonly number[] | undefined;
}

/** Thrown inside the reader to hand the document to the Composer; never escapes this module. */
class NeedsComposer {}
const NEEDS_COMPOSER = new NeedsComposer();

function needsComposer(): never {
  throw NEEDS_COMPOSER;
}

/** Whether `err` is this module's signal to leave a document to the Composer (plainValue may throw it). */
export function isNeedsComposer(err: unknown): boolean {
  return err === NEEDS_COMPOSER;
}

// The same schema and options the Composer gets for `{ merge: true }` (YAML 1.2 core schema plus `<<`).
const schemaDocument = new Document(null, { merge: true });
const resolveOptions = schemaDocument.options;
// A plain scalar's tag is the first of these whose test matches (the Composer's findScalarTagByTest);
// none matching means a string. Keys also try the 'key' defaults (`<<` for merges).
const scalarTags = (schemaDocument.schema.tags as ScalarTag[]).filter((t) => t.default === true && !('collection' in t && t.collection) && t.test !== undefined);
const keyTags = (schemaDocument.schema.tags as ScalarTag[]).filter((t) => (t.default === true || t.default === 'key') && !('collection' in t && t.collection) && t.test !== undefined);

/**
 * Whether a plain scalar starting with this code unit can resolve to anything but a string in the core
 * schema: null (`~`, `null`, empty), booleans, ints, floats, `.inf`/`.nan` all start with one of
 * `~ n N t T f F + - . 0-9`. Others skip the tag tests (most scalars: names, hosts, paths).
 */
const MAY_NOT_BE_STRING = new Uint8Array(128);
for (const c of '~nNtTfF+-.0123456789') MAY_NOT_BE_STRING[c.charCodeAt(0)] = 1;

/** A plain scalar's value as the Composer types it (YAML 1.2 core schema, `{ merge: true }`). */
export function plainValue(source: string): unknown {
  if (source.length > 0) {
    const c = source.charCodeAt(0);
    if (c >= 128 || MAY_NOT_BE_STRING[c] === 0) return source;
  }
  for (const tag of scalarTags) {
    if ((tag.test as RegExp).test(source)) {
      const resolved = tag.resolve(source, needsComposer, resolveOptions) as unknown;
      const value = isScalar(resolved) ? resolved.value : resolved;
      return typeof value === 'bigint' ? Number(value) : value;
    }
  }
  return source;
}

const MAX_SHARED_LENGTH = 64; // as compact-values: longer strings are rarely repeated

/** Reads one CST document; undefined when the Composer must read it. */
export function readCstDocument(doc: CST.Document, strings: StringTable): CstDocument | undefined {
  try {
    return new CstReader(strings).document(doc);
  } catch (err) {
    // NeedsComposer, or a RangeError from very deep nesting (the Composer reports that one itself).
    if (err === NEEDS_COMPOSER || err instanceof RangeError) return undefined;
    throw err;
  }
}

/** What resolveProps found in a run of separator tokens (only the fields read here). */
interface Props {
  found: boolean;
  /** Offset of the indicator found. */
  foundAt: number;
  hasNewline: boolean;
  comma: boolean;
  comment: boolean;
  /** Where the tokens end (the offset given when there are none). */
  end: number;
}

class CstReader {
  /** Set by `props`, read right after: one object reused instead of one per call. */
  private readonly seen: Props = { found: false, foundAt: -1, hasNewline: false, comma: false, comment: false, end: 0 };
  constructor(private readonly strings: StringTable) {}

  /**
   * Where the node read last ends, as the Composer's `range[2]` for it: through trailing comments and
   * spaces, and for an empty value where yaml places the empty scalar (what a document's range ends on).
   */
  private nodeEnd = 0;

  document(doc: CST.Document): CstDocument {
    const value = doc.value;
    const p = this.props(doc.start, 'doc-start', true, false, doc.offset);
    if (p.found && value !== undefined && (value.type === 'block-map' || value.type === 'block-seq') && !p.hasNewline) needsComposer();
    if (value !== undefined && value.type !== 'block-map' && value.type !== 'flow-collection') {
      needsComposer(); // a scalar, alias or anything else at the root: not a resource; rare
    }
    let js: unknown;
    if (value === undefined) this.nodeEnd = emptyEnd(p, doc.start);
    else js = this.node(value);
    let docEnd = this.nodeEnd;
    if (doc.end !== undefined) {
      this.end(doc.end, false);
      docEnd += lengthOf(doc.end);
    }
    if (value === undefined) return { value: undefined, nodeStart: doc.offset, docStart: doc.offset, docEnd, itemStarts: undefined };
    return { value: js, nodeStart: value.offset, docStart: doc.offset, docEnd, itemStarts: listItemStarts(value, js) };
  }

  private node(token: CST.Token): unknown {
    switch (token.type) {
      case 'scalar':
        if (isSimplePlain(token)) {
          this.nodeEnd = token.offset + token.source.length + (token.end === undefined ? 0 : lengthOf(token.end));
          return this.share(plainValue(token.source));
        }
        return this.share(this.scalar(token));
      case 'single-quoted-scalar':
      case 'double-quoted-scalar':
      case 'block-scalar':
        return this.share(this.scalar(token));
      case 'block-map':
        return this.blockMap(token);
      case 'block-seq':
        return this.blockSeq(token);
      case 'flow-collection':
        return token.start.source === '{' ? this.flowMap(token) : this.flowSeq(token);
      default:
        return needsComposer(); // alias, error, anything unexpected
    }
  }

  /** A scalar through yaml's own resolution (folding, escapes, block headers, trailing comments). */
  private scalar(token: CST.FlowScalar | CST.BlockScalar): unknown {
    const resolved = CST.resolveAsScalar(token, true, needsComposer);
    if (resolved === null) return needsComposer();
    this.nodeEnd = resolved.range[2];
    return token.type === 'scalar' ? plainValue(resolved.value) : resolved.value;
  }

  private share(value: unknown): unknown {
    if (typeof value !== 'string' || value.length > MAX_SHARED_LENGTH) return value;
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    this.strings.set(value, value);
    return value;
  }

  /** A mapping key: a single-line plain or quoted scalar that resolves to a string other than `<<`. */
  private key(token: CST.Token, indent: number): string {
    if (token.type === 'scalar') {
      if (token.source.includes('\n') || endHasNewline(token)) needsComposer();
      if ('indent' in token && indent >= 0 && token.indent !== indent) needsComposer();
      const source = isSimplePlain(token) ? token.source : this.scalar(token);
      if (typeof source !== 'string' || source.length === 0) needsComposer();
      const c = source.charCodeAt(0);
      if (c < 128 && MAY_NOT_BE_STRING[c] === 1) for (const tag of keyTags) if ((tag.test as RegExp).test(source)) needsComposer();
      if (source === '<<') needsComposer();
      return source;
    }
    if (token.type === 'single-quoted-scalar' || token.type === 'double-quoted-scalar') {
      if (token.source.includes('\n') || endHasNewline(token)) needsComposer();
      if (indent >= 0 && token.indent !== indent) needsComposer();
      return this.scalar(token) as string;
    }
    return needsComposer();
  }

  private blockMap(map: CST.BlockMap): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const items = map.items;
    let offset = map.offset;
    let commentEnd = -1;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as CST.BlockMap['items'][number];
      if (item.explicitKey) needsComposer();
      // Key properties: comments and line breaks only.
      const k = this.props(item.start, 'explicit-key-ind', true, false, offset);
      if (k.found) needsComposer();
      if (item.sep === undefined) {
        // Comments after the last entry; anywhere else the Composer reports "trailing content".
        if (item.key !== undefined || item.value !== undefined || i !== items.length - 1) needsComposer();
        commentEnd = k.end;
        continue;
      }
      if (item.key === null || item.key === undefined) needsComposer();
      const key = this.key(item.key, map.indent);
      if (Object.prototype.hasOwnProperty.call(out, key)) needsComposer(); // DUPLICATE_KEY
      const p = this.props(item.sep, 'map-value-ind', false, false, 0);
      if (!p.found) needsComposer(); // a key without `:`
      const value = item.value;
      if (value !== undefined && value.type === 'block-map' && !p.hasNewline) needsComposer();
      // The 1024-character limit on implicit keys (strict): `:` must be close to the key's start.
      if (p.foundAt - item.key.offset > 1000) needsComposer();
      let js: unknown = null;
      if (value === undefined) this.nodeEnd = emptyEnd(p, item.sep);
      else js = this.node(value);
      offset = this.nodeEnd;
      if (key === '__proto__') Object.defineProperty(out, key, { value: js, writable: true, enumerable: true, configurable: true });
      else out[key] = js;
    }
    this.nodeEnd = commentEnd >= 0 ? commentEnd : offset;
    return out;
  }

  private blockSeq(seq: CST.BlockSequence): unknown[] {
    const out: unknown[] = [];
    const items = seq.items;
    let offset = seq.offset;
    let commentEnd = -1;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as CST.BlockSequence['items'][number];
      const p = this.props(item.start, 'seq-item-ind', true, false, offset);
      if (!p.found) {
        if (item.value !== undefined || i !== items.length - 1) needsComposer();
        commentEnd = p.end;
        continue; // comments after the last item
      }
      if (item.value === undefined) {
        this.nodeEnd = emptyEnd(p, item.start);
        out.push(null);
      } else out.push(this.node(item.value));
      offset = this.nodeEnd;
    }
    this.nodeEnd = commentEnd >= 0 ? commentEnd : offset;
    return out.slice(); // exact length (a pushed-to array keeps room for 17)
  }

  /** Checks the closing bracket and what follows it; the collection's end (as `nodeEnd`). */
  private flowEnd(fc: CST.FlowCollection): number {
    const close = fc.end[0];
    if (close === undefined || close.source !== (fc.start.source === '{' ? '}' : ']')) needsComposer();
    let end = close.offset + close.source.length;
    if (fc.end.length > 1) {
      const rest = fc.end.slice(1);
      this.end(rest, true);
      end += lengthOf(rest);
    }
    return end;
  }

  /** Checks a flow item's start tokens; false for a trailing empty item (`[a, ]`), which is skipped. */
  private flowItemStart(item: CST.CollectionItem, i: number, last: boolean): boolean {
    const p = this.props(item.start, 'explicit-key-ind', false, true, 0);
    if (p.found) needsComposer();
    if (item.key === undefined && item.sep === undefined && item.value === undefined) {
      if ((i === 0 && p.comma) || !last) needsComposer();
      return false;
    }
    if (i === 0 ? p.comma : !p.comma) needsComposer();
    return true;
  }

  private flowMap(fc: CST.FlowCollection): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const items = fc.items;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as CST.CollectionItem;
      if (!this.flowItemStart(item, i, i === items.length - 1)) continue;
      if (item.key === null || item.key === undefined) needsComposer();
      const key = this.key(item.key, -1);
      if (Object.prototype.hasOwnProperty.call(out, key)) needsComposer();
      // `{a}` and `{a: }` are null; a value without `:` is the Composer's error.
      let js: unknown = null;
      const p = this.props(item.sep ?? [], 'map-value-ind', false, true, 0);
      if (p.comma || (!p.found && item.value !== undefined)) needsComposer();
      if (item.value !== undefined) js = this.flowValue(item.value);
      if (key === '__proto__') Object.defineProperty(out, key, { value: js, writable: true, enumerable: true, configurable: true });
      else out[key] = js;
    }
    this.nodeEnd = this.flowEnd(fc);
    return out;
  }

  private flowSeq(fc: CST.FlowCollection): unknown[] {
    const out: unknown[] = [];
    const items = fc.items;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as CST.CollectionItem;
      if (!this.flowItemStart(item, i, i === items.length - 1)) continue;
      // `[a: b]` (a pair in a sequence) is the Composer's.
      if (item.key !== undefined || item.sep !== undefined || item.value === undefined) needsComposer();
      out.push(this.flowValue(item.value));
    }
    this.nodeEnd = this.flowEnd(fc);
    return out.slice();
  }

  private flowValue(token: CST.Token): unknown {
    if (token.type === 'block-map' || token.type === 'block-seq') needsComposer(); // BLOCK_IN_FLOW
    return this.node(token);
  }

  /**
   * resolveProps over tokens that may hold only spaces, line breaks, comments, one `indicator` and (in a
   * flow collection) one comma; anything else, a tab, a comment not after white space, or a repeated
   * indicator or comma needs the Composer. The result is `this.seen`.
   */
  private props(tokens: readonly CST.SourceToken[], indicator: string, startOnNewline: boolean, flow: boolean, offset: number): Props {
    const seen = this.seen;
    seen.found = false;
    seen.hasNewline = false;
    seen.comma = false;
    seen.comment = false;
    seen.end = tokensEnd(tokens, offset);
    let hasSpace = startOnNewline;
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i] as CST.SourceToken;
      const type = token.type;
      if (type === 'space') {
        if (token.source.includes('\t')) needsComposer();
        hasSpace = true;
      } else if (type === 'newline') {
        seen.hasNewline = true;
        hasSpace = true;
      } else if (type === 'comment') {
        if (!hasSpace) needsComposer();
        seen.comment = true;
      } else if (type === indicator) {
        if (seen.found) needsComposer();
        seen.found = true;
        seen.foundAt = token.offset;
        hasSpace = false;
      } else if (type === 'comma' && flow) {
        if (seen.comma) needsComposer();
        seen.comma = true;
        hasSpace = false;
      } else {
        needsComposer();
      }
    }
    return seen;
  }

  /** resolveEnd: spaces, line breaks and comments after a node (`reqSpace`: a comment needs white space before it). */
  private end(tokens: readonly CST.SourceToken[], reqSpace: boolean): void {
    let hasSpace = false;
    for (const token of tokens) {
      if (token.type === 'space') {
        if (token.source.includes('\t')) needsComposer();
        hasSpace = true;
      } else if (token.type === 'newline') hasSpace = true;
      else if (token.type === 'comment') {
        if (reqSpace && !hasSpace) needsComposer();
      } else needsComposer();
    }
  }
}

/**
 * A plain scalar whose text is its value before tag resolution (yaml's plainValue returns it unchanged):
 * one line, not starting with a character the Composer rejects, followed by nothing but spaces, line
 * breaks and comments after white space (resolveEnd, strict). Its trailing comment is not part of it.
 */
function isSimplePlain(token: CST.FlowScalar): boolean {
  const source = token.source;
  if (source.length > 0 && BAD_PLAIN_START[source.charCodeAt(0)] === 1) return false;
  if (source.includes('\n') || source.includes('\r')) return false;
  const end = token.end;
  if (end !== undefined) {
    let hasSpace = false;
    for (let i = 0; i < end.length; i++) {
      const t = end[i] as CST.SourceToken;
      if (t.type === 'newline') hasSpace = true;
      else if (t.type === 'space' && !t.source.includes('\t')) hasSpace = true;
      else if (t.type !== 'comment' || !hasSpace) return false;
    }
  }
  return true;
}

/** resolve-flow-scalar's BAD_SCALAR_START characters: tab , % | > @ ` (the Composer reports them). */
const BAD_PLAIN_START = new Uint8Array(65536);
for (const c of '\t,%|>@`') BAD_PLAIN_START[c.charCodeAt(0)] = 1;

function endHasNewline(token: CST.FlowScalar): boolean {
  if (token.end !== undefined) for (const t of token.end) if (t.type === 'newline') return true;
  return false;
}

/** Sum of the tokens' source lengths (resolveEnd's offset advances by these). */
function lengthOf(tokens: readonly CST.SourceToken[]): number {
  let n = 0;
  for (let i = 0; i < tokens.length; i++) n += (tokens[i] as CST.SourceToken).source.length;
  return n;
}

/**
 * The end of an empty value (composeEmptyNode): after a comment, the props' end; otherwise where yaml
 * places the empty scalar, back over the trailing spaces, comments and line breaks (emptyScalarPosition).
 */
function emptyEnd(props: Props, before: readonly CST.SourceToken[]): number {
  if (props.comment) return props.end;
  let offset = props.end;
  for (let i = before.length - 1; i >= 0; --i) {
    let st = before[i] as CST.SourceToken;
    if (st.type === 'space' || st.type === 'comment' || st.type === 'newline') {
      offset -= st.source.length;
      continue;
    }
    st = before[++i] as CST.SourceToken;
    while (st?.type === 'space') {
      offset += st.source.length;
      st = before[++i] as CST.SourceToken;
    }
    break;
  }
  return offset;
}

function tokensEnd(tokens: readonly CST.SourceToken[], otherwise: number): number {
  const last = tokens[tokens.length - 1];
  return last === undefined ? otherwise : last.offset + last.source.length;
}

/** The `items` value's element offsets when the root mapping's `items` is a sequence of collections. */
function listItemStarts(root: CST.Token, value: unknown): number[] | undefined {
  if (typeof value !== 'object' || value === null || !Array.isArray((value as Record<string, unknown>)['items'])) return undefined;
  if (root.type !== 'block-map') return needsComposer();
  for (const item of root.items) {
    if (item.key === undefined || item.key === null || item.value === undefined) continue;
    const key = item.key;
    const name = key.type === 'scalar' ? key.source : key.type === 'single-quoted-scalar' || key.type === 'double-quoted-scalar' ? CST.resolveAsScalar(key)?.value : undefined;
    if (name !== 'items') continue;
    const seq = item.value;
    if (seq.type !== 'block-seq' && seq.type !== 'flow-collection') return needsComposer();
    // One start per element: an item without a value is either the trailing comments (or empty flow item)
    // the reader skipped, or a null element, which the Composer places.
    const starts: number[] = [];
    const items: readonly CST.CollectionItem[] = seq.items;
    for (let i = 0; i < items.length; i++) {
      const it = items[i] as CST.CollectionItem;
      if (it.value !== undefined) starts.push(collectionStart(it.value));
      else if (i !== items.length - 1) needsComposer();
    }
    if (starts.length !== ((value as Record<string, unknown>)['items'] as unknown[]).length) needsComposer();
    return starts;
  }
  return needsComposer();
}

function collectionStart(token: CST.Token): number {
  return token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection' ? token.offset : needsComposer();
}
