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

/**
 * The scale benchmarks' command line: `--hosts`, `--routes`, `--services` (the config's size) and `--rounds
 * N` (1..maxRounds) into `o`; any other flag goes to `own(flag, val)`, which returns false for one it does not
 * know. `val()` reads the flag's value (`--flag=v` or the next argument). Unknown flags end the process.
 */
export function parseScaleArgs(name, o, maxRounds, own) {
  const argv = process.argv;
  for (let i = 2; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes('=') ? argv[i].split('=', 2) : [argv[i], undefined];
    const val = () => inline ?? argv[++i];
    switch (flag) {
      case '--hosts': o.hosts = Number(val()); break;
      case '--routes': o.routes = Number(val()); break;
      case '--services': o.services = Number(val()); break;
      case '--rounds': o.rounds = Math.max(1, Math.min(maxRounds, Number(val()))); break;
      default:
        if (!own(flag, val)) {
          console.error(`${name}: unknown option ${argv[i]}`);
          process.exit(2);
        }
    }
  }
  return o;
}
