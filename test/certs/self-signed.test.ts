import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:tls';
import { parse } from 'yaml';
import { describeCertificate, splitPemBundle } from '../../certs/pem.js';
import { generateSelfSigned, secretManifest } from '../../certs/self-signed.js';

const pair = generateSelfSigned({ hosts: ['localhost', '127.0.0.1', '::1'], days: 30 });

test('the certificate parses with node:crypto, names the demo hosts and matches its key', async () => {
  const { certPem, keyPem } = await pair;
  const x509 = new X509Certificate(certPem);
  assert.equal(x509.checkPrivateKey(createPrivateKey(keyPem)), true);
  assert.equal(x509.checkHost('localhost'), 'localhost');
  assert.equal(x509.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(x509.checkIP('::1'), '::1');
  assert.equal(x509.checkHost('example.com'), undefined);
  assert.equal(x509.ca, false);
  assert.equal(x509.verify(createPublicKey(certPem)), true, 'self-signed: its own key verifies it');
  assert.deepEqual(x509.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extKeyUsage serverAuth');
  assert.match(x509.serialNumber, /^[0-7][0-9A-F]{31}$/i, '128-bit positive serial');
  const facts = describeCertificate(certPem);
  assert.deepEqual(facts.subjectAltNames.slice(0, 2), ['localhost', '127.0.0.1']);
  assert.equal(facts.subjectAltNames.length, 3);
  assert.equal(facts.isCa, false);
  const days = (Date.parse(facts.notAfter) - Date.now()) / 86_400_000;
  assert.ok(days > 29.9 && days <= 30, `valid for ${days} days`);
  assert.ok(Date.parse(facts.notBefore) < Date.now());
  assert.match(facts.subject, /CN=localhost/);
});

test('two certificates get different serials and keys', async () => {
  const a = await pair;
  const b = await generateSelfSigned({ hosts: ['localhost'], days: 1 });
  assert.notEqual(new X509Certificate(a.certPem).serialNumber, new X509Certificate(b.certPem).serialNumber);
  assert.notEqual(a.keyPem, b.keyPem);
});

test('a TLS server with it completes a handshake with a client that trusts it for localhost', async (t) => {
  const { certPem, keyPem } = await pair;
  const server = createServer({ key: keyPem, cert: certPem }, (socket) => socket.end('hello over tls\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;

  const received = await new Promise<string>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: [certPem] }, () => {
      if (!socket.authorized) reject(new Error(`not authorized: ${String(socket.authorizationError)}`));
    });
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error('handshake timed out')));
  });
  assert.equal(received, 'hello over tls\n');

  // The same client refuses the certificate for a name it does not carry.
  await assert.rejects(
    new Promise<void>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, servername: 'example.com', ca: [certPem] }, () => {
        socket.end();
        resolve();
      });
      socket.on('error', reject);
      socket.setTimeout(5000, () => socket.destroy(new Error('handshake timed out')));
    }),
    /ERR_TLS_CERT_ALTNAME_INVALID|does not match/,
  );
});

test('secretManifest writes a kubernetes.io/tls Secret with base64 data', async () => {
  const { certPem, keyPem } = await pair;
  const doc = parse(secretManifest({ name: 'demo-localhost-tls', namespace: 'istio-system', certPem, keyPem })) as {
    apiVersion: string;
    kind: string;
    type: string;
    metadata: { name: string; namespace: string };
    data: Record<string, string>;
  };
  assert.equal(doc.apiVersion, 'v1');
  assert.equal(doc.kind, 'Secret');
  assert.equal(doc.type, 'kubernetes.io/tls');
  assert.deepEqual(doc.metadata, { name: 'demo-localhost-tls', namespace: 'istio-system' });
  assert.equal(Buffer.from(doc.data['tls.crt']!, 'base64').toString('utf8'), certPem);
  assert.equal(Buffer.from(doc.data['tls.key']!, 'base64').toString('utf8'), keyPem);
});

test('splitPemBundle returns each block; describeCertificate rejects garbage with GH_ERR_CERT', async () => {
  const { certPem, keyPem } = await pair;
  const blocks = splitPemBundle(`junk\n${certPem}\n\n${keyPem}trailer`);
  assert.equal(blocks.length, 2);
  assert.match(blocks[0]!, /^-----BEGIN CERTIFICATE-----/);
  assert.match(blocks[1]!, /^-----BEGIN PRIVATE KEY-----[\s\S]*-----END PRIVATE KEY-----\n$/);
  assert.throws(() => describeCertificate('not a certificate'), { code: 'GH_ERR_CERT' });
});
