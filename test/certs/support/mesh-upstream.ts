// An upstream inside the mesh, as a sidecar would terminate it: TLS with a workload certificate, a client
// certificate required and verified against the mesh root. It answers with what it saw of the peer, so
// a test can check which identity the gateway presented.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface MeshUpstream {
  readonly name: string;
  readonly port: number;
  /** Fingerprints (sha256) of the client certificates seen, in order of first appearance. */
  readonly clientCertificates: string[];
  /** TLS connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export interface MeshUpstreamAnswer {
  readonly upstream: string;
  /** The client certificate's SANs as node prints them, e.g. `URI:spiffe://...`. */
  readonly peer: string;
  readonly sni: string | null;
  readonly headers: Record<string, string | string[] | undefined>;
}

export async function startMeshUpstream(
  name: string,
  identity: { readonly chainPem: string; readonly keyPem: string; readonly rootPem: string },
): Promise<MeshUpstream> {
  const clientCertificates: string[] = [];
  let connections = 0;
  const server = https.createServer(
    { cert: identity.chainPem, key: identity.keyPem, ca: identity.rootPem, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      if (peer.fingerprint256 && !clientCertificates.includes(peer.fingerprint256)) clientCertificates.push(peer.fingerprint256);
      req.resume();
      req.on('end', () => {
        const answer: MeshUpstreamAnswer = {
          upstream: name,
          peer: peer.subjectaltname ?? '',
          sni: typeof socket.servername === 'string' ? socket.servername : null,
          headers: req.headers,
        };
        res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
        res.end(JSON.stringify(answer));
      });
    },
  );
  server.on('secureConnection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    clientCertificates,
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
