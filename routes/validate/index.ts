// Type and semantic checks on parsed resources, one module per kind, plus cross-resource references.
// CONTRACT (owned by the parse/validate helper; signature fixed):
import type { Diagnostic } from '../../core/diagnostics.js';
import type { Located } from '../model/resource.js';

/**
 * Errors: wrong types, missing required fields, bad enums, regexes that do not compile, duplicate
 * kind/namespace/name. Warnings: unknown fields, references to missing gateways/subsets/hosts, features
 * parsed but not acted on yet. Each diagnostic names the resource, the field path and its position.
 */
export declare function validateResources(resources: readonly Located[]): Diagnostic[];
