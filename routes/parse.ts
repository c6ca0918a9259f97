// YAML manifests → Located resources, keeping file:line:col for every field.
// CONTRACT (owned by the parse/validate helper; signature fixed):
//
// Positions: `origin.at(path)` gives the position of the *key* for a map entry (`weight: fifty` points at
// `weight`), of the item itself for a list entry (just after `- `), and of the document's first node for
// the empty path. A missing field falls back to its nearest existing ancestor. The YAML node tree is kept
// per resource and walked on demand, so parsing pays nothing for positions that are never asked for.
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseAllDocuments } from 'yaml';
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

class NodeOrigin implements Origin {
  readonly source: SourceRef;
  constructor(
    readonly file: string,
    readonly doc: number,
    readonly order: number,
    private readonly root: YamlNode,
    private readonly document: Document,
    private readonly lines: LineCounter,
  ) {
    this.source = this.position(root.range?.[0] ?? 0);
  }

  at(path: string): SourceRef {
    let node: YamlNode | null = this.root;
    let offset = node.range?.[0] ?? 0;
    for (const segment of parseFieldPath(path)) {
      if (isAlias(node)) node = (node.resolve(this.document) as YamlNode | undefined) ?? null;
      if (node === null) break;
      if (typeof segment === 'number') {
        if (!isSeq(node)) break;
        const item = node.items[segment] as YamlNode | null | undefined;
        if (item === null || item === undefined || !item.range) break;
        node = item;
        offset = item.range[0];
      } else {
        if (!isMap(node)) break;
        const map: YAMLMap<unknown, unknown> = node;
        const pair: Pair<unknown, unknown> | undefined = map.items.find((p) => isScalar(p.key) && String(p.key.value) === segment);
        if (!pair) break;
        const key = pair.key as YamlNode;
        if (key.range) offset = key.range[0];
        node = (pair.value as YamlNode | null) ?? null;
      }
    }
    return this.position(offset);
  }

  private position(offset: number): SourceRef {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, col };
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
  const resources: Located[] = [];
  const diagnostics: Diagnostic[] = [];
  let order = options.orderBase ?? 0;

  for (const file of files) {
    const lines = new LineCounter();
    const parsed = parseAllDocuments(file.text, { lineCounter: lines, prettyErrors: false, merge: true });
    const documents = Array.isArray(parsed) ? parsed : [];
    const at = (offset: number): SourceRef => {
      const { line, col } = lines.linePos(offset);
      return { file: file.path, line, col };
    };

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

      const take = (node: YamlNode, object: unknown): void => {
        const origin = new NodeOrigin(file.path, docIndex, order, node, document, lines);
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
          take(itemNode ?? root, item);
        });
        return;
      }
      take(root, value);
    });
  }
  return { resources, diagnostics };
}

function firstLine(message: string): string {
  const nl = message.indexOf('\n');
  return nl < 0 ? message : message.slice(0, nl);
}

/** Checks the envelope (apiVersion, kind, metadata.name) and normalises metadata; undefined drops the document. */
function locate(value: unknown, origin: NodeOrigin, defaultNamespace: string, diagnostics: Diagnostic[]): Located | undefined {
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
