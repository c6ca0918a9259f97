// The envelope every parsed resource travels in: the object as the user wrote it, plus where it came from.
import type { SourceRef } from '../../core/diagnostics.js';

export interface ObjectMeta {
  name: string;
  /** Filled by parse with the default namespace when the document has none (as kubectl apply does). */
  namespace: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** RFC 3339; orders VirtualService merging as Istio does (oldest first). */
  creationTimestamp?: string;
  resourceVersion?: string;
  uid?: string;
}

/** Where a resource came from, and how to find the position of any of its fields. */
export interface Origin {
  /** File path as given to parse (relative to the config directory when read from one). */
  readonly file: string;
  /** 0-based index of the YAML document within the file. */
  readonly doc: number;
  /** Global read order: files sorted by path, documents in file order. Tie-breaker after creationTimestamp. */
  readonly order: number;
  /** Position of the document itself. */
  readonly source: SourceRef;
  /**
   * Position of a field by path, e.g. `spec.http[0].route[1].weight`. Falls back to the nearest
   * ancestor that exists, and finally to the document.
   */
  at(path: string): SourceRef;
}

/** Any Kubernetes-style object: apiVersion, kind, metadata, and the rest untyped until validated. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** A parsed resource. `object` is the document as written (validated before compile reads it). */
export interface Located<T extends KubeObject = KubeObject> {
  readonly object: T;
  readonly origin: Origin;
}

/** `Kind/namespace/name`, how diagnostics and logs name a resource. */
export function resourceId(o: KubeObject): string {
  return `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
}

/** API groups and versions Gatehouse reads, by kind. */
export const KNOWN_KINDS: Readonly<Record<string, readonly string[]>> = {
  Gateway: ['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3'],
  VirtualService: ['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3'],
  DestinationRule: ['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3'],
  ServiceEntry: ['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3'],
  AuthorizationPolicy: ['security.istio.io/v1', 'security.istio.io/v1beta1'],
  RequestAuthentication: ['security.istio.io/v1', 'security.istio.io/v1beta1'],
  PeerAuthentication: ['security.istio.io/v1', 'security.istio.io/v1beta1'],
  Secret: ['v1'],
  Service: ['v1'],
  Endpoints: ['v1'],
  EndpointSlice: ['discovery.k8s.io/v1'],
  Pod: ['v1'],
};
