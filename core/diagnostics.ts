// A Diagnostic is what the control plane says about the configuration it was given: a coded message,
// a severity, and where in the user's files it points. Errors reject a candidate snapshot; warnings are
// reported and kept on the snapshot; info lines are for debug logs only.

export type Severity = 'error' | 'warning' | 'info';

/** A position in a source file. Lines and columns are 1-based, as editors and compilers print them. */
export interface SourceRef {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export interface Diagnostic {
  readonly severity: Severity;
  /** A stable code from core/codes.ts, e.g. GH_CFG_TYPE. */
  readonly code: string;
  readonly message: string;
  /** Where the problem is: the field's position when known, else the document's. */
  readonly source?: SourceRef;
  /** The resource concerned, as `Kind/namespace/name`. */
  readonly resource?: string;
  /** The field path inside the resource, e.g. `spec.http[0].route[1].weight`. */
  readonly field?: string;
}

/** `file:line:col: CODE message`, the format compilers use, so editors can jump to it. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.source ? `${d.source.file}:${d.source.line}:${d.source.col}: ` : '';
  const what = d.resource ? ` (${d.resource}${d.field ? ` ${d.field}` : ''})` : d.field ? ` (${d.field})` : '';
  return `${where}${d.code} ${d.message}${what}`;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}
