// Core Kubernetes kinds Gatehouse reads, in the shape `kubectl get -o yaml` prints them.
import type { KubeObject } from './resource.js';

export interface SecretResource extends KubeObject {
  kind: 'Secret';
  type?: string;
  /** Base64 values, as stored by Kubernetes. */
  data?: Record<string, string>;
  /** Plain values; merged over data, as the API server does on write. */
  stringData?: Record<string, string>;
}

export interface ServiceResource extends KubeObject {
  kind: 'Service';
  spec: {
    type?: string;
    clusterIP?: string;
    selector?: Record<string, string>;
    ports?: Array<{ name?: string; port: number; targetPort?: number | string; protocol?: string; appProtocol?: string }>;
    externalName?: string;
  };
}

export interface EndpointSliceResource extends KubeObject {
  kind: 'EndpointSlice';
  addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints?: Array<{
    addresses: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    hostname?: string;
    targetRef?: { kind?: string; name?: string; namespace?: string };
    nodeName?: string;
    zone?: string;
  }>;
  ports?: Array<{ name?: string; port?: number; protocol?: string; appProtocol?: string }>;
}

/**
 * Pods matter for their labels: an EndpointSlice names its pods (targetRef), and a DestinationRule subset
 * selects endpoints by pod labels, as Istio does.
 */
export interface PodResource extends KubeObject {
  kind: 'Pod';
  spec?: { serviceAccountName?: string; [field: string]: unknown };
  status?: { podIP?: string; podIPs?: Array<{ ip: string }>; [field: string]: unknown };
}

export interface EndpointsResource extends KubeObject {
  kind: 'Endpoints';
  subsets?: Array<{
    addresses?: Array<{ ip: string; hostname?: string; targetRef?: { kind?: string; name?: string; namespace?: string } }>;
    notReadyAddresses?: Array<{ ip: string }>;
    ports?: Array<{ name?: string; port: number; protocol?: string }>;
  }>;
}
