// networking.istio.io v1 resources, with Istio's field names unchanged (see istio/api networking/v1alpha3/*.proto).
// These are the shapes compile reads after validate has checked the types; optional everywhere Istio is.
import type { KubeObject } from './resource.js';

// ----- Gateway ---------------------------------------------------------------------------------------

export interface GatewayResource extends KubeObject {
  kind: 'Gateway';
  spec: GatewaySpec;
}
export interface GatewaySpec {
  servers?: Server[];
  selector?: Record<string, string>;
}
export interface Server {
  port: Port;
  bind?: string;
  hosts: string[];
  tls?: ServerTLSSettings;
  defaultEndpoint?: string;
  name?: string;
}
export interface Port {
  number: number;
  protocol: string;
  name?: string;
  targetPort?: number;
}
export interface ServerTLSSettings {
  httpsRedirect?: boolean;
  mode?: 'PASSTHROUGH' | 'SIMPLE' | 'MUTUAL' | 'AUTO_PASSTHROUGH' | 'ISTIO_MUTUAL' | 'OPTIONAL_MUTUAL';
  serverCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  caCrl?: string;
  credentialName?: string;
  credentialNames?: string[];
  caCertCredentialName?: string;
  subjectAltNames?: string[];
  verifyCertificateSpki?: string[];
  verifyCertificateHash?: string[];
  minProtocolVersion?: TLSProtocol;
  maxProtocolVersion?: TLSProtocol;
  cipherSuites?: string[];
}
export type TLSProtocol = 'TLS_AUTO' | 'TLSV1_0' | 'TLSV1_1' | 'TLSV1_2' | 'TLSV1_3';

// ----- VirtualService -----------------------------------------------------------------------------

export interface VirtualServiceResource extends KubeObject {
  kind: 'VirtualService';
  spec: VirtualServiceSpec;
}
export interface VirtualServiceSpec {
  hosts?: string[];
  gateways?: string[];
  http?: HTTPRoute[];
  tls?: TLSRoute[];
  tcp?: TCPRoute[];
  exportTo?: string[];
}
export interface HTTPRoute {
  name?: string;
  match?: HTTPMatchRequest[];
  route?: HTTPRouteDestination[];
  redirect?: HTTPRedirect;
  directResponse?: HTTPDirectResponse;
  delegate?: { name?: string; namespace?: string };
  rewrite?: HTTPRewrite;
  timeout?: string;
  retries?: unknown;
  fault?: unknown;
  mirror?: unknown;
  mirrorPercentage?: unknown;
  mirrors?: unknown;
  corsPolicy?: unknown;
  headers?: Headers;
}
export interface StringMatchSpec {
  exact?: string;
  prefix?: string;
  regex?: string;
}
export interface HTTPMatchRequest {
  name?: string;
  uri?: StringMatchSpec;
  scheme?: StringMatchSpec;
  method?: StringMatchSpec;
  authority?: StringMatchSpec;
  headers?: Record<string, StringMatchSpec>;
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
  queryParams?: Record<string, StringMatchSpec>;
  ignoreUriCase?: boolean;
  withoutHeaders?: Record<string, StringMatchSpec>;
  sourceNamespace?: string;
  statPrefix?: string;
}
export interface Destination {
  host: string;
  subset?: string;
  port?: { number: number };
}
export interface HTTPRouteDestination {
  destination: Destination;
  weight?: number;
  headers?: Headers;
}
export interface HeaderOperations {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}
export interface Headers {
  request?: HeaderOperations;
  response?: HeaderOperations;
}
export interface HTTPRedirect {
  uri?: string;
  authority?: string;
  port?: number;
  derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
  scheme?: string;
  redirectCode?: number;
}
export interface HTTPRewrite {
  uri?: string;
  authority?: string;
  uriRegexRewrite?: { match?: string; rewrite?: string };
}
export interface HTTPDirectResponse {
  status: number;
  body?: { string?: string; bytes?: string };
}
export interface TLSMatchAttributes {
  sniHosts: string[];
  destinationSubnets?: string[];
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
  sourceNamespace?: string;
}
export interface RouteDestination {
  destination: Destination;
  weight?: number;
}
export interface TLSRoute {
  match: TLSMatchAttributes[];
  route?: RouteDestination[];
}
export interface TCPRoute {
  match?: unknown[];
  route?: RouteDestination[];
}

// ----- DestinationRule ---------------------------------------------------------------------------

export interface DestinationRuleResource extends KubeObject {
  kind: 'DestinationRule';
  spec: DestinationRuleSpec;
}
export interface DestinationRuleSpec {
  host: string;
  trafficPolicy?: TrafficPolicy;
  subsets?: Subset[];
  exportTo?: string[];
  workloadSelector?: { matchLabels?: Record<string, string> };
}
export interface Subset {
  name: string;
  labels?: Record<string, string>;
  trafficPolicy?: TrafficPolicy;
}
export interface TrafficPolicy {
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: unknown;
  outlierDetection?: unknown;
  tls?: ClientTLSSettings;
  portLevelSettings?: Array<{ port?: { number: number } } & Omit<TrafficPolicy, 'portLevelSettings'>>;
  tunnel?: unknown;
  proxyProtocol?: unknown;
}
export interface LoadBalancerSettings {
  simple?: 'UNSPECIFIED' | 'LEAST_CONN' | 'RANDOM' | 'PASSTHROUGH' | 'ROUND_ROBIN' | 'LEAST_REQUEST';
  consistentHash?: unknown;
  localityLbSetting?: unknown;
  warmupDurationSecs?: string;
  warmup?: unknown;
}
export interface ClientTLSSettings {
  mode?: 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';
  clientCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  caCrl?: string;
  credentialName?: string;
  subjectAltNames?: string[];
  sni?: string;
  insecureSkipVerify?: boolean;
}

// ----- ServiceEntry ------------------------------------------------------------------------------

export interface ServiceEntryResource extends KubeObject {
  kind: 'ServiceEntry';
  spec: ServiceEntrySpec;
}
export interface ServiceEntrySpec {
  hosts: string[];
  addresses?: string[];
  ports?: ServicePort[];
  location?: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  resolution?: 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';
  endpoints?: WorkloadEntrySpec[];
  workloadSelector?: { labels?: Record<string, string> };
  exportTo?: string[];
  subjectAltNames?: string[];
}
export interface ServicePort {
  number: number;
  protocol?: string;
  name: string;
  targetPort?: number;
}
export interface WorkloadEntrySpec {
  address?: string;
  ports?: Record<string, number>;
  labels?: Record<string, string>;
  network?: string;
  locality?: string;
  weight?: number;
  serviceAccount?: string;
}
