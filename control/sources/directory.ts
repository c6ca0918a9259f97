// A directory of YAML manifests as a config source: every `.yaml`/`.yml` file under it, subfolders
// included, read in sorted relative-path order and emitted as one full set on start and on every change.
//
// Paths in diagnostics: the directory as the user gave it joined with the file's relative path, so
// `--config ./my-manifests` reports `my-manifests/vs/reviews.yaml:12:7` — a path that the user's terminal
// and editor open directly from the directory they ran the command in (an absolute --config stays
// absolute). A bare relative path (`vs/reviews.yaml`) would be ambiguous next to the user's other files.
//
// Watching: fs.watch with `recursive: true` (supported on Linux since Node 19.1; it watches directories
// created later too). Any event re-scans everything after a short settle (files whose stat is unchanged
// are not read again, see readManifest); an update byte-identical to the
// last one emitted is dropped, so editors' save dances and touch(1) cause no build. Parsing is cached per
// file by (relative path, sha256 of content): only changed files are parsed again, unchanged ones keep
// their Located objects, and read order stays that of a full parse (see parse-cache.ts).
//
// Kubernetes ConfigMap and Secret volumes swap a `..data` symlink to a new `..<timestamp>` folder. Their
// top-level files are symlinks into `..data`, which are read (symlinked files are followed), and the swap
// is a rename in the root, which fires an event: covered by a test. Still open: a mounted volume whose
// real files change without any event in the watched tree, and symlinked directories, which are never
// descended into (no cycles).
import { watch } from 'node:fs';
import type { Dirent, FSWatcher } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Diagnostic } from '../../core/diagnostics.js';
import { ErrCode, GatehouseError } from '../../core/errors.js';
import { CfgCode } from '../../core/codes.js';
import { ParseCache, sha256 } from './parse-cache.js';
import type { CachedFile } from './parse-cache.js';
import type { ConfigSource, SourceUpdate } from '../source.js';

/** A file or folder that exists but cannot be read; the candidate is rejected until it can. */
export const READ_ERROR_CODE = CfgCode.READ;

export interface DirectorySourceOptions {
  /** Namespace for documents without metadata.namespace. */
  readonly defaultNamespace: string;
  /** Offset for Origin.order, so several sources keep distinct read orders. */
  readonly orderBase?: number;
  /** Quiet time after a file-system event before re-reading; coalesces an editor's save. Default 20 ms. */
  readonly settleMs?: number;
  /** While the directory is missing, how often to look for it again. Default 1000 ms. */
  readonly retryMs?: number;
}

const MANIFEST = /\.ya?ml$/i;

/** A file changed less than this before it was read may change again unseen by its timestamps. */
const RACY_MS = 2000;

interface FileRead {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  /** Wall-clock ms when the read started. */
  readonly readAt: number;
  readonly file: CachedFile;
}

/** Editors' swap, backup and probe files, which are never manifests even when they end in .yaml. */
export function isIgnoredName(name: string): boolean {
  return (
    name.startsWith('.') || // dotfiles, `.#lock` files, vim's `.x.swp`
    name.endsWith('~') ||
    (name.startsWith('#') && name.endsWith('#')) ||
    name.endsWith('.swp') ||
    name.endsWith('.swx') ||
    name.endsWith('.tmp') ||
    name === '4913' // vim's write-permission probe
  );
}

interface DirectoryRead {
  readonly files: CachedFile[];
  readonly diagnostics: Diagnostic[];
}

export function createDirectorySource(dir: string, options: DirectorySourceOptions): ConfigSource {
  const settleMs = options.settleMs ?? 20;
  const retryMs = options.retryMs ?? 1000;
  let emitFn: ((update: SourceUpdate) => void) | undefined;
  let watcher: FSWatcher | undefined;
  let settleTimer: ReturnType<typeof setTimeout> | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let scanning: Promise<void> | undefined;
  let rescanAfter = false;
  let lastFingerprint: string | undefined;
  let stopped = false;
  const cache = new ParseCache(options.defaultNamespace, options.orderBase ?? 0);
  /** Per relative path: the stat a file had when read, and what was read (see readManifest). */
  const readCache = new Map<string, FileRead>();

  const display = (rel: string): string => join(dir, rel);

  function readError(rel: string, err: unknown): Diagnostic {
    const code = (err as NodeJS.ErrnoException)?.code ?? 'error';
    return {
      severity: 'error',
      code: READ_ERROR_CODE,
      message: `cannot read ${display(rel) || dir}: ${code} (${(err as Error)?.message ?? String(err)})`,
      source: { file: display(rel), line: 1, col: 1 },
    };
  }

  /**
   * A file's text and hash, read again only when its stat changed. A rescan reads every manifest: at 8 MiB
   * of YAML that was most of a one-file change's latency, and garbage for the build that follows. Any write
   * moves ctime (which no tool can set back) and usually size and mtime; same device, inode, size, mtime
   * and ctime means the same content, unless the file changed within the file system's timestamp
   * granularity of when we read it: as git does with "racily clean" entries, a file whose ctime is less
   * than RACY_MS before the read that cached it is read again.
   */
  async function readManifest(rel: string): Promise<CachedFile> {
    const path = join(dir, rel);
    const st = await stat(path, { bigint: true });
    const cached = readCache.get(rel);
    const ctimeMs = Number(st.ctimeNs / 1_000_000n);
    if (
      cached &&
      cached.dev === st.dev &&
      cached.ino === st.ino &&
      cached.size === st.size &&
      cached.mtimeNs === st.mtimeNs &&
      cached.ctimeNs === st.ctimeNs &&
      cached.readAt - ctimeMs > RACY_MS
    ) {
      return cached.file;
    }
    const readAt = Date.now();
    const text = await readFile(path, 'utf8');
    const file: CachedFile = { rel, display: display(rel), text, hash: sha256(text) };
    readCache.set(rel, { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, readAt, file });
    return file;
  }

  async function collect(): Promise<DirectoryRead> {
    const files: CachedFile[] = [];
    const diagnostics: Diagnostic[] = [];
    async function walk(relDir: string): Promise<void> {
      let entries: Dirent[];
      try {
        entries = await readdir(join(dir, relDir), { withFileTypes: true });
      } catch (err) {
        // A folder deleted while we walked is simply gone; anything else is worth telling.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') diagnostics.push(readError(relDir, err));
        return;
      }
      for (const entry of entries) {
        if (isIgnoredName(entry.name)) continue;
        const rel = relDir === '' ? entry.name : posix.join(relDir, entry.name);
        if (entry.isDirectory()) {
          await walk(rel);
          continue;
        }
        if (!MANIFEST.test(entry.name)) continue;
        if (entry.isSymbolicLink()) {
          try {
            if (!(await stat(join(dir, rel))).isFile()) continue;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') diagnostics.push(readError(rel, err));
            continue;
          }
        } else if (!entry.isFile()) continue;
        try {
          files.push(await readManifest(rel));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') diagnostics.push(readError(rel, err));
        }
      }
    }
    await walk('');
    const present = new Set(files.map((f) => f.rel));
    for (const rel of [...readCache.keys()]) if (!present.has(rel)) readCache.delete(rel);
    // Sorted by relative path with a plain code-unit comparison: locale-independent, so read order
    // (and VirtualService merge order) is the same on every machine.
    files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
    return { files, diagnostics };
  }

  function fingerprint(s: DirectoryRead): string {
    // Over each file's path and content hash (already computed for the parse cache).
    let text = '';
    for (const f of s.files) text += `${f.rel}\0${f.hash}\0`;
    text += '\0diagnostics\0';
    for (const d of s.diagnostics) text += `${d.code}\0${d.message}\0`;
    return sha256(text);
  }

  async function isDirectory(): Promise<boolean> {
    try {
      return (await stat(dir)).isDirectory();
    } catch {
      return false;
    }
  }

  function ensureWatcher(): void {
    if (watcher || stopped) return;
    try {
      watcher = watch(dir, { recursive: true, persistent: true }, () => schedule());
      watcher.on('error', () => {
        // Typically the directory itself went away. Drop the watcher; the rescan reports the loss and
        // keeps looking for the directory until it comes back.
        watcher?.close();
        watcher = undefined;
        schedule();
      });
    } catch {
      watcher = undefined;
    }
  }

  function schedule(): void {
    if (stopped) return;
    if (settleTimer) clearTimeout(settleTimer);
    settleTimer = setTimeout(() => {
      settleTimer = undefined;
      void rescan();
    }, settleMs);
  }

  async function rescan(): Promise<void> {
    if (scanning) {
      rescanAfter = true;
      return scanning;
    }
    scanning = (async () => {
      do {
        rescanAfter = false;
        try {
          await readAndEmit();
        } catch (err) {
          // Never an unhandled rejection from a timer: report it as this source's state instead.
          emitIfChanged({ files: [], diagnostics: [readError('', err)] });
        }
      } while (rescanAfter && !stopped);
    })();
    try {
      await scanning;
    } finally {
      scanning = undefined;
    }
  }

  async function readAndEmit(): Promise<void> {
    if (!(await isDirectory())) {
      // Emitting an empty set would tear down every route; an error keeps the live snapshot instead.
      watcher?.close();
      watcher = undefined;
      emitIfChanged({
        files: [],
        diagnostics: [
          {
            severity: 'error',
            code: READ_ERROR_CODE,
            message: `config directory ${dir} is missing or not a directory`,
          },
        ],
      });
      if (!stopped && !retryTimer) {
        retryTimer = setTimeout(() => {
          retryTimer = undefined;
          void rescan();
        }, retryMs);
      }
      return;
    }
    ensureWatcher();
    emitIfChanged(await collect());
  }

  function emitIfChanged(s: DirectoryRead): void {
    if (stopped || !emitFn) return;
    const fp = fingerprint(s);
    if (fp === lastFingerprint) return;
    lastFingerprint = fp;
    let update: SourceUpdate;
    try {
      const parsed = cache.parse(s.files);
      update = { resources: parsed.resources, diagnostics: [...s.diagnostics, ...parsed.diagnostics] };
    } catch (err) {
      update = { resources: [], diagnostics: [...s.diagnostics, readError('', err)] };
    }
    emitFn(update);
  }

  return {
    name: `directory:${dir}`,
    async start(emit) {
      if (!(await isDirectory())) {
        throw new GatehouseError(ErrCode.CONFIG_DIR, `config directory ${dir} does not exist or is not a directory`);
      }
      emitFn = emit;
      // Watch before the first read, so a change made while reading is not lost.
      ensureWatcher();
      await rescan();
    },
    async stop() {
      stopped = true;
      if (settleTimer) clearTimeout(settleTimer);
      if (retryTimer) clearTimeout(retryTimer);
      settleTimer = retryTimer = undefined;
      watcher?.close();
      watcher = undefined;
      if (scanning) await scanning;
      emitFn = undefined;
    },
  };
}
