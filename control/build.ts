// The only producer of Snapshots. CONTRACT (owned by the control-plane helper; signature fixed).
//
// Order matters for cost, not for the result: source errors reject at once; then the input hash is
// compared with the live snapshot's, so an unchanged configuration is neither validated nor compiled again;
// only then validate → compile → stamp → deep-freeze.
import { createHash } from 'node:crypto';
import { hasErrors } from '../core/diagnostics.js';
import type { Diagnostic } from '../core/diagnostics.js';
import { deepFreeze } from '../core/freeze.js';
import { CfgCode } from '../core/codes.js';
import { CanonicalDigest, sortKeys } from './canonical-digest.js';
import type { Snapshot } from '../core/snapshot.js';
// Namespace imports: the stage modules link even while a stage is still a declared placeholder, and a
// missing stage then surfaces as a rejected build (GH_CFG_INTERNAL), not as a process that cannot start.
import * as compileStage from '../routes/compile/index.js';
import type { CompileMemo, CompileOptions, CompileResult, IncrementalCompile } from '../routes/compile/index.js';
import type { Located } from '../routes/model/resource.js';
import * as validateStage from '../routes/validate/index.js';
import type { ValidationMemo } from '../routes/validate/index.js';

export type BuildResult =
  | { readonly ok: true; readonly snapshot: Snapshot; readonly diagnostics: readonly Diagnostic[] }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] }
  /** The input hashes equal to `previous`'s: nothing to do. */
  | { readonly ok: 'unchanged' };

/** A stage threw instead of returning diagnostics: a Gatehouse bug, reported as a rejection, never a crash. */
export const INTERNAL_ERROR_CODE = CfgCode.INTERNAL;

/** The two routes/ stages a build runs; replaceable only to test build's own bookkeeping in isolation. */
export interface BuildStages {
  validateResources(resources: readonly Located[], memo?: ValidationMemo): Diagnostic[];
  compileSnapshot(resources: readonly Located[], options: CompileOptions, incremental?: IncrementalCompile): CompileResult;
}

const routeStages: BuildStages = {
  validateResources: (resources, memo) => validateStage.validateResources(resources, memo),
  compileSnapshot: (resources, options, incremental) => compileStage.compileSnapshot(resources, options, incremental),
};

// Incremental builds. Sources hand unchanged resources over as the very same objects (the directory
// source's parse cache, the store's slices), never mutated; so what depends on one object alone is cached
// by its identity: its content digest (the input hash combines them in read order) and its own validation
// diagnostics. The compile memo belongs to the snapshot it built: the next build, given that snapshot as
// `previous`, reuses the routes of unchanged VirtualServices. Entries go with their objects and snapshots.
const digests = new WeakMap<object, string>();
const validationMemo: ValidationMemo = validateStage.createValidationMemo();
const compileMemos = new WeakMap<Snapshot, CompileMemo>();

/** What the compile of `snapshot` reused (tests and benchmarks); undefined for a snapshot built without a memo. */
export function compileStats(snapshot: Snapshot): Readonly<CompileMemo['stats']> | undefined {
  return compileMemos.get(snapshot)?.stats;
}

/** Writes and hashes canonical JSON as bytes (no string per piece); builds are synchronous, so one serves all. */
const canonicalDigest = new CanonicalDigest();

/** sha256 of the object's canonical JSON, computed once per object. */
export function resourceDigest(object: object): string {
  let d = digests.get(object);
  if (d === undefined) {
    d = canonicalDigest.digest(object);
    digests.set(object, d);
  }
  return d;
}

/**
 * validate → compile → hash → deep-freeze. Any error-severity diagnostic rejects the candidate. Given the
 * live snapshot as `previous`, unchanged resources are neither hashed nor validated again and unchanged
 * VirtualServices' routes are reused; the snapshot equals what a build from scratch gives.
 */
export function buildSnapshot(
  resources: readonly Located[],
  sourceDiagnostics: readonly Diagnostic[],
  options: CompileOptions,
  previous: Snapshot | undefined,
): BuildResult {
  return buildSnapshotWith(routeStages, resources, sourceDiagnostics, options, previous);
}

export function buildSnapshotWith(
  stages: BuildStages,
  resources: readonly Located[],
  sourceDiagnostics: readonly Diagnostic[],
  options: CompileOptions,
  previous: Snapshot | undefined,
): BuildResult {
  const { validateResources, compileSnapshot } = stages;
  if (hasErrors(sourceDiagnostics)) {
    // Validation of what did parse is still worth showing: the user fixes everything in one pass.
    const validation = guard('validate', () => validateResources(resources, validationMemo));
    return { ok: false, diagnostics: [...sourceDiagnostics, ...validation.filter((d) => d.severity === 'error')] };
  }

  const hash = inputHash(resources, options, sourceDiagnostics);
  if (previous && previous.hash === hash) return { ok: 'unchanged' };

  const validation = guard('validate', () => validateResources(resources, validationMemo));
  if (hasErrors(validation)) return { ok: false, diagnostics: [...sourceDiagnostics, ...validation] };

  let compiled: CompileResult | undefined;
  const compileFailure = guard('compile', () => {
    compiled = compileSnapshot(resources, options, { previous: previous && compileMemos.get(previous), digest: resourceDigest });
    return [];
  });
  if (!compiled) return { ok: false, diagnostics: [...sourceDiagnostics, ...validation, ...compileFailure] };
  const all = dedupe([...sourceDiagnostics, ...validation, ...compiled.diagnostics, ...compiled.body.diagnostics]);
  if (hasErrors(all)) return { ok: false, diagnostics: all };

  const snapshot: Snapshot = {
    ...compiled.body,
    version: (previous?.version ?? 0) + 1,
    hash,
    builtAt: new Date().toISOString(),
    diagnostics: all.filter((d) => d.severity === 'warning'),
  };
  // Parts reused from the previous snapshot are frozen already: deep-freeze stops at them.
  deepFreeze(snapshot);
  if (compiled.memo) compileMemos.set(snapshot, compiled.memo);
  return { ok: true, snapshot, diagnostics: all };
}

/**
 * sha256 over the input objects in read order, the compile options, and the sources' warnings (a snapshot
 * carries its diagnostics: a Secret held back at its last good version is the same config with a new
 * warning). `now` is left out: it differs on every build and would make every configuration look new.
 */
export function inputHash(resources: readonly Located[], options: CompileOptions, sourceDiagnostics: readonly Diagnostic[] = []): string {
  const h = createHash('sha256');
  const { now: _now, ...stable } = options;
  h.update(canonicalJson(stable));
  h.update(digestText(resources));
  for (const d of sourceDiagnostics) h.update('\n!').update(canonicalJson(d));
  return h.digest('hex');
}

/** `\n` + a base64 sha256 (44 characters): every resource's piece of the digest text has this length. */
const PIECE = 45;

/** The last resource list hashed (its objects) and its digest text. */
let lastDigests: { readonly objects: readonly object[]; readonly text: string } | undefined;

/**
 * `\n<digest>` per resource in read order: the bytes the input hash covers, in one update (an update per
 * piece cost more than the hashing at 11,000 resources). Pieces have a fixed length, so the unchanged head
 * and tail of the last list (same objects, same places) are slices of the last text, and only the
 * resources between them are looked up.
 */
function digestText(resources: readonly Located[]): string {
  const n = resources.length;
  const last = lastDigests;
  let head = 0;
  let tail = 0;
  if (last) {
    const before = last.objects;
    const m = before.length;
    const min = Math.min(m, n);
    while (head < min && before[head] === (resources[head] as Located).object) head++;
    while (tail < min - head && before[m - 1 - tail] === (resources[n - 1 - tail] as Located).object) tail++;
  }
  let text = last && head > 0 ? last.text.slice(0, head * PIECE) : '';
  for (let i = head; i < n - tail; i++) {
    const d = resourceDigest((resources[i] as Located).object);
    if (d.length !== PIECE - 1) throw new Error(`resource digest of unexpected length ${d.length}`);
    text += `\n${d}`;
  }
  if (last && tail > 0) text += last.text.slice(last.text.length - tail * PIECE);
  const objects = new Array<object>(n);
  for (let i = 0; i < n; i++) objects[i] = (resources[i] as Located).object;
  lastDigests = { objects, text };
  return text;
}

/** JSON with object keys sorted at every level and undefined members dropped: equal data, equal text. */
export function canonicalJson(value: unknown): string {
  // Pieces collected and joined once: a flat string (hashing a string grown by `+` first flattens its
  // tree of pieces, which cost more than the sha256), and no map/join per level.
  const parts: string[] = [];
  appendCanonical(parts, value);
  return parts.join('');
}

/** Appends `value`'s canonical JSON to `parts`; keys already in order, as most are, are not sorted again. */
function appendCanonical(parts: string[], value: unknown): void {
  if (typeof value === 'string') {
    parts.push(JSON.stringify(value));
    return;
  }
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number') parts.push(Number.isFinite(value) ? String(value) : 'null');
    else if (typeof value === 'boolean') parts.push(value ? 'true' : 'false');
    else parts.push(value === undefined ? 'null' : (JSON.stringify(value) ?? 'null'));
    return;
  }
  if (Array.isArray(value)) {
    parts.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) parts.push(',');
      // Array.prototype.map kept a hole a hole, which join wrote as nothing.
      if (i in value) appendCanonical(parts, value[i]);
    }
    parts.push(']');
    return;
  }
  if (value instanceof Date) {
    parts.push(JSON.stringify(value.toISOString()));
    return;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = (keys[i - 1] as string) < (keys[i] as string);
  if (!sorted) sortKeys(keys);
  parts.push('{');
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const v = obj[k];
    if (v === undefined) continue;
    if (!first) parts.push(',');
    parts.push(quotedKey(k));
    first = false;
    appendCanonical(parts, v);
  }
  parts.push('}');
}

/** `"key":` per key: a small vocabulary (field names) quoted over and over; the cache stops growing at a bound. */
const quotedKeys = new Map<string, string>();

function quotedKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = `${JSON.stringify(k)}:`;
    if (quotedKeys.size < 4096) quotedKeys.set(k, q);
  }
  return q;
}

function guard(stage: string, fn: () => Diagnostic[]): Diagnostic[] {
  try {
    return fn();
  } catch (err) {
    return [
      {
        severity: 'error',
        code: INTERNAL_ERROR_CODE,
        message: `${stage} failed unexpectedly: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      },
    ];
  }
}

function dedupe(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const d of diagnostics) {
    const key = `${d.severity}\0${d.code}\0${d.message}\0${d.resource ?? ''}\0${d.field ?? ''}\0${
      d.source ? `${d.source.file}:${d.source.line}:${d.source.col}` : ''
    }`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}
