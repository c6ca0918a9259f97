// Small builders for the Istio YAML the end-to-end tests serve. Plain text, as a user would write it.

export function gatewayYaml(
  name: string,
  servers: Array<{ port: number; protocol: 'HTTP' | 'HTTPS'; hosts?: string[]; httpsRedirect?: boolean; credentialName?: string; portName?: string }>,
  namespace = 'istio-system',
): string {
  const lines = [
    'apiVersion: networking.istio.io/v1',
    'kind: Gateway',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    'spec:',
    '  selector:',
    '    istio: ingressgateway',
    '  servers:',
  ];
  for (const s of servers) {
    lines.push(
      '  - port:',
      `      number: ${s.port}`,
      `      name: ${s.portName ?? `${s.protocol.toLowerCase()}-${s.port}`}`,
      `      protocol: ${s.protocol}`,
      '    hosts:',
      ...(s.hosts ?? ['*']).map((h) => `    - "${h}"`),
    );
    if (s.httpsRedirect) lines.push('    tls:', '      httpsRedirect: true');
    if (s.credentialName) lines.push('    tls:', '      mode: SIMPLE', `      credentialName: ${s.credentialName}`);
  }
  return lines.join('\n') + '\n';
}

/** A STATIC ServiceEntry: `host` served by 127.0.0.1 endpoints on the given ports (labels per endpoint). */
export function serviceEntryYaml(
  name: string,
  host: string,
  endpoints: Array<{ port: number; labels?: Record<string, string> }>,
  namespace = 'default',
): string {
  const lines = [
    'apiVersion: networking.istio.io/v1',
    'kind: ServiceEntry',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    'spec:',
    '  hosts:',
    `  - ${host}`,
    '  location: MESH_INTERNAL',
    '  resolution: STATIC',
    '  ports:',
    '  - number: 80',
    '    name: http',
    '    protocol: HTTP',
    '  endpoints:',
  ];
  for (const e of endpoints) {
    lines.push('  - address: 127.0.0.1', '    ports:', `      http: ${e.port}`);
    if (e.labels) lines.push('    labels:', ...Object.entries(e.labels).map(([k, v]) => `      ${k}: ${v}`));
  }
  return lines.join('\n') + '\n';
}

/** A VirtualService named `app` sending every request that reaches Gateway `gateway` to `host`. */
export function routeAllYaml(host: string, gateway = 'istio-system/edge'): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: app, namespace: default }
spec:
  hosts: ["*"]
  gateways: [${gateway}]
  http:
  - route:
    - destination: { host: ${host} }
`;
}

/** ServiceEntries `blue.internal` and `green.internal`, each on one loopback upstream port, in one file. */
export function blueGreenServicesYaml(bluePort: number, greenPort: number): string {
  return [serviceEntryYaml('blue', 'blue.internal', [{ port: bluePort }]), serviceEntryYaml('green', 'green.internal', [{ port: greenPort }])].join('---\n');
}
