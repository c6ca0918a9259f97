// Manifests for the mesh end-to-end tests: a MESH_INTERNAL ServiceEntry with loopback endpoints, a
// DestinationRule, and a VirtualService routing one host to it through the `mesh-test` Gateway.

export interface MeshEndpoint {
  readonly port: number;
  readonly serviceAccount?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export function meshServiceEntry(
  name: string,
  namespace: string,
  endpoints: readonly MeshEndpoint[],
  { resolution = 'STATIC', subjectAltNames }: { resolution?: string; subjectAltNames?: readonly string[] } = {},
): string {
  const lines = [
    'apiVersion: networking.istio.io/v1',
    'kind: ServiceEntry',
    `metadata: {name: ${name}, namespace: ${namespace}}`,
    'spec:',
    `  hosts: [${name}.${namespace}.svc.cluster.local]`,
    '  location: MESH_INTERNAL',
    `  resolution: ${resolution}`,
    '  ports: [{number: 80, name: http, protocol: HTTP}]',
    ...(subjectAltNames ? [`  subjectAltNames: [${subjectAltNames.map((s) => `"${s}"`).join(', ')}]`] : []),
    '  endpoints:',
  ];
  for (const e of endpoints) {
    lines.push('  - address: 127.0.0.1', `    ports: {http: ${e.port}}`);
    if (e.serviceAccount) lines.push(`    serviceAccount: ${e.serviceAccount}`);
    if (e.labels) lines.push(`    labels: {${Object.entries(e.labels).map(([k, v]) => `"${k}": "${v}"`).join(', ')}}`);
  }
  return lines.join('\n') + '\n';
}

/** A DestinationRule in istio-system whose trafficPolicy.tls is the given YAML flow mapping. */
export function destinationRuleTls(name: string, host: string, tls: string): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}, namespace: istio-system}
spec:
  host: ${host}
  trafficPolicy:
    tls: ${tls}
`;
}

export function meshRoute(host: string, destination: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${host.split('.')[0]}, namespace: default}
spec:
  hosts: [${host}]
  gateways: [istio-system/mesh-test]
  http:
  - route:
    - destination: {host: ${destination}}
`;
}
