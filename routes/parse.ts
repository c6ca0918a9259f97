// YAML manifests → Located resources, keeping file:line:col for every field.
// CONTRACT (owned by the parse/validate helper; signature fixed):
//
// Positions: `origin.at(path)` gives the position of the *key* for a map entry (`weight: fifty` points at
// `weight`), of the item itself for a list entry (just after `- `), and of the document's first node for
// the empty path. A missing field falls back to its nearest existing ancestor. No YAML node tree is kept:
// a position is found by parsing the resource's document again when a diagnostic asks (see TextOrigin).
import { isAlias, isMap, isScalar, isSeq, parseAllDocuments } from 'yaml';
import type { Document, Node as YamlNode, Pair, YAMLMap } from 'yaml';
import { CfgCode } from '../core/codes.js';
import type { Diagnostic, SourceRef } from '../core/diagnostics.js';
import { KNOWN_KINDS } from './model/resource.js';
import type { KubeObject, Located, Origin } from './model/resource.js';

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
    const parsed = parseAllDocuments(file.text, { prettyErrors: false, merge: true });
    const documents = Array.isArray(parsed) ? parsed : [];
    const at = (offset: number): SourceRef => source.position(offset);

    documents.forEach((document, docIndex) => {
      if (document.errors.length > 0) {
        for (const error of document.errors) {
          diagnostics.push({
            severity: 'error',
            code: CfgCode.YAML,
            message: `YAML syntax error: ${firstLine(error.message)}`,
            source: at(error.pos[0]),
          });
        }
        return;
      }
      const root = document.contents as YamlNode | null;
      if (root === null || (isScalar(root) && root.value === null)) return; // empty document
      let value: unknown;
      try {
        value = document.toJS({ maxAliasCount: 1000 });
      } catch (err) {
        diagnostics.push({
          severity: 'error',
          code: CfgCode.YAML,
          message: `YAML document cannot be read: ${err instanceof Error ? err.message : String(err)}`,
          source: at(root.range?.[0] ?? 0),
        });
        return;
      }
      const [docStart, , docEnd] = document.range;

      const take = (node: YamlNode, item: number, object: unknown): void => {
        const origin = new TextOrigin(source, docIndex, order, docStart, docEnd, node.range?.[0] ?? docStart, item);
        const located = locate(object, origin, options.defaultNamespace, diagnostics);
        if (located) {
          resources.push(located);
          order++;
        }
      };

      if (isRecord(value) && isListKind(value['kind'], value) && isMap(root)) {
        const itemsNode = root.get('items', true) as YamlNode | undefined;
        const items = value['items'] as unknown[];
        items.forEach((item, i) => {
          const itemNode = isSeq(itemsNode) ? (itemsNode.items[i] as YamlNode | null | undefined) : undefined;
          if (itemNode) take(itemNode, i, item);
          else take(root, -1, item);
        });
        return;
      }
      take(root, -1, value);
    });
  }
  return { resources, diagnostics };
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
