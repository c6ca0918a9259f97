// Gateway verifyCertificateHash / verifyCertificateSpki: the pins as a user copies them from openssl
// (colon-separated upper-case fingerprint; base64 SPKI digest) compile to normalised lists, and the
// per-connection check accepts a certificate matching an entry of either list and refuses any other.
// A malformed pin is reported and matches nothing: a typo fails closed.
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import type { DownstreamTls } from '../../core/snapshot.js';
import { pinRefusal } from '../../gateway/tls-pins.js';
import { compileYaml, issueCert, makeCa, secretYaml, tempDir } from '../simulate/support.js';

const dir = tempDir('gh-pins-');
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const ca = makeCa(dir, 'ca');
const server = issueCert(dir, ca, 'server', ['pinned.example.com']);
const alice = issueCert(dir, ca, 'alice', ['alice.example.com']);
const bob = issueCert(dir, ca, 'bob', ['bob.example.com']);

function opensslFingerprint(pem: string): string {
  const file = path.join(dir, 'fp.pem');
  fs.writeFileSync(file, pem);
  // "sha256 Fingerprint=AB:CD:..." (the label's case varies across OpenSSL versions).
  return execSync(`openssl x509 -in ${file} -noout -fingerprint -sha256`, { encoding: 'utf8' }).trim().split('=')[1] ?? '';
}

function opensslSpki(pem: string): string {
  const file = path.join(dir, 'spki.pem');
  fs.writeFileSync(file, pem);
  // The recipe in Envoy's documentation for verify_certificate_spki.
  return execSync(`openssl x509 -in ${file} -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | openssl enc -base64`, {
    encoding: 'utf8',
  }).trim();
}

function compileWithPins(pins: string): { tls: DownstreamTls; codes: string[] } {
  const r = compileYaml(`apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [pinned.example.com]
    tls:
      mode: MUTUAL
      credentialName: pinned
${pins}
---
${secretYaml('pinned', 'istio-system', 'kubernetes.io/tls', { 'tls.crt': server.crtPem, 'tls.key': server.keyPem, 'ca.crt': ca.crtPem })}`);
  const tls = r.body.listeners[0]?.filterChains[0]?.tls;
  assert.ok(tls);
  return { tls, codes: r.diagnostics.map((d) => d.code) };
}

test('a certificate hash pin in openssl spelling accepts exactly that certificate', () => {
  const { tls, codes } = compileWithPins(`      verifyCertificateHash: ["${opensslFingerprint(alice.crtPem)}"]`);
  assert.deepEqual(codes, []);
  assert.match(tls.verifyCertificateHash?.[0] ?? '', /^[0-9a-f]{64}$/);
  assert.equal(pinRefusal(new X509Certificate(alice.crtPem), tls), undefined);
  assert.equal(pinRefusal(new X509Certificate(bob.crtPem), tls), 'client certificate matches no pinned hash or SPKI');
});

test('an SPKI pin accepts the key whatever certificate carries it; either list matching is enough', () => {
  const { tls } = compileWithPins(
    `      verifyCertificateSpki: ["${opensslSpki(bob.crtPem)}"]\n      verifyCertificateHash: ["${opensslFingerprint(alice.crtPem)}"]`,
  );
  assert.equal(pinRefusal(new X509Certificate(bob.crtPem), tls), undefined);
  assert.equal(pinRefusal(new X509Certificate(alice.crtPem), tls), undefined);
  assert.ok(pinRefusal(new X509Certificate(server.crtPem), tls));
});

test('no pins accept any certificate; a malformed pin is a GH_CFG_VALUE warning and matches nothing', () => {
  const none = compileWithPins('');
  assert.equal(none.tls.verifyCertificateHash, undefined);
  assert.equal(pinRefusal(new X509Certificate(bob.crtPem), none.tls), undefined);
  const typo = compileWithPins('      verifyCertificateHash: ["not-a-hash"]\n      verifyCertificateSpki: ["short"]');
  assert.deepEqual(typo.codes, ['GH_CFG_VALUE', 'GH_CFG_VALUE']);
  assert.ok(pinRefusal(new X509Certificate(alice.crtPem), typo.tls));
});
