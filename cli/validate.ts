// `gatehouse validate DIR...`: the same read → validate → compile the gateway runs, without serving.
// Prints one line per problem (`file:line:col: CODE message`), errors first; exit 0 when nothing blocks.
import { buildSnapshot } from '../control/build.js';
import type { SourceUpdate } from '../control/source.js';
import { createDirectorySource } from '../control/sources/directory.js';
import { formatDiagnostic, type Diagnostic } from '../core/diagnostics.js';
import type { Located } from '../routes/model/resource.js';
import { SERVE_DEFAULTS, parseLabels, readFlags } from './args.js';

const VALIDATE_FLAGS = new Set(['labels', 'namespace', 'domain-suffix']);

export async function validate(argv: readonly string[], out: (line: string) => void): Promise<number> {
  const dirs: string[] = [];
  const flagArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) dirs.push(a);
    else if (a.includes('=')) flagArgs.push(a);
    else flagArgs.push(a, argv[++i] ?? '');
  }
  const flags = readFlags(flagArgs, VALIDATE_FLAGS);
  if (dirs.length === 0) {
    out('usage: gatehouse validate DIR [DIR ...] [--namespace NS] [--labels k=v,...]');
    return 2;
  }
  const resources: Located[] = [];
  const sourceDiagnostics: Diagnostic[] = [];
  for (const [i, dir] of dirs.entries()) {
    const source = createDirectorySource(dir, { defaultNamespace: 'default', orderBase: i * 1_000_000 });
    let first: SourceUpdate | undefined;
    await source.start((u) => (first ??= u));
    await source.stop();
    resources.push(...(first?.resources ?? []));
    sourceDiagnostics.push(...(first?.diagnostics ?? []));
  }
  const result = buildSnapshot(
    resources,
    sourceDiagnostics,
    {
      identity: {
        labels: parseLabels(flags.get('labels')?.[0] ?? SERVE_DEFAULTS.labels),
        namespace: flags.get('namespace')?.[0] ?? SERVE_DEFAULTS.namespace,
        serviceAccount: SERVE_DEFAULTS.serviceAccount,
      },
      domainSuffix: flags.get('domain-suffix')?.[0] ?? SERVE_DEFAULTS.domainSuffix,
    },
    undefined,
  );
  const diagnostics = result.ok === 'unchanged' ? [] : result.diagnostics;
  const shown = diagnostics
    .filter((d) => d.severity !== 'info')
    .sort((a, b) => rank(a) - rank(b) || compareSource(a, b));
  for (const d of shown) out(`${formatDiagnostic(d)}${d.severity === 'warning' ? ' [warning]' : ''}`);
  const errors = shown.filter((d) => d.severity === 'error').length;
  const warnings = shown.length - errors;
  out(`${errors === 0 ? 'valid' : 'invalid'}: ${resources.length} resource(s), ${errors} error(s), ${warnings} warning(s)`);
  return errors === 0 ? 0 : 1;
}

function rank(d: Diagnostic): number {
  return d.severity === 'error' ? 0 : 1;
}

function compareSource(a: Diagnostic, b: Diagnostic): number {
  const fa = a.source?.file ?? '';
  const fb = b.source?.file ?? '';
  if (fa !== fb) return fa < fb ? -1 : 1;
  return (a.source?.line ?? 0) - (b.source?.line ?? 0);
}
