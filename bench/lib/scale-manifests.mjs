// The configuration-scale manifests shared by bench/scale.mjs and bench/scale-reload.mjs: one Gateway,
// `services` STATIC ServiceEntries, and `hosts` VirtualServices (100 per file) carrying `routes` routes.
export const NS = 'bench';
export const hostName = (h) => `h${h}.bench.example.com`;
export const serviceHost = (s) => `svc${s}.${NS}.svc.cluster.local`;

/** Serves every scale host on port 80. */
export const SCALE_GATEWAY_YAML = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: scale-gateway
  namespace: istio-system
spec:
  selector:
    istio: ingressgateway
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*/*.bench.example.com"]
`;

/**
 * One Gateway (all hosts, port 80), `services` STATIC ServiceEntries, one VirtualService per host.
 * `upstream` (a loopback port) makes every ServiceEntry's endpoint 127.0.0.1 on that port, to serve traffic.
 */
export function manifests({ hosts, routes, services }, { variant = 0, changedHost = -1, upstream } = {}) {
  const files = [];
  files.push({ path: 'gateway.yaml', text: SCALE_GATEWAY_YAML });
  let text = '';
  for (let s = 0; s < services; s++) {
    text += `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc${s}, namespace: ${NS}}
spec:
  hosts: [${serviceHost(s)}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  endpoints: [${upstream ? `{address: 127.0.0.1, ports: {http: ${upstream}}}` : `{address: 10.${(s >> 16) & 255}.${(s >> 8) & 255}.${s & 255}}`}]
`;
  }
  files.push({ path: 'services.yaml', text });
  const perHost = Math.floor(routes / hosts);
  const extra = routes - perHost * hosts;
  // 100 VirtualServices per file: a one-resource change re-reads one small file, as a directory source does.
  const CHUNK = 100;
  for (let start = 0; start < hosts; start += CHUNK) {
    let vs = '';
    for (let h = start; h < Math.min(hosts, start + CHUNK); h++) {
      const n = perHost + (h < extra ? 1 : 0);
      const svc = h % services;
      vs += `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs${h}, namespace: ${NS}}
spec:
  hosts: [${hostName(h)}]
  gateways: [istio-system/scale-gateway]
  http:
`;
      for (let r = 0; r < n - 1; r++) {
        vs += `  - name: r${r}
    match: [{uri: {prefix: /api/v${r}${h === changedHost ? `x${variant}` : ''}/}}]
    route: [{destination: {host: ${serviceHost((svc + r) % services)}, port: {number: 80}}}]
`;
      }
      vs += `  - name: default
    route: [{destination: {host: ${serviceHost(svc)}, port: {number: 80}}}]
`;
    }
    files.push({ path: `virtual-services-${String(start / CHUNK).padStart(3, '0')}.yaml`, text: vs });
  }
  return files;
}
