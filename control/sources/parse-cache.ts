// Per-file parse results for a directory source, keyed by (relative path, sha256 of the content), so a
// change re-parses only the files whose content changed.
//
// Origin.order must stay exactly what one parseManifests call over all files (sorted by path) would give:
// a running index over the located resources of every file, starting at the source's orderBase. Within a
// file, parseManifests numbers its resources contiguously (base, base+1, ...), so a file's orders depend
// only on its own content and on `base` = orderBase + the number of resources of all earlier files.
//
// Scheme: a file is parsed on its own with `orderBase: base` at the time of parsing. On later reads, an
// unchanged file whose base is unchanged is emitted with its very same Located objects. When an earlier
// file gained or lost resources (or was added/removed), the file's base shifts: it is NOT re-parsed, and
// nothing is mutated (Located/Origin are treated as immutable, earlier snapshots still hold them); instead
// each resource gets a new Located with the same `object` and an origin that delegates positions to the
// parsed origin and carries the new order `base + i`. The result is then rebased from the originally
// parsed Located (never wrapper on wrapper) and cached for that base, so identity is again stable until
// the base moves. Resource orders, and hence VirtualService merge order, are thus equal to those of a
// fresh full parse; diagnostics carry no order and are kept per file and emitted, in file order, on
// every read, as a full parse would.
//
// A changed file whose last parse reported nothing is first offered to parse.ts's reparseEditedDocument:
// when the edit lies inside one `---` document and keeps the line count, only that document is parsed and
// the others keep their objects (under origins pointing into the new text, positions unchanged), so a
// one-resource edit in a 100-document file costs one document and the build sees one changed object.
import { createHash } from 'node:crypto';
import type { Diagnostic, SourceRef } from '../../core/diagnostics.js';
import { parseManifests, reparseEditedDocument } from '../../routes/parse.js';
import type { Located, Origin } from '../../routes/model/resource.js';

export interface CachedFile {
  /** Relative path (cache key). */
  readonly rel: string;
  /** Path used in diagnostics and origins. */
  readonly display: string;
  readonly text: string;
  /** sha256 of text, hex. */
  readonly hash: string;
}

interface Entry {
  readonly hash: string;
  /** The file's text as parsed, to find what an edit changed. */
  readonly text: string;
  /** As parsed: orders parsedBase, parsedBase+1, ... */
  readonly parsed: readonly Located[];
  readonly parsedBase: number;
  readonly diagnostics: readonly Diagnostic[];
  /** The Located objects last emitted, valid for currentBase. */
  current: readonly Located[];
  currentBase: number;
}

/** An origin of a known resource moved to another read order: positions come from the parsed origin. */
class RebasedOrigin implements Origin {
  readonly file: string;
  readonly doc: number;
  readonly source: SourceRef;
  constructor(
    private readonly inner: Origin,
    readonly order: number,
  ) {
    this.file = inner.file;
    this.doc = inner.doc;
    this.source = inner.source;
  }
  at(path: string): SourceRef {
    return this.inner.at(path);
  }
  toJSON(): SourceRef & { doc: number; order: number } {
    return { ...this.source, doc: this.doc, order: this.order };
  }
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface ParseCacheStats {
  /** Files parsed by the last read. */
  parsed: number;
  /** Files whose cached Located objects were re-based to a new order by the last read. */
  rebased: number;
  /** Files reused as they were. */
  reused: number;
  /** Of the files parsed, those where only the edited document was (the others kept their objects). */
  documents: number;
}

export class ParseCache {
  readonly #entries = new Map<string, Entry>();
  readonly #defaultNamespace: string;
  readonly #orderBase: number;
  /** Counters of the last `parse` call (tests and benchmarks). */
  readonly last: ParseCacheStats = { parsed: 0, rebased: 0, reused: 0, documents: 0 };

  constructor(defaultNamespace: string, orderBase: number) {
    this.#defaultNamespace = defaultNamespace;
    this.#orderBase = orderBase;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The resources and diagnostics of `files` (sorted by path), as one parseManifests call over them
   * would give; entries of files no longer present are dropped. Throws what parseManifests throws.
   */
  parse(files: readonly CachedFile[]): { resources: Located[]; diagnostics: Diagnostic[] } {
    const resources: Located[] = [];
    const diagnostics: Diagnostic[] = [];
    const seen = new Set<string>();
    const stats: ParseCacheStats = { parsed: 0, rebased: 0, reused: 0, documents: 0 };
    let base = this.#orderBase;
    for (const file of files) {
      seen.add(file.rel);
      let entry = this.#entries.get(file.rel);
      if (!entry || entry.hash !== file.hash) {
        // An edit inside one document re-parses that document only (clean files: no diagnostics to place).
        const edited =
          entry && entry.diagnostics.length === 0
            ? reparseEditedDocument(file.display, entry.text, entry.parsed, file.text, { defaultNamespace: this.#defaultNamespace, orderBase: base })
            : undefined;
        const result = edited
          ? { resources: edited, diagnostics: [] }
          : parseManifests([{ path: file.display, text: file.text }], {
              defaultNamespace: this.#defaultNamespace,
              orderBase: base,
            });
        if (edited) stats.documents++;
        entry = {
          hash: file.hash,
          text: file.text,
          parsed: result.resources,
          parsedBase: base,
          diagnostics: result.diagnostics,
          current: result.resources,
          currentBase: base,
        };
        this.#entries.set(file.rel, entry);
        stats.parsed++;
      } else if (entry.currentBase !== base) {
        entry.current =
          base === entry.parsedBase
            ? entry.parsed
            : entry.parsed.map((r, i) => ({ object: r.object, origin: new RebasedOrigin(r.origin, base + i) }));
        entry.currentBase = base;
        stats.rebased++;
      } else {
        stats.reused++;
      }
      for (const r of entry.current) resources.push(r);
      for (const d of entry.diagnostics) diagnostics.push(d);
      base += entry.current.length;
    }
    for (const rel of [...this.#entries.keys()]) if (!seen.has(rel)) this.#entries.delete(rel);
    Object.assign(this.last, stats);
    return { resources, diagnostics };
  }

  clear(): void {
    this.#entries.clear();
  }
}
