// Files named by DestinationRule `tls` (caCertificates, clientCertificate, privateKey, caCrl: paths in the
// gateway pod, as under Istio) as a config source. It learns the paths from the DestinationRules other
// sources hold (observe), reads each file, and emits it as a Secret under a reserved name
// (routes/compile/tls-files.ts), so compile turns it into TLS material exactly like a credentialName
// Secret and the data plane never reads a file. A changed file is a new emit, hence a new snapshot and new
// pools, as a changed Secret is. Watching: fs.watch on each file's directory (a Kubernetes Secret volume
// swaps a `..data` symlink there); a directory that cannot be watched (missing) is polled instead.
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DestinationRuleResource, TrafficPolicy } from '../../routes/model/index.js';
import type { Located } from '../../routes/model/resource.js';
import { TLS_FILE_ANNOTATION, TLS_FILE_ERROR_ANNOTATION, tlsFileSecretName } from '../../routes/compile/tls-files.js';
import type { ConfigSource, SourceUpdate } from '../source.js';

export interface TlsFileSourceOptions {
  /** The gateway's namespace: where compile looks the file Secrets up. */
  readonly namespace: string;
  readonly orderBase?: number;
  /** Events within this window are read once. Default 50 ms. */
  readonly settleMs?: number;
  /** How often directories that cannot be watched are looked at again. Default 2 s. */
  readonly pollMs?: number;
  readonly log: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
}

const ORIGIN_FILE = '<tls files>';
const FILE_FIELDS = ['caCertificates', 'clientCertificate', 'privateKey', 'caCrl'] as const;
/** A certificate file is kilobytes; anything far larger is not one, and is not read into memory. */
const MAX_FILE_BYTES = 1 << 20;

export function createTlsFileSource(options: TlsFileSourceOptions): ConfigSource {
  const pathsBySource = new Map<number, Set<string>>();
  const watchers = new Map<string, FSWatcher>();
  /** path → what was read: the text, or the error. */
  const contents = new Map<string, { text?: string; error?: string }>();
  let emit: ((update: SourceUpdate) => void) | undefined;
  let lastEmitted = '';
  let settle: NodeJS.Timeout | undefined;
  let poll: NodeJS.Timeout | undefined;
  let reading: Promise<void> = Promise.resolve();
  let stopped = false;

  const paths = (): string[] => [...new Set([...pathsBySource.values()].flatMap((s) => [...s]))].sort();

  const publish = (): void => {
    if (!emit) return;
    const resources = paths().map((p, i) => fileSecret(p, contents.get(p) ?? { error: 'not read yet' }, options.namespace, (options.orderBase ?? 0) + i));
    const key = JSON.stringify(resources.map((r) => r.object));
    if (key === lastEmitted) return;
    lastEmitted = key;
    emit({ resources, diagnostics: [] });
  };

  const readAll = (): Promise<void> => {
    reading = reading.then(async () => {
      if (stopped) return;
      const wanted = paths();
      for (const p of [...contents.keys()]) if (!wanted.includes(p)) contents.delete(p);
      await Promise.all(wanted.map(async (p) => contents.set(p, await readOne(p))));
      rewatch(wanted);
      publish();
    });
    return reading;
  };

  const schedule = (): void => {
    if (stopped) return;
    if (settle) clearTimeout(settle);
    settle = setTimeout(() => {
      settle = undefined;
      void readAll();
    }, options.settleMs ?? 50);
  };

  const rewatch = (wanted: readonly string[]): void => {
    const dirs = new Set(wanted.map((p) => dirname(p)));
    for (const [dir, w] of watchers) {
      if (!dirs.has(dir)) {
        w.close();
        watchers.delete(dir);
      }
    }
    let unwatched = false;
    for (const dir of dirs) {
      if (watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, () => schedule());
        w.on('error', () => {
          w.close();
          watchers.delete(dir);
          schedule();
        });
        watchers.set(dir, w);
      } catch {
        unwatched = true;
      }
    }
    if (poll) clearTimeout(poll);
    poll = undefined;
    if (unwatched && !stopped) poll = setTimeout(schedule, options.pollMs ?? 2000).unref();
  };

  return {
    name: 'tls-files',
    observe(from, resources) {
      const found = new Set<string>();
      for (const r of resources) if (r.object.kind === 'DestinationRule') for (const p of filePaths(r as Located<DestinationRuleResource>)) found.add(p);
      const before = pathsBySource.get(from);
      if (found.size === 0) pathsBySource.delete(from);
      else pathsBySource.set(from, found);
      if (emit && !sameSet(before, found)) void readAll();
    },
    async start(emitUpdate) {
      emit = emitUpdate;
      lastEmitted = '\0';
      await readAll();
    },
    async stop() {
      stopped = true;
      if (settle) clearTimeout(settle);
      if (poll) clearTimeout(poll);
      for (const w of watchers.values()) w.close();
      watchers.clear();
      await reading;
    },
  };
}

async function readOne(path: string): Promise<{ text?: string; error?: string }> {
  try {
    const buffer = await readFile(path);
    if (buffer.length > MAX_FILE_BYTES) return { error: `${path} is larger than ${MAX_FILE_BYTES} bytes` };
    return { text: buffer.toString('utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { error: code === 'ENOENT' ? `${path} does not exist` : code === 'EACCES' ? `${path} is not readable (permission denied)` : `${path}: ${(err as Error).message}` };
  }
}

/** Every file path a DestinationRule's TLS settings name (top level, port level, subsets). */
function filePaths(rule: Located<DestinationRuleResource>): string[] {
  if (rule.object.spec?.workloadSelector) return [];
  const out: string[] = [];
  const fromPolicy = (p: TrafficPolicy | undefined): void => {
    for (const tls of [p?.tls, ...(p?.portLevelSettings ?? []).map((s) => s.tls)]) {
      if (!tls || tls.credentialName) continue;
      const fields = tls as Record<string, unknown>;
      for (const f of FILE_FIELDS) {
        const v = fields[f];
        // As written: compile derives the same reserved name from the same string.
        if (typeof v === 'string' && v !== '') out.push(v);
      }
    }
  };
  fromPolicy(rule.object.spec?.trafficPolicy);
  for (const s of rule.object.spec?.subsets ?? []) fromPolicy(s.trafficPolicy);
  return out;
}

function fileSecret(path: string, content: { text?: string; error?: string }, namespace: string, order: number): Located {
  const source = { file: ORIGIN_FILE, line: 1, col: 1 };
  return {
    object: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: tlsFileSecretName(path),
        namespace,
        labels: { 'app.kubernetes.io/managed-by': 'gatehouse' },
        annotations: { [TLS_FILE_ANNOTATION]: path, ...(content.error ? { [TLS_FILE_ERROR_ANNOTATION]: content.error } : {}) },
      },
      type: 'Opaque',
      ...(content.text !== undefined ? { stringData: { file: content.text } } : {}),
    },
    origin: { file: ORIGIN_FILE, doc: 0, order, source, at: () => source },
  };
}

function sameSet(a: ReadonlySet<string> | undefined, b: ReadonlySet<string>): boolean {
  if (!a) return b.size === 0;
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
