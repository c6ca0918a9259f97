// Upstream TLS for the mesh, compiled: DestinationRule ISTIO_MUTUAL (top level, port level, subset
// overrides) and auto mTLS from PeerAuthentication (mesh, namespace, workload, port; UNSET inherits;
// root-namespace selectors ignored; MESH_EXTERNAL never), with Istio's SNI and the expected SPIFFE IDs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UpstreamTls } from '../../core/snapshot.js';
import { tlsFileSecretName } from '../../routes/compile/tls-files.js';
import { HTTP_GATEWAY_YAML, compileYaml } from '../simulate/support.js';
import { createCA, issueLeaf, tlsSecretYaml } from '../support/pki.js';

const gateway = HTTP_GATEWAY_YAML;

function route(host: string, subset?: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${host.split('.')[0]}${subset ?? ''}, namespace: default}
spec:
  hosts: [${host.split('.')[0]}${subset ?? ''}.example.com]
  gateways: [istio-system/gw]
  http:
  - route:
    - destination: {host: ${host}${subset ? `, subset: ${subset}` : ''}}
`;
}

function serviceEntry(name: string, ns: string, opts: { location?: string; serviceAccount?: string; labels?: string; port?: number; sans?: string } = {}): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: ${ns}}
spec:
  hosts: [${name}.${ns}.svc.cluster.local]
  location: ${opts.location ?? 'MESH_INTERNAL'}
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
${opts.sans ? `  subjectAltNames: [${opts.sans}]\n` : ''}  endpoints:
  - address: 10.0.0.1
    ports: {http: ${opts.port ?? 8080}}
${opts.serviceAccount ? `    serviceAccount: ${opts.serviceAccount}\n` : ''}${opts.labels ? `    labels: {${opts.labels}}\n` : ''}`;
}

function peer(name: string, ns: string, spec: string): string {
  return `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ${name}, namespace: ${ns}}
spec:
${spec}`;
}

function clusterTls(docs: string[], cluster: string): { tls: UpstreamTls | undefined; codes: string[] } {
  const r = compileYaml([gateway, ...docs].join('---\n'));
  const c = r.body.clusters[cluster];
  assert.ok(c, `cluster ${cluster} in ${Object.keys(r.body.clusters).join(', ')}`);
  return { tls: c.tls, codes: r.diagnostics.map((d) => d.code) };
}

test('ISTIO_MUTUAL: Istio SNI, expected identity from the endpoint service account, a warning without a mesh identity', () => {
  const { tls, codes } = clusterTls(
    [
      serviceEntry('reviews', 'shop', { serviceAccount: 'reviews' }),
      'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r, namespace: shop}\nspec:\n  host: reviews.shop.svc.cluster.local\n  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}\n',
      route('reviews.shop.svc.cluster.local'),
    ],
    'outbound|80||reviews.shop.svc.cluster.local',
  );
  assert.deepEqual(tls, {
    mode: 'ISTIO_MUTUAL',
    sni: 'outbound_.80_._.reviews.shop.svc.cluster.local',
    subjectAltNames: ['spiffe://cluster.local/ns/shop/sa/reviews'],
    insecureSkipVerify: false,
  });
  assert.ok(codes.includes('GH_CFG_MESH_IDENTITY'), codes.join());
});

test('ISTIO_MUTUAL: DestinationRule subjectAltNames and sni win; ServiceEntry subjectAltNames are expected too; a subset may DISABLE', () => {
  const docs = [
    serviceEntry('ratings', 'shop', { serviceAccount: 'ratings', sans: '"spiffe://cluster.local/ns/shop/sa/legacy"', labels: 'version: v1' }),
    `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings, namespace: shop}
spec:
  host: ratings.shop.svc.cluster.local
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
  subsets:
  - name: pinned
    labels: {version: v1}
    trafficPolicy:
      tls: {mode: ISTIO_MUTUAL, sni: ratings.internal, subjectAltNames: ["spiffe://cluster.local/ns/shop/sa/pinned"]}
  - name: plain
    labels: {version: v1}
    trafficPolicy:
      tls: {mode: DISABLE}
`,
    route('ratings.shop.svc.cluster.local'),
    route('ratings.shop.svc.cluster.local', 'pinned'),
    route('ratings.shop.svc.cluster.local', 'plain'),
  ];
  const top = clusterTls(docs, 'outbound|80||ratings.shop.svc.cluster.local').tls;
  assert.deepEqual(top?.subjectAltNames, ['spiffe://cluster.local/ns/shop/sa/legacy', 'spiffe://cluster.local/ns/shop/sa/ratings']);
  const pinned = clusterTls(docs, 'outbound|80|pinned|ratings.shop.svc.cluster.local').tls;
  assert.equal(pinned?.sni, 'ratings.internal');
  assert.deepEqual(pinned?.subjectAltNames, ['spiffe://cluster.local/ns/shop/sa/pinned']);
  assert.equal(clusterTls(docs, 'outbound|80|plain|ratings.shop.svc.cluster.local').tls, undefined);
});

test('the mesh identity Secret in the gateway namespace becomes the client certificate of ISTIO_MUTUAL clusters', () => {
  const ca = createCA('mesh');
  const leaf = issueLeaf(ca, ['gateway.mesh']);
  const { tls, codes } = clusterTls(
    [
      serviceEntry('cart', 'shop'),
      'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: c, namespace: shop}\nspec:\n  host: cart.shop.svc.cluster.local\n  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}\n',
      tlsSecretYaml('gatehouse-mesh-identity', 'istio-system', leaf, ca.certPem),
      route('cart.shop.svc.cluster.local'),
    ],
    'outbound|80||cart.shop.svc.cluster.local',
  );
  assert.equal(tls?.secret, 'istio-system/gatehouse-mesh-identity');
  assert.deepEqual(tls?.subjectAltNames, [], 'no identity known: any workload of the mesh root is accepted');
  assert.deepEqual(codes, []);
});

const autoCases: Array<{ name: string; docs: string[]; se?: Parameters<typeof serviceEntry>[2]; namespace?: string; expect: 'ISTIO_MUTUAL' | undefined }> = [
  { name: 'no PeerAuthentication: plaintext', docs: [], expect: undefined },
  { name: 'mesh-wide STRICT in the root namespace', docs: [peer('default', 'istio-system', '  mtls: {mode: STRICT}\n')], expect: 'ISTIO_MUTUAL' },
  {
    name: 'namespace PERMISSIVE overrides mesh-wide STRICT',
    docs: [peer('default', 'istio-system', '  mtls: {mode: STRICT}\n'), peer('default', 'shop', '  mtls: {mode: PERMISSIVE}\n')],
    expect: undefined,
  },
  {
    name: 'namespace UNSET inherits mesh-wide STRICT',
    docs: [peer('default', 'istio-system', '  mtls: {mode: STRICT}\n'), peer('default', 'shop', '  mtls: {mode: UNSET}\n')],
    expect: 'ISTIO_MUTUAL',
  },
  {
    name: 'a workload selector STRICT on the endpoint labels',
    docs: [peer('cart', 'shop', '  selector: {matchLabels: {app: cart}}\n  mtls: {mode: STRICT}\n')],
    se: { labels: 'app: cart' },
    expect: 'ISTIO_MUTUAL',
  },
  {
    name: 'a workload selector that matches other labels does not apply',
    docs: [peer('cart', 'shop', '  selector: {matchLabels: {app: other}}\n  mtls: {mode: STRICT}\n')],
    se: { labels: 'app: cart' },
    expect: undefined,
  },
  {
    name: 'portLevelMtls on the workload port disables a namespace STRICT',
    docs: [
      peer('default', 'shop', '  mtls: {mode: STRICT}\n'),
      peer('cart', 'shop', '  selector: {matchLabels: {app: cart}}\n  mtls: {mode: UNSET}\n  portLevelMtls: {"8080": {mode: DISABLE}}\n'),
    ],
    se: { labels: 'app: cart', port: 8080 },
    expect: undefined,
  },
  {
    name: 'a selector policy in the root namespace is ignored, even for a workload there',
    docs: [peer('cart', 'istio-system', '  selector: {matchLabels: {app: cart}}\n  mtls: {mode: STRICT}\n')],
    se: { labels: 'app: cart' },
    namespace: 'istio-system',
    expect: undefined,
  },
  {
    name: 'a sidecar (security.istio.io/tlsMode: istio) with no PeerAuthentication at all gets mTLS, as istiod decides',
    docs: [],
    se: { labels: '"security.istio.io/tlsMode": istio' },
    expect: 'ISTIO_MUTUAL',
  },
  {
    name: 'a sidecar in a PERMISSIVE namespace gets mTLS',
    docs: [peer('default', 'shop', '  mtls: {mode: PERMISSIVE}\n')],
    se: { labels: '"security.istio.io/tlsMode": istio' },
    expect: 'ISTIO_MUTUAL',
  },
  {
    name: 'a sidecar whose workload PeerAuthentication is DISABLE stays plaintext',
    docs: [peer('cart', 'shop', '  selector: {matchLabels: {app: cart}}\n  mtls: {mode: DISABLE}\n')],
    se: { labels: '"security.istio.io/tlsMode": istio, app: cart' },
    expect: undefined,
  },
  {
    name: 'tlsMode: disabled is no sidecar',
    docs: [],
    se: { labels: '"security.istio.io/tlsMode": disabled' },
    expect: undefined,
  },
  {
    name: 'MESH_EXTERNAL services never get auto mTLS',
    docs: [peer('default', 'shop', '  mtls: {mode: STRICT}\n')],
    se: { location: 'MESH_EXTERNAL' },
    expect: undefined,
  },
  {
    name: 'an explicit DestinationRule DISABLE wins over STRICT',
    docs: [
      peer('default', 'shop', '  mtls: {mode: STRICT}\n'),
      'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: c, namespace: shop}\nspec:\n  host: cart.shop.svc.cluster.local\n  trafficPolicy: {tls: {mode: DISABLE}}\n',
    ],
    expect: undefined,
  },
];

test('auto mTLS follows PeerAuthentication as istiod resolves it', async (t) => {
  for (const c of autoCases) {
    await t.test(c.name, () => {
      const ns = c.namespace ?? 'shop';
      const host = `cart.${ns}.svc.cluster.local`;
      const { tls } = clusterTls([serviceEntry('cart', ns, c.se ?? {}), ...c.docs, route(host)], `outbound|80||${host}`);
      assert.equal(tls?.mode, c.expect);
      if (c.expect) assert.equal(tls?.sni, `outbound_.80_._.${host}`);
    });
  }
});

test('Kubernetes endpoints: the expected identities are the pods service accounts', () => {
  const { tls } = clusterTls(
    [
      peer('default', 'shop', '  mtls: {mode: STRICT}\n'),
      `apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: cart-1, namespace: shop, labels: {kubernetes.io/service-name: cart}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- addresses: [10.1.0.1]
  targetRef: {kind: Pod, name: cart-a, namespace: shop}
- addresses: [10.1.0.2]
---
apiVersion: v1
kind: Pod
metadata: {name: cart-a, namespace: shop, labels: {app: cart}}
spec: {serviceAccountName: cart}
status: {podIP: 10.1.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: cart-b, namespace: shop, labels: {app: cart}}
spec: {serviceAccountName: cart-canary}
status: {podIP: 10.1.0.2}
`,
      route('cart.shop.svc.cluster.local'),
    ],
    'outbound|80||cart.shop.svc.cluster.local',
  );
  assert.equal(tls?.mode, 'ISTIO_MUTUAL');
  assert.deepEqual(tls?.subjectAltNames, ['spiffe://cluster.local/ns/shop/sa/cart', 'spiffe://cluster.local/ns/shop/sa/cart-canary']);
});

test('auto mTLS per endpoint: one cluster mixes mutual-TLS endpoints and plaintext ones, no conflict warning', () => {
  const r = compileYaml(
    [
      gateway,
      `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: cart, namespace: shop}
spec:
  hosts: [cart.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  endpoints:
  - {address: 10.0.0.1, labels: {app: cart, track: strict}}
  - {address: 10.0.0.2, labels: {app: cart, track: legacy}}
  - {address: 10.0.0.3, labels: {app: cart, "security.istio.io/tlsMode": istio}}
  - {address: 10.0.0.4, labels: {app: cart}}
`,
      peer('strict', 'shop', '  selector: {matchLabels: {track: strict}}\n  mtls: {mode: STRICT}\n'),
      route('cart.shop.svc.cluster.local'),
    ].join('---\n'),
  );
  const c = r.body.clusters['outbound|80||cart.shop.svc.cluster.local'];
  assert.equal(c?.tls?.mode, 'ISTIO_MUTUAL');
  assert.deepEqual(
    c?.endpoints.map((e) => [e.address, e.plaintext === true]),
    [['10.0.0.1', false], ['10.0.0.2', true], ['10.0.0.3', false], ['10.0.0.4', true]],
  );
  assert.deepEqual(r.diagnostics.filter((d) => d.code === 'GH_CFG_CONFLICT'), []);
});

test('DestinationRule file paths: read files become the cluster CA and client identity; unread or broken ones make it unavailable', () => {
  const ca = createCA('file-ca', 'ec');
  const client = issueLeaf(ca, ['gw.client'], { client: true });
  const fileSecret = (path: string, text: string | undefined, error?: string): string =>
    `apiVersion: v1
kind: Secret
metadata:
  name: ${tlsFileSecretName(path)}
  namespace: istio-system
  annotations: {gatehouse.io/tls-file: "${path}"${error ? `, gatehouse.io/tls-file-error: "${error}"` : ''}}
type: Opaque
${text === undefined ? '' : `stringData:\n  file: |\n${text.trim().split('\n').map((l) => `    ${l}`).join('\n')}\n`}`;
  const rule = (host: string, tls: string): string =>
    `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: ${host.split('.')[0]}, namespace: shop}\nspec:\n  host: ${host}\n  trafficPolicy: {tls: ${tls}}\n`;
  const r = compileYaml(
    [
      gateway,
      serviceEntry('good', 'shop'),
      rule('good.shop.svc.cluster.local', '{mode: MUTUAL, caCertificates: /etc/ca.pem, clientCertificate: /etc/c.pem, privateKey: /etc/k.pem}'),
      route('good.shop.svc.cluster.local'),
      serviceEntry('bad', 'shop'),
      rule('bad.shop.svc.cluster.local', '{mode: MUTUAL, caCertificates: /etc/missing.pem, clientCertificate: /etc/c.pem, privateKey: /etc/ca.pem}'),
      route('bad.shop.svc.cluster.local'),
      fileSecret('/etc/ca.pem', ca.certPem),
      fileSecret('/etc/c.pem', client.certPem),
      fileSecret('/etc/k.pem', client.keyPem),
      fileSecret('/etc/missing.pem', undefined, '/etc/missing.pem does not exist'),
    ].join('---\n'),
  );
  const good = r.body.clusters['outbound|80||good.shop.svc.cluster.local']?.tls;
  assert.equal(good?.mode, 'MUTUAL');
  assert.equal(good?.caPem, ca.certPem.trim() + '\n');
  assert.equal(good?.unavailable, undefined);
  assert.equal(r.body.secrets[good?.secret ?? '']?.certPem?.trim(), client.certPem.trim());
  const bad = r.body.clusters['outbound|80||bad.shop.svc.cluster.local']?.tls;
  assert.match(bad?.unavailable ?? '', /caCertificates \/etc\/missing\.pem: \/etc\/missing\.pem does not exist; clientCertificate \/etc\/c\.pem: .*private key/);
  const fields = r.diagnostics.filter((d) => d.resource === 'DestinationRule/shop/bad').map((d) => `${d.code} ${d.field}`);
  assert.deepEqual(fields, ['GH_CFG_SECRET_NOT_FOUND spec.trafficPolicy.tls.caCertificates', 'GH_CFG_SECRET_INVALID spec.trafficPolicy.tls.clientCertificate']);
});

test('auto mTLS per endpoint with Kubernetes endpoints: the pod carrying the injector label gets mTLS, the other pod plaintext', () => {
  const r = compileYaml(
    [
      gateway,
      `apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: cart-1, namespace: shop, labels: {kubernetes.io/service-name: cart}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- addresses: [10.1.0.1]
  targetRef: {kind: Pod, name: cart-injected, namespace: shop}
- addresses: [10.1.0.2]
  targetRef: {kind: Pod, name: cart-plain, namespace: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: cart-injected, namespace: shop, labels: {app: cart, security.istio.io/tlsMode: istio}}
spec: {serviceAccountName: cart}
status: {podIP: 10.1.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: cart-plain, namespace: shop, labels: {app: cart}}
spec: {serviceAccountName: cart}
status: {podIP: 10.1.0.2}
`,
      route('cart.shop.svc.cluster.local'),
    ].join('---\n'),
  );
  const c = r.body.clusters['outbound|80||cart.shop.svc.cluster.local'];
  assert.equal(c?.tls?.mode, 'ISTIO_MUTUAL');
  assert.deepEqual(c?.tls?.subjectAltNames, ['spiffe://cluster.local/ns/shop/sa/cart']);
  assert.deepEqual(c?.endpoints.map((e) => [e.address, e.plaintext === true]), [['10.1.0.1', false], ['10.1.0.2', true]]);
});
