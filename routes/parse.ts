// YAML manifests → Located resources, keeping file:line:col for every field.
// CONTRACT (owned by the parse/validate helper; signature fixed):
//
// Positions: `origin.at(path)` gives the position of the *key* for a map entry (`weight: fifty` points at
// `weight`), of the item itself for a list entry (just after `- `), and of the document's first node for
// the empty path. A missing field falls back to its nearest existing ancestor. No YAML node tree is kept:
// a position is found by parsing the resource's document again when a diagnostic asks (see TextOrigin).
import { Composer, Parser, isAlias, isMap, isScalar, isSeq, parseAllDocuments } from 'yaml';
import type { Document, Node as YamlNode, Pair, YAMLMap } from 'yaml';
import { CfgCode } from '../core/codes.js';
import type { Diagnostic, SourceRef } from '../core/diagnostics.js';
import { KNOWN_KINDS } from './model/resource.js';
import type { KubeObject, Located, Origin } from './model/resource.js';
import { compactParsedValue } from './compact-values.js';
import { readCstDocument } from './yaml-cst-values.js';
import type { CstDocument } from './yaml-cst-values.js';
import { readBlockFile } from './yaml-block-reader.js';
import type { StringTable } from './compact-values.js';

export interface ManifestFile {
  /** Path used in diagnostics (relative to the config directory when read from one). */
  readonly path: string;
  readonly text: string;
}

export interface ParseOptions {
  /** Namespace given to documents without metadata.namespace (kubectl apply's default). */
  readonly defaultNamespace: string;
  /** Read order offset, so several sources give distinct, stable `origin.order`. */
  readonly orderBase?: number;
  /**
   * Which readers may read a file: by default the line reader (routes/yaml-block-reader.ts) for files in
   * its subset, else yaml's CST (routes/yaml-cst-values.ts) document by document, else yaml's Composer.
   * 'cst' skips the line reader; 'composer' reads everything with the Composer, the reference the others
   * are tested against (test/routes/parse-cst-equivalence.test.ts).
   */
  readonly reader?: 'lines' | 'cst' | 'composer';
}

export interface ParseResult {
  /** Every document of a known kind, in read order (files sorted by path, documents in order). */
  readonly resources: Located[];
  /** YAML syntax errors (error), missing kind (error), unknown kinds (info). */
  readonly diagnostics: Diagnostic[];
}

// ----- field paths ----------------------------------------------------------------------------------

/** One step of a field path: a map key or a list index. */
export type PathSegment = string | number;

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `['spec','http',0,'match']` → `spec.http[0].match`; keys outside identifiers are quoted: `labels["a.b/c"]`. */
export function fieldPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (PLAIN_KEY.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** The inverse of fieldPath. A malformed path yields the segments read before the fault. */
export function parseFieldPath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  let i = 0;
  while (i < path.length) {
    const c = path[i];
    if (c === '.') {
      i++;
    } else if (c === '[') {
      if (path[i + 1] === '"') {
        const end = closingQuote(path, i + 2);
        if (end < 0) return segments;
        try {
          segments.push(JSON.parse(path.slice(i + 1, end + 1)) as string);
        } catch {
          return segments;
        }
        i = end + 2; // past `"]`
      } else {
        const end = path.indexOf(']', i);
        if (end < 0) return segments;
        const n = Number(path.slice(i + 1, end));
        if (!Number.isInteger(n)) return segments;
        segments.push(n);
        i = end + 1;
      }
    } else {
      let end = i;
      while (end < path.length && path[end] !== '.' && path[end] !== '[') end++;
      segments.push(path.slice(i, end));
      i = end;
    }
  }
  return segments;
}

function closingQuote(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '"') return i;
  }
  return -1;
}

// ----- origins --------------------------------------------------------------------------------------

/** A file's text and its line starts, shared by the origins of the file's resources. */
class SourceText {
  #lineStarts: Uint32Array | undefined;
  constructor(
    readonly path: string,
    readonly text: string,
  ) {}

  /** 1-based line and column of a code-unit offset (lines end at `\n`, as YAML's do). */
  position(offset: number): SourceRef {
    const starts = (this.#lineStarts ??= lineStarts(this.text));
    let low = 0;
    let high = starts.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((starts[mid] as number) <= offset) low = mid + 1;
      else high = mid;
    }
    return { file: this.path, line: low, col: offset - (starts[low - 1] ?? 0) + 1 };
  }
}

function lineStarts(text: string): Uint32Array {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  const starts = new Uint32Array(n);
  let k = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts[k++] = i + 1;
  return starts;
}

interface ParsedNode {
  readonly root: YamlNode;
  readonly document: Document;
  readonly base: number;
}

/**
 * Where a resource is, without its YAML node tree: a parsed tree with positions costs tens of times the
 * text, and at 50,000 routes it was most of the process's memory. Positions are asked for only by
 * diagnostics, so `at` parses the resource's document again from the file's text (one document, not the
 * file) and walks that tree; the tree is held weakly for the next question about the same resource.
 */
class TextOrigin implements Origin {
  #source: SourceRef | undefined;
  #tree: WeakRef<ParsedNode> | undefined;
  constructor(
    private readonly text: SourceText,
    readonly doc: number,
    readonly order: number,
    /** The document's range in the file's text. */
    private readonly docStart: number,
    private readonly docEnd: number,
    /** Offset of the resource's node (the document's, or its item's in a `kind: List`). */
    private readonly nodeStart: number,
    /** Index in a List document's `items`, or -1 for the document itself. */
    private readonly item: number,
  ) {}

  get file(): string {
    return this.text.path;
  }

  /** The document's range in the file's text. */
  get range(): readonly [number, number] {
    return [this.docStart, this.docEnd];
  }

  /** The same resource in `text`, an edited version of this file where it starts `shift` code units later. */
  moved(text: SourceText, shift: number, order: number): TextOrigin {
    return new TextOrigin(text, this.doc, order, this.docStart + shift, this.docEnd + shift, this.nodeStart + shift, this.item);
  }

  get source(): SourceRef {
    return (this.#source ??= this.text.position(this.nodeStart));
  }

  at(path: string): SourceRef {
    if (path === '') return this.source;
    const found = this.tree();
    if (!found) return this.source;
    const { root, document, base } = found;
    let node: YamlNode | null = root;
    let offset = this.nodeStart;
    for (const segment of parseFieldPath(path)) {
      if (isAlias(node)) node = (node.resolve(document) as YamlNode | undefined) ?? null;
      if (node === null) break;
      if (typeof segment === 'number') {
        if (!isSeq(node)) break;
        const item = node.items[segment] as YamlNode | null | undefined;
        if (item === null || item === undefined || !item.range) break;
        node = item;
        offset = base + item.range[0];
      } else {
        if (!isMap(node)) break;
        const map: YAMLMap<unknown, unknown> = node;
        const pair: Pair<unknown, unknown> | undefined = map.items.find((p) => isScalar(p.key) && String(p.key.value) === segment);
        if (!pair) break;
        const key = pair.key as YamlNode;
        if (key.range) offset = base + key.range[0];
        node = (pair.value as YamlNode | null) ?? null;
      }
    }
    return this.text.position(offset);
  }

  /** The resource's node in its document parsed again; `base` turns the tree's offsets into the file's. */
  private tree(): ParsedNode | undefined {
    const cached = this.#tree?.deref();
    if (cached) return cached;
    // The document alone first; a file whose documents need its directives (%TAG) is parsed whole.
    const found = this.reparse(this.text.text.slice(this.docStart, this.docEnd), 0, this.docStart) ?? this.reparse(this.text.text, this.doc, 0);
    if (found) this.#tree = new WeakRef(found);
    return found;
  }

  private reparse(text: string, index: number, base: number): ParsedNode | undefined {
    const documents = parseAllDocuments(text, { prettyErrors: false, merge: true });
    const document = Array.isArray(documents) ? documents[index] : undefined;
    if (!document || document.errors.length > 0) return undefined;
    let root = document.contents as YamlNode | null;
    if (root === null) return undefined;
    if (this.item >= 0) {
      const items = isMap(root) ? (root.get('items', true) as YamlNode | undefined) : undefined;
      const item = isSeq(items) ? (items.items[this.item] as YamlNode | null | undefined) : undefined;
      if (!item) return undefined;
      root = item;
    }
    // The node must start where the first parse saw it; otherwise this is not the same text.
    if (!root.range || base + root.range[0] !== this.nodeStart) return undefined;
    return { root, document, base };
  }

  // Diagnostics and config dumps print resources; the YAML tree behind an origin is not worth dumping.
  toJSON(): SourceRef & { doc: number; order: number } {
    return { ...this.source, doc: this.doc, order: this.order };
  }
}

// ----- parsing --------------------------------------------------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** kubectl prints `kind: List`; the API server's own lists are `ServiceList`, `SecretList`, ... */
function isListKind(kind: unknown, value: Record<string, unknown>): boolean {
  return typeof kind === 'string' && kind.endsWith('List') && !(kind in KNOWN_KINDS) && Array.isArray(value['items']);
}

export function parseManifests(files: readonly ManifestFile[], options: ParseOptions): ParseResult {
  return withPlainEnv(() => parseFiles(files, options));
}

/**
 * yaml's Parser reads `process.env.LOG_TOKENS` once per token (4 million tokens in 8.4 MiB of manifests),
 * and node's env object is an interceptor into the C environment: ~0.5–1.3 µs a read, 10–15% of a cold
 * parse. A plain copy stands in while the synchronous parse runs (nothing else runs meanwhile), and the
 * real object is put back before returning.
 */
function withPlainEnv<T>(fn: () => T): T {
  const real = process.env;
  try {
    process.env = { ...real };
  } catch {
    return fn();
  }
  try {
    return fn();
  } finally {
    process.env = real;
  }
}

function parseFiles(files: readonly ManifestFile[], options: ParseOptions): ParseResult {
  const resources: Located[] = [];
  const diagnostics: Diagnostic[] = [];
  let order = options.orderBase ?? 0;

  for (const file of files) {
    const source = new SourceText(file.path, file.text);
    const reader = options.reader ?? 'lines';
    if (reader === 'lines') {
      const read = readFileFromLines(file.text, source, order, options.defaultNamespace, resources, diagnostics);
      if (read >= 0) {
        order = read;
        continue;
      }
    }
    const fast = reader === 'composer' ? -1 : readFileFromCst(file.text, source, order, options.defaultNamespace, resources, diagnostics);
    if (fast >= 0) {
      order = fast;
      continue;
    }
    order = readFileComposed(file.text, source, order, options.defaultNamespace, resources, diagnostics);
  }
  return { resources, diagnostics };
}

const COMPOSE_OPTIONS = { prettyErrors: false, merge: true } as const;

/** A file in the line reader's subset of YAML; -1 (nothing read) for any other. Returns the next order. */
function readFileFromLines(text: string, source: SourceText, order: number, defaultNamespace: string, resources: Located[], diagnostics: Diagnostic[]): number {
  const documents = readBlockFile(text, new Map());
  if (documents === undefined) return -1;
  for (let docIndex = 0; docIndex < documents.length; docIndex++) {
    const read = documents[docIndex] as CstDocument;
    if (read.value !== undefined) order = takeResources(read.value, read.nodeStart, read.itemStarts, docIndex, source, read.docStart, read.docEnd, order, defaultNamespace, resources, diagnostics);
  }
  return order;
}

/**
 * A file read document by document from yaml's CST (routes/yaml-cst-values.ts), each document the reader
 * cannot take composed alone by yaml's Composer. Returns the next order, or -1 (with `resources` and
 * `diagnostics` as they were) when the stream holds anything between documents but comments — directives,
 * `...`, a byte order mark, errors: those relate documents to each other, and the whole file is the
 * Composer's (readFileComposed).
 */
function readFileFromCst(text: string, source: SourceText, order: number, defaultNamespace: string, resources: Located[], diagnostics: Diagnostic[]): number {
  const resourceCount = resources.length;
  const diagnosticCount = diagnostics.length;
  const strings: StringTable = new Map();
  let docIndex = 0;
  for (const token of new Parser().parse(text)) {
    const type = token.type;
    if (type === 'space' || type === 'newline' || type === 'comment') continue;
    if (type !== 'document') {
      resources.length = resourceCount;
      diagnostics.length = diagnosticCount;
      return -1;
    }
    const read = readCstDocument(token, strings);
    if (read !== undefined) {
      if (read.value !== undefined) order = takeResources(read.value, read.nodeStart, read.itemStarts, docIndex, source, read.docStart, read.docEnd, order, defaultNamespace, resources, diagnostics);
    } else {
      // The document alone through a fresh Composer: with no directives or errors between documents,
      // the file's Composer would give this document the same value and errors.
      for (const document of new Composer(COMPOSE_OPTIONS).compose([token])) {
        order = readDocument(document, docIndex, source, 0, order, defaultNamespace, resources, diagnostics, strings);
      }
    }
    docIndex++;
  }
  return order;
}

/** A file through yaml's Composer, document by document. Returns the next order. */
function readFileComposed(text: string, source: SourceText, order: number, defaultNamespace: string, resources: Located[], diagnostics: Diagnostic[]): number {
  const strings: StringTable = new Map();
  // Document by document (what parseAllDocuments does, without holding every document's tree until the
  // file ends): each tree is garbage as soon as its resources are read, young enough to die in new
  // space, instead of surviving into old space and leaving it fragmented around the config it built.
  const composer = new Composer(COMPOSE_OPTIONS);
  let docIndex = 0;
  for (const document of composer.compose(new Parser().parse(text))) {
    order = readDocument(document, docIndex++, source, 0, order, defaultNamespace, resources, diagnostics, strings);
  }
  return order;
}

/**
 * One parsed document → its resources (appended to `resources`, orders from `order`) and diagnostics.
 * `offset` is where the parsed text starts in the file (0 when the whole file was parsed). Returns the
 * next order.
 */
function readDocument(
  document: Document,
  docIndex: number,
  source: SourceText,
  offset: number,
  order: number,
  defaultNamespace: string,
  resources: Located[],
  diagnostics: Diagnostic[],
  strings: StringTable,
): number {
  const at = (o: number): SourceRef => source.position(offset + o);
  if (document.errors.length > 0) {
    for (const error of document.errors) {
      diagnostics.push({
        severity: 'error',
        code: CfgCode.YAML,
        message: `YAML syntax error: ${firstLine(error.message)}`,
        source: at(error.pos[0]),
      });
    }
    return order;
  }
  const root = document.contents as YamlNode | null;
  if (root === null || (isScalar(root) && root.value === null)) return order; // empty document
  let value: unknown;
  try {
    value = compactParsedValue(document.toJS({ maxAliasCount: 1000 }), strings);
  } catch (err) {
    diagnostics.push({
      severity: 'error',
      code: CfgCode.YAML,
      message: `YAML document cannot be read: ${err instanceof Error ? err.message : String(err)}`,
      source: at(root.range?.[0] ?? 0),
    });
    return order;
  }
  const [rangeStart, , rangeEnd] = document.range as [number, number, number];
  const nodeStart = root.range ? offset + root.range[0] : offset + rangeStart;
  let itemStarts: number[] | undefined;
  if (isRecord(value) && isListKind(value['kind'], value) && isMap(root)) {
    const itemsNode = root.get('items', true) as YamlNode | undefined;
    itemStarts = (value['items'] as unknown[]).map((_, i) => {
      const itemNode = isSeq(itemsNode) ? (itemsNode.items[i] as YamlNode | null | undefined) : undefined;
      return itemNode ? (itemNode.range ? offset + itemNode.range[0] : offset + rangeStart) : -1;
    });
  }
  return takeResources(value, nodeStart, itemStarts, docIndex, source, offset + rangeStart, offset + rangeEnd, order, defaultNamespace, resources, diagnostics);
}

/**
 * A document's value → its resources: the value itself, or each item of a `kind: List`. `itemStarts`
 * gives each List item's offset (-1: the item has no node of its own, so it is placed at the document).
 */
function takeResources(
  value: unknown,
  nodeStart: number,
  itemStarts: readonly number[] | undefined,
  docIndex: number,
  source: SourceText,
  docStart: number,
  docEnd: number,
  order: number,
  defaultNamespace: string,
  resources: Located[],
  diagnostics: Diagnostic[],
): number {
  const take = (start: number, item: number, object: unknown): void => {
    const origin = new TextOrigin(source, docIndex, order, docStart, docEnd, start, item);
    const located = locate(object, origin, defaultNamespace, diagnostics);
    if (located) {
      resources.push(located);
      order++;
    }
  };
  if (isRecord(value) && isListKind(value['kind'], value) && itemStarts !== undefined) {
    const items = value['items'] as unknown[];
    for (let i = 0; i < items.length; i++) {
      const start = itemStarts[i] ?? -1;
      if (start >= 0) take(start, i, items[i]);
      else take(nodeStart, -1, items[i]);
    }
    return order;
  }
  take(nodeStart, -1, value);
  return order;
}

// ----- one document edited --------------------------------------------------------------------------

/** A document start marker: `---` at the start of a line, then a space, a tab, a line end or the end. */
const MARKER = /^---(?=[ \t\r\n]|$)/gm;

function markers(text: string, from: number, to: number): number[] {
  const out: number[] = [];
  MARKER.lastIndex = from;
  for (let m = MARKER.exec(text); m && m.index < to; m = MARKER.exec(text)) out.push(m.index);
  return out;
}

function isMarkerAt(text: string, i: number): boolean {
  return (i === 0 || text.charCodeAt(i - 1) === 10) && text.startsWith('---', i) && (i + 3 === text.length || ' \t\r\n'.includes(text[i + 3] as string));
}

function newlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf('\n', from); i >= 0 && i < to; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * The file `next` parsed as parseManifests([{path, text: next}], options) would parse it, given that
 * `previousText` parsed to `previous` (its resources, in order, with no diagnostics): when the edit lies
 * inside one `---`-started document and keeps the number of lines, only that document is parsed; the
 * others keep their objects (same content, same line and column everywhere) under origins that point
 * into the new text. Undefined whenever that does not hold (the caller parses the whole file): an edit
 * across or of a `---` line, a changed line count, directives (`%`) or `...` ends anywhere, a document
 * that had no resource or now reports anything.
 */
export function reparseEditedDocument(path: string, previousText: string, previous: readonly Located[], next: string, options: ParseOptions): Located[] | undefined {
  return withPlainEnv(() => reparseEdited(path, previousText, previous, next, options));
}

const UNSPLITTABLE = /^(%|\.\.\.)/m;

function reparseEdited(path: string, previousText: string, previous: readonly Located[], next: string, options: ParseOptions): Located[] | undefined {
  if (UNSPLITTABLE.test(previousText) || UNSPLITTABLE.test(next)) return undefined;
  const min = Math.min(previousText.length, next.length);
  let p = 0;
  while (p < min && previousText.charCodeAt(p) === next.charCodeAt(p)) p++;
  let s = 0;
  while (s < min - p && previousText.charCodeAt(previousText.length - 1 - s) === next.charCodeAt(next.length - 1 - s)) s++;
  const nextChangeEnd = next.length - s;
  const previousChangeEnd = previousText.length - s;
  // The document holding the edit: the last marker whose line ends before the first changed character.
  const before = markers(next, 0, p);
  let start = -1;
  for (let k = before.length - 1; k >= 0; k--) {
    const m = before[k] as number;
    const nl = next.indexOf('\n', m);
    if (nl >= 0 && nl < p) {
      start = m;
      break;
    }
  }
  if (start < 0) return undefined;
  // No marker from there to the end of the change, in either text; the document ends at the next one.
  if (markers(next, start + 1, nextChangeEnd).length > 0 || markers(previousText, start + 1, previousChangeEnd).length > 0) return undefined;
  const [end] = markers(next, nextChangeEnd, next.length);
  const nextEnd = end ?? next.length;
  const shift = next.length - previousText.length;
  const previousEnd = nextEnd - shift;
  if (end !== undefined && !isMarkerAt(previousText, previousEnd)) return undefined;
  if (newlines(previousText, p, previousChangeEnd) !== newlines(next, p, nextChangeEnd)) return undefined;

  const ranges = previous.map((r) => (r.origin instanceof TextOrigin ? r.origin : undefined));
  if (ranges.some((o) => o === undefined)) return undefined;
  const origins = ranges as TextOrigin[];
  const inDocument = origins.filter((o) => o.range[0] === start);
  if (inDocument.length === 0 || origins.some((o) => o.range[0] > start && o.range[0] < previousEnd)) return undefined;
  const docIndex = (inDocument[0] as TextOrigin).doc;

  const parsed = parseAllDocuments(next.slice(start, nextEnd), { prettyErrors: false, merge: true });
  if (!Array.isArray(parsed) || parsed.length !== 1) return undefined;
  const source = new SourceText(path, next);
  const resources: Located[] = [];
  const diagnostics: Diagnostic[] = [];
  let order = options.orderBase ?? 0;
  let i = 0;
  for (; i < previous.length && (origins[i] as TextOrigin).range[0] < start; i++) {
    resources.push({ object: (previous[i] as Located).object, origin: (origins[i] as TextOrigin).moved(source, 0, order++) });
  }
  while (i < previous.length && (origins[i] as TextOrigin).range[0] === start) i++;
  order = readDocument(parsed[0] as Document, docIndex, source, start, order, options.defaultNamespace, resources, diagnostics, new Map());
  if (diagnostics.length > 0) return undefined;
  for (; i < previous.length; i++) {
    resources.push({ object: (previous[i] as Located).object, origin: (origins[i] as TextOrigin).moved(source, shift, order++) });
  }
  return resources;
}

function firstLine(message: string): string {
  const nl = message.indexOf('\n');
  return nl < 0 ? message : message.slice(0, nl);
}

/** Checks the envelope (apiVersion, kind, metadata.name) and normalises metadata; undefined drops the document. */
function locate(value: unknown, origin: TextOrigin, defaultNamespace: string, diagnostics: Diagnostic[]): Located | undefined {
  if (!isRecord(value)) {
    diagnostics.push({
      severity: 'error',
      code: CfgCode.NO_KIND,
      message: 'document is not a mapping with apiVersion and kind',
      source: origin.source,
    });
    return undefined;
  }
  const { apiVersion, kind } = value;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || apiVersion === '' || kind === '') {
    const missing = typeof kind !== 'string' || kind === '' ? 'kind' : 'apiVersion';
    diagnostics.push({
      severity: 'error',
      code: CfgCode.NO_KIND,
      message: `document has no ${missing} (a string is required)`,
      source: origin.at(missing),
      field: missing,
    });
    return undefined;
  }
  const versions = KNOWN_KINDS[kind];
  const metadata = isRecord(value['metadata']) ? value['metadata'] : {};
  const name = metadata['name'];
  const namespace = typeof metadata['namespace'] === 'string' && metadata['namespace'] !== '' ? metadata['namespace'] : defaultNamespace;
  const label = `${kind}/${namespace}/${typeof name === 'string' ? name : '?'}`;
  if (!versions) {
    diagnostics.push({
      severity: 'info',
      code: CfgCode.UNKNOWN_KIND,
      message: `kind ${kind} (${apiVersion}) is not read by Gatehouse; ignored`,
      source: origin.source,
      resource: label,
    });
    return undefined;
  }
  if (!versions.includes(apiVersion)) {
    diagnostics.push({
      severity: 'error',
      code: CfgCode.VALUE,
      message: `apiVersion ${JSON.stringify(apiVersion)} is not accepted for kind ${kind}; use one of ${versions.join(', ')}`,
      source: origin.at('apiVersion'),
      resource: label,
      field: 'apiVersion',
    });
    return undefined;
  }
  if (typeof name !== 'string' || name === '') {
    diagnostics.push({
      severity: 'error',
      code: CfgCode.NAME,
      message: `${kind} has no metadata.name`,
      source: origin.at('metadata.name'),
      resource: label,
      field: 'metadata.name',
    });
    return undefined;
  }
  const object = { ...value, metadata: { ...metadata, name, namespace } } as KubeObject;
  return { object, origin };
}
