// The plainest YAML — what generators and `kubectl` write: block mappings and sequences indented with
// spaces, one-line flow collections, one-line plain and quoted scalars, literal block scalars (`|`,
// `|-`), comments, `---` between documents — read line by line, without yaml's Lexer and Parser (two
// thirds of a cold start's YAML CPU even once documents are read from the CST; ~1 MiB/s). This is not a
// YAML parser: it recognises that subset and gives up on the whole file (undefined) at the first thing
// outside it — a tab, a CR, a directive, `...`, anchors, aliases, tags, folded or kept block scalars,
// other multi-line scalars or flow collections, explicit or non-string keys, `<<`, duplicate keys,
// anything indented unlike the structure around it — and the file is then read by yaml itself
// (routes/yaml-cst-values.ts, else yaml's Composer). Scalars are typed by the same YAML 1.2 core schema
// tags as yaml's (plainValue). The values and positions it gives are the Composer's:
// test/routes/parse-cst-equivalence.test.ts compares them over a broad corpus.
import type { CstDocument } from './yaml-cst-values.js';
import { isNeedsComposer, plainValue } from './yaml-cst-values.js';
import type { StringTable } from './compact-values.js';

/** Thrown inside the reader to hand the file to yaml; never escapes this module. */
class OutsideSubset {}
const OUTSIDE = new OutsideSubset();

function outside(): never {
  throw OUTSIDE;
}

const MAX_SHARED_LENGTH = 64; // as compact-values: longer strings are rarely repeated

const SPACE = 32;
const NL = 10;
const HASH = 35;
const DASH = 45;
const COLON = 58;
const DQUOTE = 34;
const SQUOTE = 39;
const LBRACE = 123;
const RBRACE = 125;
const LBRACKET = 91;
const RBRACKET = 93;
const COMMA = 44;
const BACKSLASH = 92;
const PIPE = 124;

/**
 * Characters that may not start a plain scalar here: YAML's indicators (`- ? :` only when followed by a
 * space, checked apart), and the ones yaml rejects or reads otherwise (`% @ \``).
 */
const NOT_PLAIN_START = new Uint8Array(128);
for (const c of '&*!|>%@`,[]{}#\'"') NOT_PLAIN_START[c.charCodeAt(0)] = 1;

/** A `%` directive or a `...` document end at a line start. */
const DIRECTIVE_OR_DOCUMENT_END = /^(?:%|\.\.\.)/m;

/** The documents of `text`, or undefined when the file is outside the subset. */
export function readBlockFile(text: string, strings: StringTable): CstDocument[] | undefined {
  // What makes a whole file yaml's at once: tabs, CRs, a byte order mark, a `%` directive or a `...`
  // document end at a line start.
  if (text.charCodeAt(0) === 0xfeff || text.includes('\t') || text.includes('\r') || DIRECTIVE_OR_DOCUMENT_END.test(text)) return undefined;
  try {
    return new BlockReader(text, strings).file();
  } catch (err) {
    // plainValue hands a scalar yaml's tags would report to the Composer, as the CST reader does.
    if (err === OUTSIDE || err instanceof RangeError || isNeedsComposer(err)) return undefined;
    throw err;
  }
}

class BlockReader {
  /** The current line: [lineStart, lineEnd) (lineEnd at its `\n` or the text's end); `indent` spaces, then content. */
  private lineStart = 0;
  private lineEnd = 0;
  private indent = 0;
  /** Past the text's last line. */
  private atEnd = false;
  /** The current line is a `---` document start. */
  private marker = false;

  constructor(
    private readonly text: string,
    private readonly strings: StringTable,
  ) {}

  file(): CstDocument[] {
    const docs: CstDocument[] = [];
    const text = this.text;
    this.load(0);
    this.skipBlank();
    // Before the first `---`: a document only if it has content.
    if (!this.atEnd && !this.marker) docs.push(this.document(this.lineStart + this.indent));
    while (!this.atEnd) {
      if (!this.marker) outside(); // content after a document ended: not ours
      const docStart = this.lineStart;
      // `---` then only spaces and a comment on its line.
      const rest = this.skipSpaces(docStart + 3);
      if (rest < this.lineEnd && !(text.charCodeAt(rest) === HASH && rest > docStart + 3)) outside();
      this.next();
      this.skipBlank();
      if (this.atEnd || this.marker) {
        // An empty document. yaml ends its range just past `---` and its spaces, unless a comment is in it.
        const next = this.atEnd ? text.length : this.lineStart;
        for (let k = text.indexOf('#', docStart); k >= 0 && k < next; k = text.indexOf('#', k + 1)) outside();
        docs.push({ value: undefined, nodeStart: docStart, docStart, docEnd: rest, itemStarts: undefined });
        continue;
      }
      docs.push(this.document(docStart));
    }
    return docs;
  }

  /** A document whose root mapping starts on the current line (at column 0). */
  private document(docStart: number): CstDocument {
    if (this.indent !== 0) outside();
    const nodeStart = this.lineStart;
    this.rootItems = undefined;
    const value = this.blockMap(0, nodeStart);
    if (this.lastEndsInside) outside(); // yaml may end the document's range inside its last line
    // The document ends where the next `---` starts (or the text ends): trailing blank and comment lines
    // are the document's.
    if (!this.atEnd && !this.marker) outside();
    const docEnd = this.atEnd ? this.text.length : this.lineStart;
    return { value, nodeStart, docStart, docEnd, itemStarts: listItemStarts(value, this.rootItems) };
  }

  // ----- lines ---------------------------------------------------------------------------------------

  private load(start: number): void {
    const text = this.text;
    if (start >= text.length) {
      this.lineStart = this.lineEnd = text.length;
      this.indent = 0;
      this.atEnd = true;
      this.marker = false;
      return;
    }
    this.lineStart = start;
    const nl = text.indexOf('\n', start);
    this.lineEnd = nl < 0 ? text.length : nl;
    let i = start;
    while (i < this.lineEnd && text.charCodeAt(i) === SPACE) i++;
    this.indent = i - start;
    this.marker = this.indent === 0 && text.startsWith('---', start) && (start + 3 === this.lineEnd || text.charCodeAt(start + 3) === SPACE);
  }

  private next(): void {
    this.load(this.lineEnd + 1);
  }

  /** Past blank and comment-only lines. */
  private skipBlank(): void {
    while (!this.atEnd) {
      const c = this.lineStart + this.indent;
      if (c < this.lineEnd && this.text.charCodeAt(c) !== HASH) return;
      this.next();
    }
  }

  private skipSpaces(i: number): number {
    while (i < this.lineEnd && this.text.charCodeAt(i) === SPACE) i++;
    return i;
  }

  /** After a value ending at `i`: only spaces, then a comment after at least one space, to the line's end. */
  private lineRestEmpty(i: number): boolean {
    const j = this.skipSpaces(i);
    return j >= this.lineEnd || (this.text.charCodeAt(j) === HASH && j > i);
  }

  /** Whether the current line is a content line continuing a block at `indent` (false: the block ended). */
  private continues(indent: number): boolean {
    this.skipBlank();
    if (this.atEnd || this.marker || this.indent < indent) return false;
    if (this.indent > indent) outside(); // deeper than the block's items: a continuation or an error
    return true;
  }

  // ----- block collections ---------------------------------------------------------------------------

  /**
   * Whether the value read last may end inside its last line for yaml: an empty value (null from `key:`
   * or `-` alone) or a block scalar. Such a value last in a document makes the file yaml's.
   */
  private lastEndsInside = false;
  /** Where the value read last starts (-1 for an empty one). */
  private valueStart = -1;
  /** The item offsets of the last block sequence read, set when it ends. */
  private seqStarts: number[] | undefined;
  /** The item offsets of the root mapping's `items` block sequence (a `kind: List`). */
  private rootItems: number[] | undefined;

  /** A block mapping whose first key is at `start` on the current line; its keys at column `indent`. */
  private blockMap(indent: number, start: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    let at = start;
    for (;;) {
      const key = this.key(at);
      const after = this.keyEnd;
      if (Object.prototype.hasOwnProperty.call(out, key)) outside(); // yaml reports duplicates
      this.seqStarts = undefined;
      const value = this.valueAfter(after, indent, true);
      // The block sequence read last is the value's own, when it is one (nested ones end before it).
      if (indent === 0 && key === 'items') this.rootItems = Array.isArray(value) ? this.seqStarts : undefined;
      if (key === '__proto__') Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
      else out[key] = value;
      if (!this.continues(indent)) return out;
      at = this.lineStart + indent;
      if (this.text.charCodeAt(at) === DASH && this.isIndicator(at)) outside(); // a sequence item among keys
    }
  }

  /** A block sequence whose first `-` is at `start` on the current line, at column `indent`. */
  private blockSeq(indent: number, start: number, sameIndentAsKey: boolean): unknown[] {
    const out: unknown[] = [];
    const starts: number[] = [];
    let at = start;
    for (;;) {
      const value = this.valueAfter(at + 1, indent, false);
      starts.push(this.valueStart);
      out.push(value);
      this.skipBlank();
      if (this.atEnd || this.marker || this.indent < indent) break;
      if (this.indent > indent) outside();
      at = this.lineStart + indent;
      if (!(this.text.charCodeAt(at) === DASH && this.isIndicator(at))) {
        if (sameIndentAsKey) break; // the parent mapping's next key
        outside();
      }
    }
    this.seqStarts = starts;
    return out.slice(); // exact length (a pushed-to array keeps room for 17)
  }

  /** `-`, `?` or `:` at `i` followed by a space or the line's end. */
  private isIndicator(i: number): boolean {
    return i + 1 >= this.lineEnd || this.text.charCodeAt(i + 1) === SPACE;
  }

  /**
   * The value after `key:` or `-` (`i` just past the indicator), in a block at column `indent`. On the same
   * line: a nested `- ` or `key:` (only after `-`), a flow collection or a scalar, with the line then
   * done; else an indented block on the following lines, or null.
   */
  private valueAfter(i: number, indent: number, inMap: boolean): unknown {
    const text = this.text;
    this.lastEndsInside = false;
    const j = this.skipSpaces(i);
    if (j >= this.lineEnd || (text.charCodeAt(j) === HASH && j > i)) {
      // Nothing on this line: a block below, deeper (or a sequence at the key's own column), or null.
      this.next();
      this.skipBlank();
      if (!this.atEnd && !this.marker) {
        const at = this.lineStart + this.indent;
        const dash = text.charCodeAt(at) === DASH && this.isIndicator(at);
        // valueStart is set after the block is read: its own values set it on the way.
        if (this.indent > indent) {
          const block = dash ? this.blockSeq(this.indent, at, false) : this.blockMap(this.indent, at);
          this.valueStart = at;
          return block;
        }
        if (inMap && this.indent === indent && dash) {
          const seq = this.blockSeq(indent, at, true);
          this.valueStart = at;
          return seq;
        }
      }
      this.lastEndsInside = true;
      this.valueStart = -1;
      return null;
    }
    if (j === i) outside(); // `key:x` / `-x` are not indicators; not reached for keys (see key())
    const c = text.charCodeAt(j);
    const start = j;
    if (!inMap && c !== LBRACE && c !== LBRACKET) {
      // `- - x` and `- key: v` (a compact mapping at the column after the dash).
      if (c === DASH && this.isIndicator(j)) {
        const seq = this.blockSeq(j - this.lineStart, j, false);
        this.valueStart = start;
        return seq;
      }
      if (this.looksLikeKey(j)) {
        const map = this.blockMap(j - this.lineStart, j);
        this.valueStart = start;
        return map;
      }
    }
    let value: unknown;
    let end: number;
    if (c === LBRACE || c === LBRACKET) {
      const flow = new FlowLine(text, j, this.lineEnd, this);
      value = flow.collection();
      end = flow.pos;
    } else if (c === PIPE) {
      const literal = this.literal(j, indent);
      this.valueStart = start;
      this.lastEndsInside = true;
      return literal;
    } else {
      value = this.scalar(j, false);
      end = this.scalarEnd;
    }
    if (!this.lineRestEmpty(end)) outside();
    this.next();
    this.valueStart = start;
    return value;
  }

  /**
   * A literal block scalar, `|` or `|-` (clip or strip; no indentation indicator, no keep, not folded),
   * its header at `i` in a block at column `indent`: the lines below indented deeper than `indent`, less
   * the first one's indentation. The current line is then the first line after it.
   */
  private literal(i: number, indent: number): string {
    const text = this.text;
    let k = i + 1;
    const strip = text.charCodeAt(k) === DASH;
    if (strip) k++;
    if (!this.lineRestEmpty(k)) outside(); // `|2`, `|+`, `|x`, `|#`: yaml's
    this.next();
    const lines: string[] = [];
    let contentIndent = -1;
    let lastContent = -1;
    while (!this.atEnd) {
      if (this.lineStart + this.indent >= this.lineEnd) {
        // A line of spaces only: empty, unless it has more spaces than the content's indentation (or
        // any before the content starts), which yaml reads otherwise.
        if (contentIndent < 0 ? this.indent > 0 : this.indent > contentIndent) outside();
        lines.push('');
        this.next();
        continue;
      }
      if (contentIndent < 0) {
        if (this.indent <= indent) break;
        contentIndent = this.indent;
      } else if (this.indent < contentIndent) break;
      lines.push(text.slice(this.lineStart + contentIndent, this.lineEnd));
      lastContent = lines.length - 1;
      this.next();
    }
    if (lastContent < 0) outside(); // an empty block scalar: yaml's
    lines.length = lastContent + 1; // clip and strip drop the trailing empty lines
    const value = lines.join('\n');
    return strip ? value : `${value}\n`;
  }

  /** Whether a `key: ` (or `key:` at the line's end) starts at `i`. */
  private looksLikeKey(i: number): boolean {
    const text = this.text;
    const c = text.charCodeAt(i);
    if (c === DQUOTE || c === SQUOTE) {
      const close = text.indexOf(c === DQUOTE ? '"' : "'", i + 1);
      return close > 0 && close < this.lineEnd && text.charCodeAt(close + 1) === COLON;
    }
    for (let k = i; k < this.lineEnd; k++) {
      const d = text.charCodeAt(k);
      if (d === COLON && (k + 1 >= this.lineEnd || text.charCodeAt(k + 1) === SPACE)) return true;
      if (d === HASH && text.charCodeAt(k - 1) === SPACE) return false;
    }
    return false;
  }

  /** Just past the `:` of the key read last. */
  private keyEnd = 0;

  /** A block mapping key at `i` (`keyEnd` is set just past its `:`). */
  private key(i: number): string {
    const text = this.text;
    // yaml (strict) reports a `:` more than 1024 characters after an implicit key's start.
    if (this.lineEnd - i > 1000 && text.indexOf(':', i) - i > 1000) outside();
    const c = text.charCodeAt(i);
    if (c === DQUOTE || c === SQUOTE) {
      const value = this.scalar(i, false);
      const end = this.scalarEnd;
      if (text.charCodeAt(end) !== COLON || !(end + 1 >= this.lineEnd || text.charCodeAt(end + 1) === SPACE)) outside();
      this.keyEnd = end + 1;
      return value as string;
    }
    if ((c < 128 && NOT_PLAIN_START[c] === 1) || ((c === DASH || c === 63 /* ? */ || c === COLON) && this.isIndicator(i))) outside();
    let k = i;
    while (k < this.lineEnd) {
      const d = text.charCodeAt(k);
      if (d === COLON && (k + 1 >= this.lineEnd || text.charCodeAt(k + 1) === SPACE)) break;
      if (d === HASH && text.charCodeAt(k - 1) === SPACE) outside();
      k++;
    }
    if (k >= this.lineEnd || k === i || text.charCodeAt(k - 1) === SPACE) outside(); // no `:`, or `key :`
    const key = text.slice(i, k);
    // A key that the core schema types (null, a boolean, a number) or `<<` (a merge) is yaml's.
    if (key === '<<' || typeof plainValue(key) !== 'string') outside();
    this.keyEnd = k + 1;
    return key;
  }

  // ----- scalars -------------------------------------------------------------------------------------

  /**
   * A one-line scalar at `i`: quoted (no escapes, no line break), or plain to the line's end or a ` #`
   * comment (in a flow collection also to `,`, `]`, `}`, and a flow mapping's key to its `:`). Sets
   * `scalarEnd` just past it.
   */
  scalar(i: number, inFlow: boolean, flowKey = false): unknown {
    const text = this.text;
    const c = text.charCodeAt(i);
    if (c === DQUOTE) {
      const close = text.indexOf('"', i + 1);
      if (close < 0 || close >= this.lineEnd) outside();
      const inner = text.slice(i + 1, close);
      if (inner.includes('\\')) outside(); // escapes are yaml's
      this.scalarEnd = close + 1;
      return this.share(inner);
    }
    if (c === SQUOTE) {
      let close = i + 1;
      for (;;) {
        close = text.indexOf("'", close);
        if (close < 0 || close >= this.lineEnd) outside();
        if (text.charCodeAt(close + 1) !== SQUOTE) break;
        close += 2; // '' is a quote
      }
      const inner = text.slice(i + 1, close);
      this.scalarEnd = close + 1;
      return this.share(inner.includes("''") ? inner.replaceAll("''", "'") : inner);
    }
    if (c < 128 && NOT_PLAIN_START[c] === 1) outside();
    if ((c === DASH || c === 63 /* ? */ || c === COLON) && this.isIndicator(i)) outside();
    let k = i;
    let last = i; // just past the last non-space character
    while (k < this.lineEnd) {
      const d = text.charCodeAt(k);
      if (d === SPACE) {
        k++;
        continue;
      }
      if (d === HASH && text.charCodeAt(k - 1) === SPACE) break;
      if (d === COLON && (k + 1 >= this.lineEnd || text.charCodeAt(k + 1) === SPACE || (inFlow && isFlowIndicator(text.charCodeAt(k + 1))))) {
        if (flowKey) break;
        outside(); // `a: b: c`, or a pair in a flow sequence
      }
      if (inFlow && isFlowIndicator(d)) break;
      if (d === BACKSLASH && inFlow) outside();
      k++;
      last = k;
    }
    if (last === i) outside();
    this.scalarEnd = last;
    return this.share(plainValue(text.slice(i, last)));
  }

  /** Just past the scalar read last. */
  scalarEnd = 0;

  share(value: unknown): unknown {
    if (typeof value !== 'string' || value.length > MAX_SHARED_LENGTH) return value;
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    this.strings.set(value, value);
    return value;
  }
}

function isFlowIndicator(c: number): boolean {
  return c === COMMA || c === LBRACKET || c === RBRACKET || c === LBRACE || c === RBRACE;
}

/** A flow collection wholly on one line, from `pos` (its `{` or `[`). */
class FlowLine {
  constructor(
    private readonly text: string,
    public pos: number,
    private readonly end: number,
    private readonly reader: BlockReader,
  ) {}

  collection(): unknown {
    return this.text.charCodeAt(this.pos) === LBRACE ? this.map() : this.seq();
  }

  private spaces(): void {
    while (this.pos < this.end && this.text.charCodeAt(this.pos) === SPACE) this.pos++;
    if (this.pos >= this.end) outside(); // a flow collection over several lines is yaml's
  }

  private map(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.pos++; // {
    this.spaces();
    if (this.text.charCodeAt(this.pos) === RBRACE) {
      this.pos++;
      return out;
    }
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (c === LBRACE || c === LBRACKET || c === COMMA || c === RBRACE) outside();
      // scalar() types a plain key as a value; one typed other than a string, or `<<`, is yaml's.
      const key = this.reader.scalar(this.pos, true, true);
      const end = this.reader.scalarEnd;
      if (typeof key !== 'string' || (key === '<<' && c !== DQUOTE && c !== SQUOTE)) outside();
      if (Object.prototype.hasOwnProperty.call(out, key)) outside();
      this.pos = end;
      // `key: value`; `{a}` and `{a: }` (null) are yaml's business too rarely to be worth reading here.
      if (this.text.charCodeAt(this.pos) !== COLON || this.text.charCodeAt(this.pos + 1) !== SPACE) outside();
      this.pos += 2;
      this.spaces();
      const value = this.value();
      if (key === '__proto__') Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
      else out[key] = value;
      this.spaces();
      const d = this.text.charCodeAt(this.pos);
      if (d === RBRACE) {
        this.pos++;
        return out;
      }
      if (d !== COMMA) outside();
      this.pos++;
      this.spaces();
      if (this.text.charCodeAt(this.pos) === RBRACE) outside(); // a trailing comma: yaml's
    }
  }

  private seq(): unknown[] {
    const out: unknown[] = [];
    this.pos++; // [
    this.spaces();
    if (this.text.charCodeAt(this.pos) === RBRACKET) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.spaces();
      const d = this.text.charCodeAt(this.pos);
      if (d === RBRACKET) {
        this.pos++;
        return out.slice();
      }
      if (d !== COMMA) outside();
      this.pos++;
      this.spaces();
      if (this.text.charCodeAt(this.pos) === RBRACKET) outside(); // a trailing comma: yaml's
    }
  }

  private value(): unknown {
    const c = this.text.charCodeAt(this.pos);
    if (c === LBRACE || c === LBRACKET) return this.collection();
    if (c === COMMA || c === RBRACE || c === RBRACKET) outside(); // an empty entry
    const value = this.reader.scalar(this.pos, true);
    this.pos = this.reader.scalarEnd;
    return value;
  }
}

/** A `kind: List`'s item offsets: its root `items` block sequence's, each item a node of its own. */
function listItemStarts(value: Record<string, unknown>, starts: number[] | undefined): number[] | undefined {
  const items = value['items'];
  if (!Array.isArray(items)) return undefined;
  if (starts === undefined || starts.length !== items.length || starts.includes(-1)) outside();
  return starts;
}
