// Workload certificates do their job: a real mutual-TLS handshake in which each side proves its SPIFFE
// identity to the other, and a peer from another mesh is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type PeerCertificate, type Server, type TLSSocket } from 'node:tls';
import { CertificateAuthority } from '../../certs/authority.js';
import { matchesSubjectAltNames, parseSubjectAltNameText } from '../../certs/verify.js';
import { issueWorkloadCertificate, type WorkloadCertificate } from '../../certs/workload.js';
import { createIstioCacerts } from './support/istio-cacerts.js';

async function ownRoot(): Promise<CertificateAuthority> {
  return (await CertificateAuthority.loadOrCreate({ stateDir: join(mkdtempSync(join(tmpdir(), 'gatehouse-mtls-')), 'ca') })).authority;
}

function peerSpiffeIds(cert: PeerCertificate): string[] {
  return parseSubjectAltNameText(cert.subjectaltname)
    .filter((san) => san.type === 'URI')
    .map((san) => san.value);
}

/**
 * A server that asks for a client certificate from the mesh and answers with the client's SPIFFE ID. With
 * `rejectUnauthorized: false` it answers even an untrusted client, saying why node did not trust it.
 */
async function startServer(
  identity: WorkloadCertificate,
  t: { after(fn: () => Promise<void>): void },
  { rejectUnauthorized = true }: { rejectUnauthorized?: boolean } = {},
): Promise<{ server: Server; port: number }> {
  const server = createServer(
    { key: identity.keyPem, cert: identity.chainPem, ca: identity.rootPem, requestCert: true, rejectUnauthorized },
    (socket: TLSSocket) => {
      socket.end(
        JSON.stringify({
          client: peerSpiffeIds(socket.getPeerCertificate()),
          authorized: socket.authorized,
          ...(socket.authorizationError ? { authorizationError: String(socket.authorizationError) } : {}),
        }),
      );
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Connects with `identity`, accepting the server only if it presents `expectedServerId`. */
function call(port: number, identity: WorkloadCertificate, expectedServerId: string): Promise<{ body: string; server: string[] }> {
  return new Promise((resolve, reject) => {
    let serverIds: string[] = [];
    const socket = connect({
      host: '127.0.0.1',
      port,
      key: identity.keyPem,
      cert: identity.chainPem,
      ca: identity.rootPem,
      // Mesh peers are named by SPIFFE ID, not by host name: Istio's subjectAltNames replace the host check.
      checkServerIdentity: (_host, cert) => {
        serverIds = peerSpiffeIds(cert);
        return matchesSubjectAltNames(parseSubjectAltNameText(cert.subjectaltname), [expectedServerId])
          ? undefined
          : new Error(`server is ${serverIds.join(', ')}, expected ${expectedServerId}`);
      },
    });
    let body = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (body += chunk));
    // Under TLS 1.3 the client finishes its handshake before the server judges the client certificate, so a
    // refusal shows up as a close without the reply the server always sends.
    socket.on('end', () => (body ? resolve({ body, server: serverIds }) : reject(new Error('closed without a reply'))));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error('handshake timed out')));
  });
}

test('both sides of a mutual-TLS handshake see the other side\'s SPIFFE ID', async (t) => {
  const ca = await ownRoot();
  const [serverCert, clientCert] = await Promise.all([
    issueWorkloadCertificate(ca, { namespace: 'bookinfo', serviceAccount: 'reviews' }),
    issueWorkloadCertificate(ca, { namespace: 'istio-system', serviceAccount: 'istio-ingressgateway-service-account' }),
  ]);
  const { port } = await startServer(serverCert, t);
  const reply = await call(port, clientCert, 'spiffe://cluster.local/ns/bookinfo/sa/reviews');
  assert.deepEqual(reply.server, ['spiffe://cluster.local/ns/bookinfo/sa/reviews']);
  assert.deepEqual(JSON.parse(reply.body), {
    client: ['spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account'],
    authorized: true,
  });

  // The same client refuses the server when it expects another workload.
  await assert.rejects(call(port, clientCert, 'spiffe://cluster.local/ns/bookinfo/sa/ratings'), /expected spiffe:\/\/cluster\.local\/ns\/bookinfo\/sa\/ratings/);
});

test('with the user\'s intermediate CA the chain is sent along: peers trusting only the ECDSA root accept it', async (t) => {
  const ca = CertificateAuthority.fromCacerts(createIstioCacerts({ root: 'ec', intermediate: 'rsa' }));
  const [serverCert, clientCert] = await Promise.all([
    issueWorkloadCertificate(ca, { namespace: 'shop', serviceAccount: 'cart' }),
    issueWorkloadCertificate(ca, { namespace: 'shop', serviceAccount: 'frontend' }),
  ]);
  const { port } = await startServer(serverCert, t);
  const reply = await call(port, clientCert, 'spiffe://cluster.local/ns/shop/sa/cart');
  assert.deepEqual(JSON.parse(reply.body), { client: ['spiffe://cluster.local/ns/shop/sa/frontend'], authorized: true });

  // Without the intermediate the same leaf is not trusted: the chain is what makes it work.
  const leafOnly = { ...clientCert, chainPem: clientCert.certPem };
  await assert.rejects(call(port, leafOnly, 'spiffe://cluster.local/ns/shop/sa/cart'), /closed without a reply|certificate|unknown ca/i);
});

test('a client whose certificate comes from another mesh\'s CA is refused by the server', async (t) => {
  const [ours, theirs] = await Promise.all([ownRoot(), ownRoot()]);
  const [serverCert, memberCert, strangerCert] = await Promise.all([
    issueWorkloadCertificate(ours, { namespace: 'bookinfo', serviceAccount: 'reviews' }),
    issueWorkloadCertificate(ours, { namespace: 'istio-system', serviceAccount: 'gateway' }),
    issueWorkloadCertificate(theirs, { namespace: 'istio-system', serviceAccount: 'gateway' }),
  ]);
  const serverId = 'spiffe://cluster.local/ns/bookinfo/sa/reviews';
  // The stranger trusts our root and claims the same SPIFFE ID as a member: only its CA differs.
  const stranger = { ...strangerCert, rootPem: ours.rootPem };
  const strict = await startServer(serverCert, t);
  await assert.rejects(call(strict.port, stranger, serverId), /closed without a reply|certificate|unknown ca/i);
  const member = await call(strict.port, memberCert, serverId);
  assert.equal(JSON.parse(member.body).authorized, true, 'the same server accepts a member of its mesh');

  // Both roots are named O=cluster.local; node tells them apart by signature, not by name.
  const lenient = await startServer(serverCert, t, { rejectUnauthorized: false });
  const seen = JSON.parse((await call(lenient.port, stranger, serverId)).body) as { authorized: boolean; authorizationError?: string };
  assert.equal(seen.authorized, false);
  assert.match(seen.authorizationError ?? '', /SIGNATURE|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/);
});
