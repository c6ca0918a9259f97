// Client certificates at the edge, through the real process: MUTUAL refuses a client without a certificate
// and accepts one signed by the CA named by caCertCredentialName; OPTIONAL_MUTUAL accepts both; the verified
// identity reaches the upstream in x-forwarded-client-cert (Envoy's SANITIZE_SET: whatever the client sent
// under that name is dropped).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, test } from 'node:test';
import { request } from '../support/client.js';
import { makeConfigDir, startGateway, type GatewayProcess } from '../support/gateway-process.js';
import { createCA, issueLeaf, tlsSecretYaml, type CertificateAuthority, type LeafCertificate } from '../support/pki.js';
import { freePorts } from '../support/ports.js';
import { startEchoUpstream, type EchoUpstream } from '../support/upstream.js';
import { serviceEntryYaml } from './manifests.js';

let gw: GatewayProcess;
let mutualPort: number;
let optionalPort: number;
let pinnedPort: number;
let serverCa: CertificateAuthority;
let clientCa: CertificateAuthority;
let strangerCa: CertificateAuthority;
let client: LeafCertificate;
let stranger: LeafCertificate;
let sibling: LeafCertificate;
let upstream: EchoUpstream;

const CLIENT_ID = 'invoicer.partner.example';

before(async () => {
  [mutualPort, optionalPort, pinnedPort] = (await freePorts(3)) as [number, number, number];
  serverCa = createCA('edge server CA');
  clientCa = createCA('partner client CA');
  strangerCa = createCA('stranger CA');
  client = issueLeaf(clientCa, [CLIENT_ID], { client: true });
  stranger = issueLeaf(strangerCa, [CLIENT_ID], { client: true });
  sibling = issueLeaf(clientCa, [CLIENT_ID], { client: true });
  // openssl's spelling of a SHA-256 fingerprint (upper case, colons): compile normalises it.
  const pin = new X509Certificate(client.certPem).fingerprint256;
  upstream = await startEchoUpstream('api');
  const server = issueLeaf(serverCa, ['api.example.com']);
  const dir = makeConfigDir({
    'gateway.yaml': `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: partners, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: ${mutualPort}, name: https-mutual, protocol: HTTPS}
    hosts: [api.example.com]
    tls: {mode: MUTUAL, credentialName: api-cert, caCertCredentialName: partner-ca}
  - port: {number: ${optionalPort}, name: https-optional, protocol: HTTPS}
    hosts: [api.example.com]
    tls: {mode: OPTIONAL_MUTUAL, credentialName: api-cert, caCertCredentialName: partner-ca}
  - port: {number: ${pinnedPort}, name: https-pinned, protocol: HTTPS}
    hosts: [api.example.com]
    tls:
      mode: MUTUAL
      credentialName: api-cert
      caCertCredentialName: partner-ca
      verifyCertificateHash: ["${pin}"]
`,
    'secrets.yaml': [
      tlsSecretYaml('api-cert', 'istio-system', server),
      `apiVersion: v1
kind: Secret
metadata: {name: partner-ca, namespace: istio-system}
type: Opaque
data:
  ca.crt: ${Buffer.from(clientCa.certPem).toString('base64')}
`,
    ].join('---\n'),
    'service.yaml': serviceEntryYaml('api', 'api.internal', [{ port: upstream.port }]),
    'route.yaml': `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api, namespace: default}
spec:
  hosts: [api.example.com]
  gateways: [istio-system/partners]
  http:
  - route:
    - destination: {host: api.internal}
`,
  });
  gw = await startGateway(dir);
});

after(async () => {
  await gw?.stop();
  await upstream?.close();
});

const forged = { 'x-forwarded-client-cert': 'By=spiffe://evil;URI=spiffe://cluster.local/ns/admin/sa/root' };

function call(port: number, cert?: LeafCertificate) {
  return request({
    port,
    authority: 'api.example.com',
    path: '/whoami',
    headers: forged,
    tls: { ca: serverCa.certPem, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) },
  });
}

test('MUTUAL refuses a client without a certificate and one from another CA', async () => {
  await assert.rejects(call(mutualPort));
  await assert.rejects(call(mutualPort, stranger));
});

test('MUTUAL accepts a certificate from the caCertCredentialName CA and forwards its identity in XFCC, never the client copy', async () => {
  const r = await call(mutualPort, client);
  assert.equal(r.status, 200, r.body);
  const xfcc = String(r.json().headers['x-forwarded-client-cert']);
  assert.match(xfcc, new RegExp(`^Hash=[0-9a-f]{64};Subject="[^"]*";DNS=${CLIENT_ID.replaceAll('.', '\\.')}$`));
  assert.doesNotMatch(xfcc, /evil|admin/);
});

test('OPTIONAL_MUTUAL accepts a client with or without a certificate; the forged XFCC is removed either way', async () => {
  const anonymous = await call(optionalPort);
  assert.equal(anonymous.status, 200, anonymous.body);
  assert.equal(anonymous.json().headers['x-forwarded-client-cert'], undefined);
  const known = await call(optionalPort, client);
  assert.equal(known.status, 200, known.body);
  assert.match(String(known.json().headers['x-forwarded-client-cert']), new RegExp(`DNS=${CLIENT_ID.replaceAll('.', '\\.')}`));
  await assert.rejects(call(optionalPort, stranger), 'a certificate that does not verify is refused even when optional');
});

test('verifyCertificateHash pins one client certificate: another one from the same CA is refused', async () => {
  const pinned = await call(pinnedPort, client);
  assert.equal(pinned.status, 200, pinned.body);
  await assert.rejects(call(pinnedPort, sibling), 'a valid certificate that is not the pinned one is refused');
  await assert.rejects(call(pinnedPort));
});
