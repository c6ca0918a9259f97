// Type and semantic checks on parsed resources, one module per kind, plus cross-resource references.
// CONTRACT (owned by the parse/validate helper; signature fixed):
import type { Diagnostic } from '../../core/diagnostics.js';
import type { Located } from '../model/resource.js';
import { validateDestinationRule } from './destination-rule.js';
import { validateGateway } from './gateway.js';
import { validateKubeObject } from './kube.js';
import { NONE, checkDuplicates, checkGatewayReferences, checkSubsetReferences } from './references.js';
import type { CrossMemo } from './references.js';
import { ResourceContext } from './schema.js';
import { validateSecurityPolicy } from './security.js';
import { validateServiceEntry } from './service-entry.js';
import { validateVirtualService } from './virtual-service.js';

/**
 * Per-resource results kept across validations, by object identity: a kind's validator reads only its own
 * resource, so an object seen before gives the same diagnostics. Sources hand unchanged resources over as
 * the same objects and never mutate them. Cross-resource rules always run; their per-VirtualService results are reused only while what they read
 * from other resources (the Gateways, the DestinationRules' subsets) is unchanged.
 */
export interface ValidationMemo {
  readonly own: WeakMap<object, { readonly file: string; readonly doc: number; readonly diagnostics: readonly Diagnostic[] }>;
  /** Cross-resource rules per VirtualService, keyed also by what else they read (see references.ts). */
  readonly gatewayReferences: CrossMemo;
  readonly subsetReferences: CrossMemo;
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
  const diagnostics: Diagnostic[] = [];
  // Indexed loops here and in the per-build passes over every resource: for-of allocates an iterator
  // result per element until the function is optimised, and these run once per build over 11,000.
  for (let i = 0; i < resources.length; i++) {
    const r = resources[i] as Located;
    const validate = VALIDATORS[r.object.kind];
    if (!validate) continue;
    if (!memo) {
      validate(r, new ResourceContext(r, diagnostics));
      continue;
    }
    let entry = memo.own.get(r.object);
    // The same object read from elsewhere (another file or document) reports other positions.
    if (!entry || entry.file !== r.origin.file || entry.doc !== r.origin.doc) {
      const own: Diagnostic[] = [];
      validate(r, new ResourceContext(r, own));
      entry = { file: r.origin.file, doc: r.origin.doc, diagnostics: own.length === 0 ? NONE : own };
      memo.own.set(r.object, entry);
    }
    const own = entry.diagnostics;
    for (let k = 0; k < own.length; k++) diagnostics.push(own[k] as Diagnostic);
  }
  checkDuplicates(resources, diagnostics);
  checkGatewayReferences(resources, diagnostics, memo?.gatewayReferences);
  checkSubsetReferences(resources, diagnostics, memo?.subsetReferences);
  return diagnostics;
}
