// Type and semantic checks on parsed resources, one module per kind, plus cross-resource references.
// CONTRACT (owned by the parse/validate helper; signature fixed):
import type { Diagnostic } from '../../core/diagnostics.js';
import type { Located } from '../model/resource.js';
import { validateDestinationRule } from './destination-rule.js';
import { validateGateway } from './gateway.js';
import { validateKubeObject } from './kube.js';
import { checkDuplicates, checkGatewayReferences, checkSubsetReferences } from './references.js';
import { ResourceContext } from './schema.js';
import { validateSecurityPolicy } from './security.js';
import { validateServiceEntry } from './service-entry.js';
import { validateVirtualService } from './virtual-service.js';

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
export function validateResources(resources: readonly Located[]): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const r of resources) {
    VALIDATORS[r.object.kind]?.(r, new ResourceContext(r, diagnostics));
  }
  checkDuplicates(resources, diagnostics);
  checkGatewayReferences(resources, diagnostics);
  checkSubsetReferences(resources, diagnostics);
  return diagnostics;
}
