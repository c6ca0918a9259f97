// Type and semantic checks on parsed resources, one module per kind, plus cross-resource references.
// CONTRACT (owned by the parse/validate helper; signature fixed):
import type { Diagnostic } from '../../core/diagnostics.js';
import type { Located } from '../model/resource.js';
import { validateDestinationRule } from './destination-rule.js';
import { validateGateway } from './gateway.js';
import { validateKubeObject } from './kube.js';
import {
  NONE,
  checkDuplicates,
  checkGatewayReferences,
  checkSubsetReferences,
  duplicateKey,
  gatewayReferencesFor,
  gatewaySet,
  subsetIndex,
  subsetReferencesFor,
} from './references.js';
import type { CrossMemo, GatewaySet, SubsetIndex } from './references.js';
import { ResourceContext } from './schema.js';
import { validateSecurityPolicy } from './security.js';
import { validateServiceEntry } from './service-entry.js';
import { validateVirtualService } from './virtual-service.js';

/**
 * Per-resource results kept across validations, by object identity: a kind's validator reads only its own
 * resource, so an object seen before gives the same diagnostics. Sources hand unchanged resources over as
 * the same objects and never mutate them. The cross-resource rules' per-VirtualService results are reused
 * only while what they read from other resources (the Gateways, the DestinationRules' subsets) is
 * unchanged. And `last` lets a validation look only between the unchanged head and tail of the list.
 */
export interface ValidationMemo {
  readonly own: WeakMap<object, { readonly file: string; readonly doc: number; readonly diagnostics: readonly Diagnostic[] }>;
  /** Cross-resource rules per VirtualService, keyed also by what else they read (see references.ts). */
  readonly gatewayReferences: CrossMemo;
  readonly subsetReferences: CrossMemo;
  /** The last validation, so the next one looks only at what lies between the unchanged head and tail. */
  last?: LastValidation;
}

/** Diagnostics of some resources, by their index in the resource list, in order. */
type Sparse = readonly { readonly index: number; readonly list: readonly Diagnostic[] }[];

/**
 * What one validation found, per section of its output, with the inputs of the cross-resource rules.
 * The next validation compares its resource list with `resources` (by Located identity): resources in the
 * unchanged head and tail keep their findings (re-indexed), only the changed window is validated, and the
 * cross-resource rules re-run over everything only when the window holds a kind they read.
 */
interface LastValidation {
  readonly resources: readonly Located[];
  readonly own: Sparse;
  /** `kind/namespace/name` → how many resources have it (changed in place by the next validation). */
  readonly keyCounts: Map<string, number>;
  readonly duplicates: readonly Diagnostic[];
  readonly gateways: GatewaySet;
  readonly gatewayReferences: Sparse;
  readonly subsets: SubsetIndex;
  readonly subsetReferences: Sparse;
}

export function createValidationMemo(): ValidationMemo {
  return { own: new WeakMap(), gatewayReferences: new WeakMap(), subsetReferences: new WeakMap() };
}

type KindValidator = (r: Located, ctx: ResourceContext) => void;

const VALIDATORS: Readonly<Record<string, KindValidator>> = {
  Gateway: validateGateway,
  VirtualService: validateVirtualService,
  DestinationRule: validateDestinationRule,
  ServiceEntry: validateServiceEntry,
  AuthorizationPolicy: validateSecurityPolicy,
  RequestAuthentication: validateSecurityPolicy,
  PeerAuthentication: validateSecurityPolicy,
  Secret: validateKubeObject,
  Service: validateKubeObject,
  EndpointSlice: validateKubeObject,
  Endpoints: validateKubeObject,
};

/**
 * Errors: wrong types, missing required fields, bad enums, regexes that do not compile, duplicate
 * kind/namespace/name. Warnings: unknown fields, references to missing gateways/subsets/hosts, features
 * parsed but not acted on yet. Each diagnostic names the resource, the field path and its position.
 */
export function validateResources(resources: readonly Located[], memo?: ValidationMemo): Diagnostic[] {
  if (!memo) {
    const diagnostics: Diagnostic[] = [];
    for (const r of resources) {
      const validate = VALIDATORS[r.object.kind];
      if (validate) validate(r, new ResourceContext(r, diagnostics));
    }
    checkDuplicates(resources, diagnostics);
    checkGatewayReferences(resources, diagnostics);
    checkSubsetReferences(resources, diagnostics);
    return diagnostics;
  }
  const last = memo.last;
  // Drop it first: if a validator throws, the next validation starts afresh rather than from a half update.
  memo.last = undefined;
  const n = resources.length;
  // The unchanged head [0, head) and tail [n - tail, n), by Located identity (same object, same place).
  let head = 0;
  let tail = 0;
  const before = last?.resources ?? [];
  const m = before.length;
  if (last) {
    const min = Math.min(m, n);
    while (head < min && before[head] === resources[head]) head++;
    while (tail < min - head && before[m - 1 - tail] === resources[n - 1 - tail]) tail++;
  }
  const end = n - tail;
  const endBefore = m - tail;
  const shift = n - m;
  /** The head's and tail's entries of a section, the window's computed by `run`. */
  const splice = (section: Sparse | undefined, run: (from: number, to: number, into: { index: number; list: readonly Diagnostic[] }[]) => void): Sparse => {
    const out: { index: number; list: readonly Diagnostic[] }[] = [];
    if (!section) {
      run(0, n, out);
      return out;
    }
    for (const e of section) if (e.index < head) out.push(e);
    run(head, end, out);
    for (const e of section) if (e.index >= endBefore) out.push(shift === 0 ? e : { index: e.index + shift, list: e.list });
    return out;
  };
  const windowHas = (kind: string): boolean => {
    for (let i = head; i < end; i++) if ((resources[i] as Located).object.kind === kind) return true;
    for (let i = head; i < endBefore; i++) if ((before[i] as Located).object.kind === kind) return true;
    return false;
  };

  const own = splice(last?.own, (from, to, into) => {
    for (let i = from; i < to; i++) {
      const r = resources[i] as Located;
      const validate = VALIDATORS[r.object.kind];
      if (!validate) continue;
      let entry = memo.own.get(r.object);
      // The same object read from elsewhere (another file or document) reports other positions.
      if (!entry || entry.file !== r.origin.file || entry.doc !== r.origin.doc) {
        const found: Diagnostic[] = [];
        validate(r, new ResourceContext(r, found));
        entry = { file: r.origin.file, doc: r.origin.doc, diagnostics: found.length === 0 ? NONE : found };
        memo.own.set(r.object, entry);
      }
      if (entry.diagnostics.length > 0) into.push({ index: i, list: entry.diagnostics });
    }
  });

  // Duplicates: counts per key kept up to date; the rule itself runs only if some key is there twice.
  let keyCounts = last?.keyCounts;
  if (!keyCounts) {
    keyCounts = new Map();
    for (let i = 0; i < n; i++) bump(keyCounts, duplicateKey((resources[i] as Located).object), 1);
  } else {
    for (let i = head; i < endBefore; i++) bump(keyCounts, duplicateKey((before[i] as Located).object), -1);
    for (let i = head; i < end; i++) bump(keyCounts, duplicateKey((resources[i] as Located).object), 1);
  }
  let twice = last ? last.duplicates.length > 0 : false;
  if (!last) {
    // First validation: the counts were just made; the rule runs only if some key was counted twice.
    for (const count of keyCounts.values()) if (count > 1) twice = true;
  } else if (!twice) for (let i = head; i < end && !twice; i++) twice = (keyCounts.get(duplicateKey((resources[i] as Located).object)) as number) > 1;
  const duplicates: Diagnostic[] = [];
  if (twice) checkDuplicates(resources, duplicates);

  const gatewaysSame = last !== undefined && !windowHas('Gateway');
  const gateways = gatewaysSame ? last.gateways : gatewaySet(resources, memo.gatewayReferences);
  const gatewayReferences = splice(gatewaysSame ? last.gatewayReferences : undefined, (from, to, into) => {
    for (let i = from; i < to; i++) {
      const r = resources[i] as Located;
      if (r.object.kind !== 'VirtualService') continue;
      const list = gatewayReferencesFor(r, gateways, memo.gatewayReferences);
      if (list.length > 0) into.push({ index: i, list });
    }
  });
  const subsetsSame = last !== undefined && !windowHas('DestinationRule');
  const subsets = subsetsSame ? last.subsets : subsetIndex(resources, memo.subsetReferences);
  const subsetReferences = splice(subsetsSame ? last.subsetReferences : undefined, (from, to, into) => {
    for (let i = from; i < to; i++) {
      const r = resources[i] as Located;
      if (r.object.kind !== 'VirtualService') continue;
      const list = subsetReferencesFor(r, subsets, memo.subsetReferences);
      if (list.length > 0) into.push({ index: i, list });
    }
  });

  memo.last = { resources: resources.slice(), own, keyCounts, duplicates, gateways, gatewayReferences, subsets, subsetReferences };
  const diagnostics: Diagnostic[] = [];
  for (const e of own) for (const d of e.list) diagnostics.push(d);
  for (const d of duplicates) diagnostics.push(d);
  for (const e of gatewayReferences) for (const d of e.list) diagnostics.push(d);
  for (const e of subsetReferences) for (const d of e.list) diagnostics.push(d);
  return diagnostics;
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const c = (counts.get(key) ?? 0) + by;
  if (c === 0) counts.delete(key);
  else counts.set(key, c);
}
