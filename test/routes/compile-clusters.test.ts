import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster } from '../../core/snapshot.js';
import { HTTP_GATEWAY_YAML, compileYaml } from '../simulate/support.js';

const GATEWAY = HTTP_GATEWAY_YAML;

function routeTo(destinations: string): string {
  return `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: v, namespace: default}
spec:
  hosts: [a.com]
  gateways: [istio-system/gw]
  http:
  - route:
${destinations}`;
}

function clusters(yaml: string): Record<string, Cluster> {
  return compileYaml(yaml).body.clusters;
}

test('destination port: explicit, else the service\'s single port, else the listener port', () => {
  const yaml = GATEWAY + routeTo(`    - {destination: {host: single}, weight: 50}
    - {destination: {host: multi}, weight: 25}
    - {destination: {host: nowhere.example}, weight: 25}
`) + `---
apiVersion: v1
kind: Service
metadata: {name: single, namespace: default}
spec:
  ports: [{name: http, port: 9080, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: multi, namespace: default}
spec:
  ports: [{name: http, port: 8000}, {name: grpc, port: 9000}]
`;
  const r = compileYaml(yaml);
  assert.deepEqual(Object.keys(r.body.clusters), [
    'outbound|80||multi.default.svc.cluster.local',
    'outbound|80||nowhere.example',
    'outbound|9080||single.default.svc.cluster.local',
  ]);
  const missing = r.diagnostics.filter((d) => d.code === 'GH_CFG_HOST_NOT_FOUND').map((d) => d.message);
  assert.equal(missing.length, 2, missing.join('\n'));
  assert.ok(missing.some((m) => m.includes('nowhere.example')));
  assert.ok(missing.some((m) => m.includes('multi.default.svc.cluster.local has no port 80')));
  assert.deepEqual(r.body.clusters['outbound|80||nowhere.example']?.endpoints, []);
});

test('Kubernetes Service endpoints: ready EndpointSlice addresses, port mapped by name; v1 Endpoints fallback', () => {
  const yaml = GATEWAY + routeTo(`    - {destination: {host: web, port: {number: 80}}, weight: 50}
    - {destination: {host: old, port: {number: 80}}, weight: 50}
`) + `---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}, {name: metrics, port: 9090}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  namespace: default
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports: [{name: metrics, port: 9091}, {name: http, port: 8080}]
endpoints:
- addresses: [10.0.0.1]
  conditions: {ready: true}
- addresses: [10.0.0.2]
  conditions: {ready: false}
- addresses: [10.0.0.3]
---
apiVersion: v1
kind: Service
metadata: {name: old, namespace: default}
spec:
  ports: [{name: web, port: 80}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: old, namespace: default}
subsets:
- addresses: [{ip: 10.1.0.1}]
  notReadyAddresses: [{ip: 10.1.0.2}]
  ports: [{name: web, port: 8081}]
`;
  const c = clusters(yaml);
  assert.deepEqual(c['outbound|80||web.default.svc.cluster.local']?.endpoints.map((e) => `${e.address}:${e.port}`), ['10.0.0.1:8080', '10.0.0.3:8080']);
  assert.deepEqual(c['outbound|80||old.default.svc.cluster.local']?.endpoints.map((e) => `${e.address}:${e.port}`), ['10.1.0.1:8081']);
});

test('ServiceEntry endpoints: STATIC with per-port overrides and labels, DNS with the host itself', () => {
  const yaml = GATEWAY + routeTo(`    - {destination: {host: api.internal, subset: v2, port: {number: 443}}, weight: 50}
    - {destination: {host: ext.example.com}, weight: 50}
`) + `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: default}
spec:
  hosts: [api.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 443, name: https, protocol: HTTPS, targetPort: 8443}]
  endpoints:
  - {address: 10.2.0.1, labels: {version: v1}}
  - {address: 10.2.0.2, labels: {version: v2}, ports: {https: 9443}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: default}
spec:
  hosts: [ext.example.com]
  resolution: DNS
  ports: [{number: 443, name: tls, protocol: TLS}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: default}
spec:
  host: api.internal
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    connectionPool: {tcp: {connectTimeout: 250ms}}
    portLevelSettings:
    - port: {number: 443}
      loadBalancer: {simple: RANDOM}
  subsets:
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      tls: {mode: SIMPLE, sni: api.internal, insecureSkipVerify: true}
`;
  const c = clusters(yaml);
  const api = c['outbound|443|v2|api.internal'];
  assert.ok(api);
  assert.equal(api.discovery, 'STATIC');
  assert.deepEqual(api.endpoints, [{ address: '10.2.0.2', port: 9443, weight: 1, labels: { version: 'v2' } }]);
  assert.equal(api.loadBalancer, 'RANDOM');
  assert.equal(api.connectTimeoutMs, 250);
  assert.deepEqual(api.tls, { mode: 'SIMPLE', sni: 'api.internal', subjectAltNames: [], insecureSkipVerify: true });
  const ext = c['outbound|443||ext.example.com'];
  assert.equal(ext?.discovery, 'DNS');
  assert.deepEqual(ext?.endpoints.map((e) => `${e.address}:${e.port}`), ['ext.example.com:443']);
  assert.equal(ext?.loadBalancer, 'LEAST_REQUEST');
  assert.equal(ext?.connectTimeoutMs, 10_000);
});

test('DestinationRule lookup: the gateway namespace first, short hosts resolved in the rule namespace; invisible subsets have no cluster', () => {
  const yaml = GATEWAY + routeTo(`    - {destination: {host: reviews, subset: v1}, weight: 50}
    - {destination: {host: reviews, subset: v9}, weight: 50}
`) + `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local]
  resolution: STATIC
  ports: [{number: 9080, name: http, protocol: HTTP}]
  endpoints: [{address: 10.3.0.1, labels: {version: v1}}, {address: 10.3.0.2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy: {loadBalancer: {simple: RANDOM}}
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-edge, namespace: istio-system}
spec:
  host: reviews.default.svc.cluster.local
  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-private, namespace: team-x}
spec:
  host: reviews.default.svc.cluster.local
  exportTo: ["."]
  subsets: [{name: v9, labels: {version: v9}}]
`;
  const r = compileYaml(yaml);
  const v1 = r.body.clusters['outbound|9080|v1|reviews.default.svc.cluster.local'];
  assert.equal(v1?.loadBalancer, 'ROUND_ROBIN', 'the rule in the gateway namespace wins');
  assert.deepEqual(v1?.endpoints.map((e) => e.address), ['10.3.0.1']);
  assert.equal(r.body.clusters['outbound|9080|v9|reviews.default.svc.cluster.local'], undefined);
  assert.ok(r.diagnostics.some((d) => d.code === 'GH_CFG_SUBSET_NOT_FOUND' && d.field === 'spec.http[0].route[1].destination'));
});

test('HTTP2 and gRPC service ports give h2 clusters', () => {
  const yaml = GATEWAY + routeTo(`    - {destination: {host: grpc-svc}}
`) + `---
apiVersion: v1
kind: Service
metadata: {name: grpc-svc, namespace: default}
spec:
  ports: [{name: grpc, port: 50051, appProtocol: grpc}]
`;
  assert.equal(clusters(yaml)['outbound|50051||grpc-svc.default.svc.cluster.local']?.protocol, 'HTTP2');
});

test('several DestinationRules for one host merge: subsets appended, the oldest traffic policy kept', () => {
  const yaml = GATEWAY + routeTo(`    - {destination: {host: ratings, subset: v1}, weight: 50}
    - {destination: {host: ratings, subset: v2}, weight: 50}
`) + `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ratings, namespace: default}
spec:
  hosts: [ratings.default.svc.cluster.local]
  resolution: STATIC
  ports: [{number: 9080, name: http, protocol: HTTP}]
  endpoints: [{address: 10.4.0.1, labels: {version: v1}}, {address: 10.4.0.2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings-v2, namespace: default, creationTimestamp: "2024-02-01T00:00:00Z"}
spec:
  host: ratings
  trafficPolicy: {loadBalancer: {simple: RANDOM}}
  subsets: [{name: v2, labels: {version: v2}}, {name: v1, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings-v1, namespace: default, creationTimestamp: "2024-01-01T00:00:00Z"}
spec:
  host: ratings.default.svc.cluster.local
  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
  subsets: [{name: v1, labels: {version: v1}}]
`;
  const c = clusters(yaml);
  assert.deepEqual(c['outbound|9080|v1|ratings.default.svc.cluster.local']?.endpoints.map((e) => e.address), ['10.4.0.1'], 'the older rule defines v1');
  assert.deepEqual(c['outbound|9080|v2|ratings.default.svc.cluster.local']?.endpoints.map((e) => e.address), ['10.4.0.2']);
  assert.equal(c['outbound|9080|v2|ratings.default.svc.cluster.local']?.loadBalancer, 'ROUND_ROBIN');
});

test('subsets of a Kubernetes Service select endpoints by the labels of their pods (targetRef, else IP)', () => {
  const yaml = GATEWAY + routeTo(`    - {destination: {host: reviews, subset: v2}}
`) + `---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  ports: [{name: http, port: 9080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: reviews-abc
  namespace: default
  labels: {kubernetes.io/service-name: reviews}
addressType: IPv4
ports: [{name: http, port: 9080}]
endpoints:
- addresses: [10.0.0.1]
  targetRef: {kind: Pod, name: reviews-v1-x, namespace: default}
- addresses: [10.0.0.2]
  targetRef: {kind: Pod, name: reviews-v2-y, namespace: default}
- addresses: [10.0.0.3]
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v1-x, namespace: default, labels: {app: reviews, version: v1}}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v2-y, namespace: default, labels: {app: reviews, version: v2}}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v2-z, namespace: default, labels: {app: reviews, version: v2}}
status: {podIP: 10.0.0.3}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`;
  const c = clusters(yaml)['outbound|9080|v2|reviews.default.svc.cluster.local'];
  assert.ok(c, 'the subset cluster exists');
  assert.deepEqual(c.endpoints.map((e) => e.address), ['10.0.0.2', '10.0.0.3']);
  assert.equal(c.endpoints[0]?.labels.version, 'v2');
});
