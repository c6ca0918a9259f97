// validateResources: every error and warning class, each pinned to the exact line of the offending field.
// Cases mark the expected line with a `#<` comment, so the YAML can change without recounting lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Diagnostic } from '../../core/diagnostics.js';
import { formatDiagnostic } from '../../core/diagnostics.js';
import { parseManifests } from '../../routes/parse.js';
import { validateResources } from '../../routes/validate/index.js';
import { HTTP_GATEWAY_YAML } from '../simulate/support.js';

function lineOf(text: string, marker: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(marker));
  assert.ok(i >= 0, `marker ${marker} not in text`);
  return i + 1;
}

function validate(text: string, path = 'm.yaml'): Diagnostic[] {
  const { resources, diagnostics } = parseManifests([{ path, text }], { defaultNamespace: 'default' });
  assert.deepEqual(diagnostics, [], 'the case must parse cleanly');
  return validateResources(resources);
}

const show = (ds: readonly Diagnostic[]): string => ds.map((d) => `${d.severity} ${formatDiagnostic(d)}`).join('\n');

const GATEWAY = `${HTTP_GATEWAY_YAML}---\n`;

/** A VirtualService bound to the Gateway above, with the given `http` list. */
const vs = (http: string): string => `${GATEWAY}apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: default}
spec:
  hosts: [shop.example.com]
  gateways: [istio-system/gw]
  http:
${http}`;

/** A Gateway with the given `servers` list. */
const gw = (servers: string): string => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw2, namespace: istio-system}
spec:
  servers:
${servers}`;

interface Case {
  readonly name: string;
  readonly yaml: string;
  readonly code: string;
  readonly severity: 'error' | 'warning';
  readonly field?: string;
  readonly message?: RegExp;
}

function expectCase(c: Case): void {
  const ds = validate(c.yaml);
  const hits = ds.filter((d) => d.code === c.code && d.severity === c.severity && (c.field === undefined || d.field === c.field));
  assert.equal(hits.length, 1, `${c.name}: expected one ${c.severity} ${c.code} at ${c.field ?? '?'}, got:\n${show(ds)}`);
  const d = hits[0] as Diagnostic;
  assert.equal(d.source?.line, lineOf(c.yaml, '#<'), `${c.name}: line of ${formatDiagnostic(d)}`);
  assert.equal(d.source?.file, 'm.yaml');
  assert.ok(d.resource && /^[A-Za-z]+\/[a-z0-9-]+\/[^/]+$/.test(d.resource), `${c.name}: resource ${d.resource}`);
  if (c.message) assert.match(d.message, c.message, c.name);
  // Nothing else may be wrong with the case: the rule under test is the only one that fires.
  const others = ds.filter((x) => x !== d && (x.severity === 'error' || c.severity === 'warning'));
  const unrelated = others.filter((x) => !(x.code === c.code && x.severity === c.severity));
  assert.deepEqual(unrelated, [], `${c.name}: unexpected diagnostics:\n${show(unrelated)}`);
}

test('a well-formed configuration has no diagnostics at all', () => {
  const ds = validate(
    vs(`  - match:
    - uri: {prefix: /api}
      headers:
        x-canary: {exact: "1"}
    route:
    - destination: {host: api}
      weight: 90
    - destination: {host: api-canary}
      weight: 10
    timeout: 1.5s
`),
  );
  assert.deepEqual(ds, [], show(ds));
});

const errorCases: Case[] = [
  {
    name: 'a response header value with a line break',
    yaml: vs(`  - route:
    - destination: {host: a}
    headers:
      response:
        set:
          x-note: "a\\r\\nSet-Cookie: b=1" #<
`),
    code: 'GH_CFG_VALUE',
    severity: 'error',
    field: 'spec.http[0].headers.response.set.x-note',
    message: /must not contain control characters/,
  },
  {
    name: 'a header operation name that is not a token',
    yaml: vs(`  - route:
    - destination: {host: a}
    headers:
      request:
        remove:
        - "x bad" #<
`),
    code: 'GH_CFG_VALUE',
    severity: 'error',
    field: 'spec.http[0].headers.request.remove[0]',
    message: /must be an HTTP header name/,
  },
  {
    name: 'string where an integer goes',
    yaml: vs(`  - route:
    - destination: {host: a}
      weight: fifty #<
`),
    code: 'GH_CFG_TYPE',
    severity: 'error',
    field: 'spec.http[0].route[0].weight',
    message: /^weight must be an integer, got string "fifty"$/,
  },
  {
    name: 'map where a list goes',
    yaml: vs(`  - match: #<
      uri: {prefix: /}
    route:
    - destination: {host: a}
`),
    code: 'GH_CFG_TYPE',
    severity: 'error',
    field: 'spec.http[0].match',
    message: /match must be a list, got a map/,
  },
  {
    name: 'missing required destination host',
    yaml: vs(`  - route:
    - destination: #<
        subset: v1
`),
    code: 'GH_CFG_REQUIRED',
    severity: 'error',
    field: 'spec.http[0].route[0].destination.host',
    message: /Destination\.host is required/,
  },
  {
    name: 'negative weight',
    yaml: vs(`  - route:
    - destination: {host: a}
      weight: -1 #<
`),
    code: 'GH_CFG_VALUE',
    severity: 'error',
    field: 'spec.http[0].route[0].weight',
    message: /weight must be between 0 and \d+, got -1/,
  },
  {
    name: 'weights that are all zero',
    yaml: vs(`  - route: #<
    - destination: {host: a}
      weight: 0
    - destination: {host: b}
      weight: 0
`),
    code: 'GH_CFG_VALUE',
    severity: 'error',
    field: 'spec.http[0].route',
    message: /total weight of 0/,
  },
  {
    name: 'redirect code that is not 3xx',
    yaml: vs(`  - redirect:
      uri: /new
      redirectCode: 200 #<
`),
    code: 'GH_CFG_VALUE',
    severity: 'error',
    field: 'spec.http[0].redirect.redirectCode',
    message: /3xx/,
  },
  {
    name: 'direct response status out of range',
    yaml: vs(`  - directResponse:
      status: 700 #<
`),
    code: 'GH_CFG_VALUE',
    severity: 'error',
    field: 'spec.http[0].directResponse.status',
    message: /between 200 and 599, got 700/,
  },
  {
    name: 'direct response without status',
    yaml: vs(`  - directResponse: #<
      body: {string: hi}
`),
    code: 'GH_CFG_REQUIRED',
    severity: 'error',
    field: 'spec.http[0].directResponse.status',
  },
  {
    name: 'uri regex that does not compile',
    yaml: vs(`  - match:
    - uri:
        regex: "/api/(v1" #<
    route:
    - destination: {host: a}
`),
    code: 'GH_CFG_REGEX',
    severity: 'error',
    field: 'spec.http[0].match[0].uri.regex',
    message: /not a valid regular expression/,
  },
  {
    name: 'header regex that does not compile, under a quoted header name',
    yaml: vs(`  - match:
    - headers:
        "x.version":
          regex: "[" #<
    route:
    - destination: {host: a}
`),
    code: 'GH_CFG_REGEX',
    severity: 'error',
    field: 'spec.http[0].match[0].headers["x.version"].regex',
  },
  {
    name: 'empty regex',
    yaml: vs(`  - match:
    - uri:
        regex: "" #<
    route:
    - destination: {host: a}
`),
    code: 'GH_CFG_REGEX',
    severity: 'error',
    field: 'spec.http[0].match[0].uri.regex',
    message: /must not be empty/,
  },
  {
    name: 'RE2-only syntax that JavaScript cannot compile',
    yaml: vs(`  - rewrite:
      uriRegexRewrite:
        match: "^/old/(?P<rest>.*)$" #<
        rewrite: /new/\\1
    route:
    - destination: {host: a}
`),
    code: 'GH_CFG_REGEX',
    severity: 'error',
    field: 'spec.http[0].rewrite.uriRegexRewrite.match',
  },
  {
    name: 'StringMatch with two kinds of match',
    yaml: vs(`  - match:
    - uri:
        exact: /a
        prefix: /b #<
    route:
    - destination: {host: a}
`),
    code: 'GH_CFG_VALUE',
    severity: 'error',
    field: 'spec.http[0].match[0].uri.prefix',
    message: /only one of exact, prefix, regex/,
  },
  {
    name: 'bad duration',
    yaml: vs(`  - route:
    - destination: {host: a}
    timeout: 5 seconds #<
`),
    code: 'GH_CFG_VALUE',
    severity: 'error',
    field: 'spec.http[0].timeout',
    message: /duration/,
  },
  {
    name: 'route and redirect together',
    yaml: vs(`  - route:
    - destination: {host: a}
    redirect: #<
      uri: /b
`),
    code: 'GH_CFG_VALUE',
    severity: 'error',
    field: 'spec.http[0].redirect',
    message: /both route and redirect/,
  },
  {
    name: 'route and directResponse together',
    yaml: vs(`  - route:
    - destination: {host: a}
    directResponse: #<
      status: 404
`),
    code: 'GH_CFG_VALUE',
    severity: 'error',
    field: 'spec.http[0].directResponse',
  },
  {
    name: 'route with no action',
    yaml: vs(`  - match: #<
    - uri: {prefix: /}
    timeout: 1s
`),
    code: 'GH_CFG_REQUIRED',
    severity: 'error',
    field: 'spec.http[0]',
    message: /route, redirect, directResponse or delegate/,
  },
  {
    name: 'VirtualService bound to gateways without hosts',
    yaml: `${GATEWAY}apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec: #<
  gateways: [istio-system/gw]
  http:
  - route:
    - destination: {host: a}
`,
    code: 'GH_CFG_REQUIRED',
    severity: 'error',
    field: 'spec.hosts',
  },
  {
    name: 'value outside an enum',
    yaml: gw(`  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls:
      mode: SIMPEL #<
      credentialName: cert
`),
    code: 'GH_CFG_VALUE',
    severity: 'error',
    field: 'spec.servers[0].tls.mode',
    message: /mode must be one of PASSTHROUGH, SIMPLE, MUTUAL.*got "SIMPEL"/,
  },
  {
    name: 'port out of range',
    yaml: gw(`  - port:
      number: 70000 #<
      name: http
      protocol: HTTP
    hosts: ["*"]
`),
    code: 'GH_CFG_VALUE',
    severity: 'error',
    field: 'spec.servers[0].port.number',
    message: /between 1 and 65535, got 70000/,
  },
  {
    name: 'unknown port protocol',
    yaml: gw(`  - port:
      number: 80
      name: http
      protocol: HTTP3 #<
    hosts: ["*"]
`),
    code: 'GH_CFG_VALUE',
    severity: 'error',
    field: 'spec.servers[0].port.protocol',
  },
  {
    name: 'HTTPS server without tls',
    yaml: gw(`  - port: {number: 443, name: https, protocol: HTTPS} #<
    hosts: ["*"]
`),
    code: 'GH_CFG_REQUIRED',
    severity: 'error',
    field: 'spec.servers[0].tls',
    message: /HTTPS server needs tls/,
  },
  {
    name: 'TLS server without tls',
    yaml: gw(`  - port: {number: 443, name: tls, protocol: TLS} #<
    hosts: ["*"]
`),
    code: 'GH_CFG_REQUIRED',
    severity: 'error',
    field: 'spec.servers[0].tls',
  },
  {
    name: 'SIMPLE tls without credentialName or certificate files',
    yaml: gw(`  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: #<
      mode: SIMPLE
`),
    code: 'GH_CFG_REQUIRED',
    severity: 'error',
    field: 'spec.servers[0].tls.credentialName',
    message: /credentialName/,
  },
  {
    name: 'MUTUAL tls with only a certificate file',
    yaml: gw(`  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: #<
      mode: MUTUAL
      serverCertificate: /etc/certs/cert.pem
`),
    code: 'GH_CFG_REQUIRED',
    severity: 'error',
    field: 'spec.servers[0].tls.credentialName',
  },
  {
    name: 'gateway host with two slashes',
    yaml: gw(`  - port: {number: 80, name: http, protocol: HTTP}
    hosts:
    - "*.example.com"
    - "a/b/c" #<
`),
    code: 'GH_CFG_VALUE',
    severity: 'error',
    field: 'spec.servers[0].hosts[1]',
    message: /more than one "\/"/,
  },
  {
    name: 'gateway host that is not a DNS name',
    yaml: gw(`  - port: {number: 80, name: http, protocol: HTTP}
    hosts:
    - "shop/foo..example.com" #<
`),
    code: 'GH_CFG_VALUE',
    severity: 'error',
    field: 'spec.servers[0].hosts[0]',
  },
  {
    name: 'gateway host with a wildcard in the middle',
    yaml: gw(`  - port: {number: 80, name: http, protocol: HTTP}
    hosts:
    - "foo.*.com" #<
`),
    code: 'GH_CFG_VALUE',
    severity: 'error',
    field: 'spec.servers[0].hosts[0]',
  },
  {
    name: 'gateway server without hosts',
    yaml: gw(`  - port: {number: 80, name: http, protocol: HTTP} #<
`),
    code: 'GH_CFG_REQUIRED',
    severity: 'error',
    field: 'spec.servers[0].hosts',
  },
  {
    name: 'duplicate port names in a Gateway',
    yaml: gw(`  - port: {number: 80, name: web, protocol: HTTP}
    hosts: ["*"]
  - port: {number: 8080, name: web, protocol: HTTP} #<
    hosts: ["*"]
`),
    code: 'GH_CFG_DUPLICATE',
    severity: 'error',
    field: 'spec.servers[1].port.name',
  },
  {
    name: 'duplicate subset names in a DestinationRule',
    yaml: `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v1 #<
    labels: {version: v2}
`,
    code: 'GH_CFG_DUPLICATE',
    severity: 'error',
    field: 'spec.subsets[1].name',
    message: /subset "v1" is already defined at subsets\[0\]/,
  },
  {
    name: 'load balancer enum',
    yaml: `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      simple: FASTEST #<
`,
    code: 'GH_CFG_VALUE',
    severity: 'error',
    field: 'spec.trafficPolicy.loadBalancer.simple',
  },
  {
    name: 'ServiceEntry ports with a duplicate number',
    yaml: `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext}
spec:
  hosts: [api.example.com]
  resolution: DNS
  ports:
  - {number: 443, name: https, protocol: TLS}
  - {number: 443, name: https-alt, protocol: TLS} #<
`,
    code: 'GH_CFG_DUPLICATE',
    severity: 'error',
    field: 'spec.ports[1].number',
    message: /port number 443 is already declared at ports\[0\]/,
  },
  {
    name: 'ServiceEntry ports with a duplicate name',
    yaml: `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext}
spec:
  hosts: [api.example.com]
  resolution: DNS
  ports:
  - number: 443
    name: https
  - number: 8443
    name: https #<
`,
    code: 'GH_CFG_DUPLICATE',
    severity: 'error',
    field: 'spec.ports[1].name',
  },
  {
    name: 'ServiceEntry resolution enum',
    yaml: `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext}
spec:
  hosts: [api.example.com]
  resolution: dns #<
`,
    code: 'GH_CFG_VALUE',
    severity: 'error',
    field: 'spec.resolution',
  },
  {
    name: 'ServiceEntry without hosts',
    yaml: `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext}
spec: #<
  resolution: DNS
`,
    code: 'GH_CFG_REQUIRED',
    severity: 'error',
    field: 'spec.hosts',
  },
  {
    name: 'duplicate resources: the second is the error, naming the first',
    yaml: `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata:
  name: web #<
  namespace: shop
spec: {ports: [{port: 81}]}
`,
    code: 'GH_CFG_DUPLICATE',
    severity: 'error',
    field: 'metadata.name',
    message: /Service shop\/web is defined twice; the first definition is at m\.yaml:1$/,
  },
  {
    name: 'metadata.name that is not a Kubernetes name',
    yaml: `apiVersion: v1
kind: Service
metadata:
  name: My_Service #<
`,
    code: 'GH_CFG_NAME',
    severity: 'error',
    field: 'metadata.name',
  },
  {
    name: 'Secret data that is not base64',
    yaml: `apiVersion: v1
kind: Secret
metadata: {name: cert}
type: kubernetes.io/tls
data:
  tls.crt: bm90IGJhc2U2NA==
  tls.key: "not base64!" #<
`,
    code: 'GH_CFG_VALUE',
    severity: 'error',
    field: 'data["tls.key"]',
    message: /not valid base64/,
  },
  {
    name: 'Secret type that is not a string',
    yaml: `apiVersion: v1
kind: Secret
metadata: {name: cert}
type: 42 #<
`,
    code: 'GH_CFG_TYPE',
    severity: 'error',
    field: 'type',
  },
  {
    name: 'Service port that is not a number',
    yaml: `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports:
  - name: http
    port: eighty #<
`,
    code: 'GH_CFG_TYPE',
    severity: 'error',
    field: 'spec.ports[0].port',
  },
  {
    name: 'EndpointSlice address that is not a string',
    yaml: `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc}
addressType: IPv4
endpoints:
- addresses:
  - [10, 0, 0, 1] #<
`,
    code: 'GH_CFG_TYPE',
    severity: 'error',
    field: 'endpoints[0].addresses[0]',
  },
  {
    name: 'Endpoints port missing',
    yaml: `apiVersion: v1
kind: Endpoints
metadata: {name: web}
subsets:
- addresses: [{ip: 10.0.0.1}]
  ports:
  - name: http #<
`,
    code: 'GH_CFG_REQUIRED',
    severity: 'error',
    field: 'subsets[0].ports[0].port',
  },
  {
    name: 'AuthorizationPolicy action enum',
    yaml: `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all}
spec:
  action: REJECT #<
`,
    code: 'GH_CFG_VALUE',
    severity: 'error',
    field: 'spec.action',
  },
];

test('errors: each class is reported once, at the offending line', async (t) => {
  for (const c of errorCases) await t.test(c.name, () => expectCase(c));
});

const warningCases: Case[] = [
  {
    name: 'unknown field in a known kind',
    yaml: vs(`  - route:
    - destination: {host: a}
    retryPolicy: {attempts: 3} #<
`),
    code: 'GH_CFG_UNKNOWN_FIELD',
    severity: 'warning',
    field: 'spec.http[0].retryPolicy',
    message: /unknown field "retryPolicy" in HTTPRoute; ignored/,
  },
  {
    name: 'unknown top-level field',
    yaml: `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: r}
spec: {host: r}
specs: {} #<
`,
    code: 'GH_CFG_UNKNOWN_FIELD',
    severity: 'warning',
    field: 'specs',
  },
  {
    name: 'gateway that does not exist',
    yaml: `${GATEWAY}apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways:
  - mesh
  - istio-system/gw
  - gw #<
  http:
  - route:
    - destination: {host: a}
`,
    code: 'GH_CFG_GATEWAY_NOT_FOUND',
    severity: 'warning',
    field: 'spec.gateways[2]',
    message: /"gw" \(shop\/gw\) does not exist/,
  },
  {
    name: 'gateway named in a match that does not exist',
    yaml: vs(`  - match:
    - gateways:
      - istio-system/gw
      - other/gw #<
    route:
    - destination: {host: a}
`),
    code: 'GH_CFG_GATEWAY_NOT_FOUND',
    severity: 'warning',
    field: 'spec.http[0].match[0].gateways[1]',
  },
  {
    name: 'subset no DestinationRule defines (short names resolve in the referring namespace)',
    yaml: `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - name: v1
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination:
        host: reviews.default.svc.cluster.local
        subset: v1
      weight: 80
    - destination:
        host: reviews
        subset: v2 #<
      weight: 20
`,
    code: 'GH_CFG_SUBSET_NOT_FOUND',
    severity: 'warning',
    field: 'spec.http[0].route[1].destination.subset',
    message: /subset "v2" of reviews\.default\.svc\.cluster\.local/,
  },
  {
    name: 'subset defined only for the same short name in another namespace',
    yaml: `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - name: v1
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination:
        host: reviews
        subset: v1 #<
`,
    code: 'GH_CFG_SUBSET_NOT_FOUND',
    severity: 'warning',
    field: 'spec.http[0].route[0].destination.subset',
    message: /reviews\.shop\.svc\.cluster\.local/,
  },
  ...(
    [
      ['retries', '    retries: {attempts: 3, perTryTimeout: 2s} #<'],
      ['fault', '    fault: {abort: {httpStatus: 503, percentage: {value: 10}}} #<'],
      ['mirror', '    mirror: {host: shadow} #<'],
      ['mirrorPercentage', '    mirrorPercentage: {value: 5} #<'],
      ['mirrors', '    mirrors: [{destination: {host: shadow}}] #<'],
      ['corsPolicy', '    corsPolicy: {allowOrigins: [{exact: "https://a.example.com"}]} #<'],
    ] as const
  ).map(
    ([field, line]): Case => ({
      name: `unsupported HTTPRoute.${field}`,
      yaml: vs(`  - route:
    - destination: {host: a}
${line}
`),
      code: 'GH_CFG_UNSUPPORTED',
      severity: 'warning',
      field: `spec.http[0].${field}`,
    }),
  ),
  {
    name: 'unsupported delegate',
    yaml: vs(`  - match:
    - uri: {prefix: /reviews}
    delegate: #<
      name: reviews
      namespace: default
`),
    code: 'GH_CFG_UNSUPPORTED',
    severity: 'warning',
    field: 'spec.http[0].delegate',
  },
  {
    name: 'unsupported tcp routes',
    yaml: `${GATEWAY}apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db}
spec:
  hosts: [db.example.com]
  gateways: [istio-system/gw]
  tcp: #<
  - route:
    - destination: {host: db}
`,
    code: 'GH_CFG_UNSUPPORTED',
    severity: 'warning',
    field: 'spec.tcp',
  },
  ...(
    [
      ['connectionPool', 'spec.trafficPolicy.connectionPool', '    connectionPool: {tcp: {maxConnections: 100}} #<'],
      ['outlierDetection', 'spec.trafficPolicy.outlierDetection', '    outlierDetection: {consecutive5xxErrors: 5} #<'],
      ['consistentHash', 'spec.trafficPolicy.loadBalancer.consistentHash', '    loadBalancer:\n      consistentHash: {httpHeaderName: x-user} #<'],
      ['localityLbSetting', 'spec.trafficPolicy.loadBalancer.localityLbSetting', '    loadBalancer:\n      localityLbSetting: {enabled: true} #<'],
    ] as const
  ).map(
    ([name, field, line]): Case => ({
      name: `unsupported DestinationRule ${name}`,
      yaml: `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: r}
spec:
  host: r
  trafficPolicy:
${line}
`,
      code: 'GH_CFG_UNSUPPORTED',
      severity: 'warning',
      field,
    }),
  ),
  ...(
    [
      ['AuthorizationPolicy', 'spec:\n  action: DENY\n  rules:\n  - from:\n    - source: {notNamespaces: [shop]}'],
      ['RequestAuthentication', 'spec:\n  jwtRules:\n  - issuer: https://issuer.example.com\n    jwksUri: https://issuer.example.com/jwks'],
    ] as const
  ).map(
    ([kind, spec]): Case => ({
      name: `${kind} is parsed, not enforced`,
      yaml: `apiVersion: security.istio.io/v1 #<
kind: ${kind}
metadata: {name: p, namespace: istio-system}
${spec}
`,
      code: 'GH_CFG_UNSUPPORTED',
      severity: 'warning',
      message: /parsed, not enforced yet/,
    }),
  ),
];

test('warnings: accepted configuration, each class reported once at the offending line', async (t) => {
  for (const c of warningCases) await t.test(c.name, () => expectCase(c));
});

test('PeerAuthentication is read without a warning: it drives auto mTLS to upstreams', () => {
  const ds = validate(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec:
  mtls: {mode: STRICT}
`);
  assert.deepEqual(ds, []);
  const bad = validate(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec:
  mtls: {mode: STRICTEST}
`);
  assert.equal(bad[0]?.code, 'GH_CFG_VALUE');
});

test('a oneOf group with one member set and another present but empty is no error; two set are one error', () => {
  // The schema walk reads the values only of groups with two or more members present as keys.
  const empty = validate(
    vs(`  - match:
    - uri:
        exact: /a
        prefix:
    - uri: {regex: "^/b", exact: null}
    route:
    - destination: {host: a}
`),
  );
  assert.deepEqual(empty, [], show(empty));
  const two = validate(
    vs(`  - match:
    - uri: {exact: /a, regex: "^/b"}
    - uri: {prefix: /c, exact: null, regex: "^/d"}
    route:
    - destination: {host: a}
`),
  );
  assert.deepEqual(
    two.map((d) => [d.code, d.field]),
    [
      ['GH_CFG_VALUE', 'spec.http[0].match[0].uri.regex'],
      ['GH_CFG_VALUE', 'spec.http[0].match[1].uri.regex'],
    ],
    show(two),
  );
});

test('gateway references resolve as Istio does: ns/name, bare name in the VirtualService namespace, mesh reserved', () => {
  const ds = validate(`apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: local-gw, namespace: shop}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
---
${GATEWAY}apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [mesh, local-gw, shop/local-gw, istio-system/gw, gw.istio-system.svc.cluster.local]
  http:
  - route:
    - destination: {host: a}
`);
  assert.deepEqual(ds, [], show(ds));
});

test('subset references resolve through wildcard DestinationRule hosts', () => {
  const ds = validate(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: all-shop, namespace: shop}
spec:
  host: "*.shop.svc.cluster.local"
  subsets: [{name: canary, labels: {track: canary}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: shop}
spec:
  hosts: [cart]
  http:
  - route:
    - destination: {host: cart, subset: canary}
`);
  assert.deepEqual(ds, [], show(ds));
});

test('durations Istio accepts are accepted', () => {
  for (const d of ['1s', '500ms', '1.5s', '2m', '1h', '1h30m', '0', '250us']) {
    const ds = validate(vs(`  - route:\n    - destination: {host: a}\n    timeout: "${d}"\n`));
    assert.deepEqual(ds, [], `${d}: ${show(ds)}`);
  }
  for (const d of ['1', '-1s', '1d', 's', '1.s']) {
    const ds = validate(vs(`  - route:\n    - destination: {host: a}\n    timeout: "${d}"\n`));
    assert.deepEqual(
      ds.map((x) => x.code),
      ['GH_CFG_VALUE'],
      d,
    );
  }
});

test("RE2's leading (?i) is accepted, as compile turns it into a case-insensitive match", () => {
  const ds = validate(vs(`  - match:\n    - uri:\n        regex: "(?i)/Products/[a-z]+"\n    route:\n    - destination: {host: a}\n`));
  assert.deepEqual(ds, [], show(ds));
});

const fixtureDir = join(fileURLToPath(new URL('.', import.meta.url)), '../../../test/fixtures/manifests');

test('realistic fixture manifests validate with no errors and no warnings', () => {
  const names = readdirSync(fixtureDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  assert.ok(names.length >= 4, `fixtures found: ${names.join(', ')}`);
  const files = names.map((f) => ({ path: f, text: readFileSync(join(fixtureDir, f), 'utf8') }));
  const { resources, diagnostics } = parseManifests(files, { defaultNamespace: 'default' });
  assert.deepEqual(diagnostics, []);
  const kinds = new Set(resources.map((r) => r.object.kind));
  for (const k of ['Gateway', 'VirtualService', 'DestinationRule', 'ServiceEntry', 'Secret', 'Service', 'EndpointSlice']) {
    assert.ok(kinds.has(k), `fixtures include a ${k}`);
  }
  const ds = validateResources(resources);
  assert.deepEqual(ds, [], show(ds));
});
