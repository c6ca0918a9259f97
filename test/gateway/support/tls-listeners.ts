// A gateway with the two kinds of HTTPS listener whose connection set-up differs: port 443 has one chain
// serving every name (connections start in it, no ClientHello pre-read), port 8443 has a chain per name
// (the ClientHello is pre-read to choose one). Both route to an echo upstream.
import type { EdgePolicy } from '../../../gateway/index.js';
import { createTestCa, type TestCa } from './pki.js';
import { startPlane, type TestPlane } from './plane.js';
import { cluster, forward, httpsListener, route, routeTable, snapshot, tlsChain, vhost } from './snapshot-builder.js';
import { startEchoUpstream, type EchoUpstream } from './upstream.js';

export interface TlsListenersGateway {
  readonly ca: TestCa;
  readonly upstream: EchoUpstream;
  readonly gw: TestPlane;
  /** The bound port of the single-chain listener (443). */
  readonly anyNamePort: number;
  /** The bound port of the listener with a chain for a.example.com and one for b.example.com (8443). */
  readonly multiChainPort: number;
  close(): Promise<void>;
}

export async function startTlsListenersGateway(name: string, edge?: Partial<EdgePolicy>): Promise<TlsListenersGateway> {
  const ca = createTestCa(`${name}-ca`);
  const cert = ca.issue('a.example.com', ['DNS:a.example.com', 'DNS:b.example.com']);
  const upstream = await startEchoUpstream(name);
  const c = cluster('a.default.svc.cluster.local', [{ port: upstream.port }]);
  const table = routeTable('https.routes', [vhost(['*'], [route('r', forward([c.name]))])]);
  const secret = { name: 'istio-system/cert', ...cert };
  const gw = await startPlane(
    snapshot({
      listeners: [
        httpsListener(443, [tlsChain('https.443', ['*'], 'https.routes', { secret: secret.name })]),
        httpsListener(8443, [
          tlsChain('https.8443.a', ['a.example.com'], 'https.routes', { secret: secret.name }),
          tlsChain('https.8443.b', ['b.example.com'], 'https.routes', { secret: secret.name }),
        ]),
      ],
      routeTables: [table],
      clusters: [c],
      secrets: [secret],
    }),
    edge ? { edge } : {},
  );
  return {
    ca,
    upstream,
    gw,
    anyNamePort: gw.port(443),
    multiChainPort: gw.port(8443),
    async close() {
      await gw.close();
      await upstream.close();
      ca.dispose();
    },
  };
}
