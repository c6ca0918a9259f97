// One real gateway in front of the raw recording upstream, shared by a hostile test file.
import { makeConfigDir, startGateway, type GatewayProcess } from '../../support/gateway-process.js';
import { freePort } from '../../support/ports.js';
import { gatewayYaml, serviceEntryYaml } from '../manifests.js';
import { startRawUpstream, type RawUpstream } from './raw-upstream.js';

export interface HostileFixture {
  readonly gw: GatewayProcess;
  readonly port: number;
  readonly upstream: RawUpstream;
  stop(): Promise<void>;
}

export const HOST = 'web.example.com';

/**
 * `routeExtra` is appended to the VirtualService's catch-all HTTP route (e.g. `    timeout: 1s`);
 * `routesBefore` are HTTP routes (YAML list items) placed before it.
 */
export async function startHostileFixture(
  { args = [], routeExtra = '', routesBefore = '', extraFiles = {} }: { args?: string[]; routeExtra?: string; routesBefore?: string; extraFiles?: Record<string, string> } = {},
): Promise<HostileFixture> {
  const upstream = await startRawUpstream();
  const port = await freePort();
  const gw = await startGateway(
    makeConfigDir({
      'gateway.yaml': gatewayYaml('edge', [{ port, protocol: 'HTTP' }]),
      'se.yaml': serviceEntryYaml('web', 'web.internal', [{ port: upstream.port }]),
      'vs.yaml': `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: default }
spec:
  hosts: [${HOST}]
  gateways: [istio-system/edge]
  http:
${routesBefore}  - route:
    - destination: { host: web.internal }
${routeExtra}`,
      ...extraFiles,
    }),
    { args },
  );
  return {
    gw,
    port,
    upstream,
    async stop() {
      await gw.stop();
      await upstream.close();
    },
  };
}
