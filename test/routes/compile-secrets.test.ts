import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { dumpSnapshot } from '../../core/snapshot.js';
import type { DownstreamTls } from '../../core/snapshot.js';
import { HTTP_GATEWAY_YAML, compileYaml, issueCert, makeCa, secretYaml, tempDir } from '../simulate/support.js';

const dir = tempDir('gh-secrets-');
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const caA = makeCa(dir, 'ca-a');
const caB = makeCa(dir, 'ca-b');
const leaf = issueCert(dir, caA, 'leaf', ['a.example.com', 'www.a.example.com']);
const otherLeaf = issueCert(dir, caB, 'other', ['a.example.com']);

function gateway(mode: string, credentialName: string): string {
  return `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [a.example.com]
    tls: {mode: ${mode}, credentialName: ${credentialName}}
  - port: {number: 443, name: https-ok, protocol: HTTPS}
    hosts: [ok.example.com]
    tls: {mode: SIMPLE, credentialName: good}
---
${secretYaml('good', 'istio-system', 'kubernetes.io/tls', { 'tls.crt': leaf.crtPem, 'tls.key': leaf.keyPem })}`;
}

function chainTls(yaml: string, now?: Date): { tls: DownstreamTls; codes: string[]; okSecret: string | undefined; body: ReturnType<typeof compileYaml>['body'] } {
  const r = compileYaml(yaml, now ? { now } : {});
  const chains = r.body.listeners[0]?.filterChains ?? [];
  const tls = chains.find((c) => c.serverNames.includes('a.example.com'))?.tls;
  assert.ok(tls);
  return { tls, codes: r.diagnostics.map((d) => d.code), okSecret: chains.find((c) => c.serverNames.includes('ok.example.com'))?.tls?.secret, body: r.body };
}

test('a kubernetes.io/tls Secret in the gateway namespace serves, with its facts recorded', () => {
  const { tls, body, codes } = chainTls(gateway('SIMPLE', 'cred') + '---\n' + secretYaml('cred', 'istio-system', 'kubernetes.io/tls', { 'tls.crt': leaf.crtPem, 'tls.key': leaf.keyPem }));
  assert.equal(tls.secret, 'istio-system/cred');
  assert.deepEqual(codes, []);
  const s = body.secrets['istio-system/cred'];
  assert.equal(s?.certPem, leaf.crtPem);
  assert.deepEqual(s?.subjectAltNames, ['a.example.com', 'www.a.example.com']);
  assert.ok(s?.notAfter && Date.parse(s.notAfter) > Date.now());
  assert.ok(!dumpSnapshot(body).includes('PRIVATE KEY'), 'keys are redacted in dumps');
});

test('generic Opaque keys cert/key/cacert serve MUTUAL with the CA from the same Secret', () => {
  const { tls } = chainTls(gateway('MUTUAL', 'cred') + '---\n' + secretYaml('cred', 'istio-system', 'Opaque', { cert: leaf.crtPem, key: leaf.keyPem, cacert: caA.crtPem, crl: '' }));
  assert.equal(tls.secret, 'istio-system/cred');
  assert.equal(tls.clientCaSecret, 'istio-system/cred');
});

test('a separate <name>-cacert Secret supplies the client CA and wins over an empty one', () => {
  const yaml =
    gateway('OPTIONAL_MUTUAL', 'cred') +
    '---\n' +
    secretYaml('cred', 'istio-system', 'Opaque', { cert: leaf.crtPem, key: leaf.keyPem, cacert: '', crl: '' }) +
    '---\n' +
    secretYaml('cred-cacert', 'istio-system', 'Opaque', { cert: '', key: '', cacert: caA.crtPem, crl: '' });
  const { tls, body, codes } = chainTls(yaml);
  assert.equal(tls.secret, 'istio-system/cred');
  assert.equal(tls.clientCaSecret, 'istio-system/cred-cacert');
  assert.equal(body.secrets['istio-system/cred-cacert']?.caPem, caA.crtPem);
  assert.deepEqual(codes, []);
});

test('unusable Secrets: a warning naming the field, no secret on that chain, other servers unaffected', () => {
  const rows: Array<[string, string, string, Record<string, string>, Date | undefined]> = [
    ['invalid key', 'SIMPLE', 'Opaque', { 'tls.crt': leaf.crtPem, 'tls.key': 'invalid' }, undefined],
    ['invalid cert', 'SIMPLE', 'Opaque', { 'tls.crt': 'invalid', 'tls.key': leaf.keyPem }, undefined],
    ['mismatched key', 'SIMPLE', 'Opaque', { 'tls.crt': otherLeaf.crtPem, 'tls.key': leaf.keyPem }, undefined],
    ['no key', 'SIMPLE', 'Opaque', { 'tls.crt': leaf.crtPem }, undefined],
    ['no cert', 'SIMPLE', 'Opaque', { 'tls.key': leaf.keyPem }, undefined],
    ['empty values', 'SIMPLE', 'Opaque', { cert: '', key: '' }, undefined],
    ['expired', 'SIMPLE', 'kubernetes.io/tls', { 'tls.crt': leaf.crtPem, 'tls.key': leaf.keyPem }, new Date(Date.now() + 400 * 86_400_000)],
    ['MUTUAL, invalid CA', 'MUTUAL', 'Opaque', { cert: leaf.crtPem, key: leaf.keyPem, cacert: 'invalid' }, undefined],
    ['MUTUAL, empty CA', 'MUTUAL', 'Opaque', { cert: leaf.crtPem, key: leaf.keyPem, cacert: '' }, undefined],
    ['MUTUAL, no CA key', 'MUTUAL', 'kubernetes.io/tls', { 'tls.crt': leaf.crtPem, 'tls.key': leaf.keyPem }, undefined],
  ];
  for (const [label, mode, type, data, now] of rows) {
    const yaml = gateway(mode, 'cred') + '---\n' + secretYaml('cred', 'istio-system', type, data);
    const r = compileYaml(yaml, now ? { now } : {});
    const chains = r.body.listeners[0]?.filterChains ?? [];
    const bad = chains.find((c) => c.serverNames.includes('a.example.com'));
    assert.equal(bad?.tls?.secret, undefined, `${label}: no secret`);
    const d = r.diagnostics.find((x) => x.code === 'GH_CFG_SECRET_INVALID');
    assert.ok(d, `${label}: SECRET_INVALID in ${JSON.stringify(r.diagnostics)}`);
    assert.equal(d.severity, 'warning');
    assert.equal(d.resource, 'Gateway/default/gw');
    assert.equal(d.field, 'spec.servers[0].tls.credentialName');
    if (!now) assert.equal(chains.find((c) => c.serverNames.includes('ok.example.com'))?.tls?.secret, 'istio-system/good', `${label}: other server keeps serving`);
  }
});

test('a Secret outside the gateway namespace is not found', () => {
  const yaml = gateway('SIMPLE', 'cred') + '---\n' + secretYaml('cred', 'default', 'kubernetes.io/tls', { 'tls.crt': leaf.crtPem, 'tls.key': leaf.keyPem });
  const { tls, codes } = chainTls(yaml);
  assert.equal(tls.secret, undefined);
  assert.ok(codes.includes('GH_CFG_SECRET_NOT_FOUND'));
});

test('upstream TLS from a DestinationRule credentialName: SIMPLE takes the CA, MUTUAL the client certificate', () => {
  const yaml = `${HTTP_GATEWAY_YAML}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: v, namespace: default}
spec:
  hosts: [a.com]
  gateways: [istio-system/gw]
  http:
  - route:
    - {destination: {host: simple.example, port: {number: 443}}, weight: 50}
    - {destination: {host: mutual.example, port: {number: 443}}, weight: 50}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: upstreams, namespace: default}
spec:
  hosts: [simple.example, mutual.example]
  resolution: DNS
  ports: [{number: 443, name: https, protocol: HTTPS}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: simple, namespace: default}
spec:
  host: simple.example
  trafficPolicy: {tls: {mode: SIMPLE, credentialName: upstream-ca, sni: simple.example, subjectAltNames: [simple.example]}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: mutual, namespace: default}
spec:
  host: mutual.example
  trafficPolicy: {tls: {mode: MUTUAL, credentialName: client-cred}}
---
${secretYaml('upstream-ca', 'istio-system', 'Opaque', { cacert: caA.crtPem })}---
${secretYaml('client-cred', 'istio-system', 'Opaque', { cert: leaf.crtPem, key: leaf.keyPem, cacert: caA.crtPem })}`;
  const r = compileYaml(yaml);
  assert.deepEqual(r.body.clusters['outbound|443||simple.example']?.tls, {
    mode: 'SIMPLE', sni: 'simple.example', subjectAltNames: ['simple.example'], insecureSkipVerify: false, secret: 'istio-system/upstream-ca',
  });
  assert.deepEqual(r.body.clusters['outbound|443||mutual.example']?.tls, { mode: 'MUTUAL', subjectAltNames: [], insecureSkipVerify: false, secret: 'istio-system/client-cred' });
  assert.equal(r.body.secrets['istio-system/client-cred']?.caPem, caA.crtPem);
});
