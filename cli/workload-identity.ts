// How the gateway names itself as the source in istio_* metrics. Shared by the single process
// (cli/serve.ts) and the workers (cli/worker.ts), which must not load the control plane to know it.
import type { WorkloadIdentity } from '../gateway/index.js';
import type { ServeOptions } from './args.js';

/** From the workload's labels, the way Istio derives canonical names (service.istio.io/canonical-*, then app.kubernetes.io/*, then app/version). */
export function workloadIdentity(options: ServeOptions): WorkloadIdentity {
  const l = options.labels;
  const app = l['app'] ?? l['app.kubernetes.io/name'] ?? 'istio-ingressgateway';
  return {
    workload: app,
    namespace: options.namespace,
    app,
    version: l['version'] ?? l['app.kubernetes.io/version'] ?? 'unknown',
    principal: `spiffe://${options.trustDomain}/ns/${options.namespace}/sa/${options.serviceAccount}`,
    cluster: 'Kubernetes',
    canonicalService: l['service.istio.io/canonical-name'] ?? l['app.kubernetes.io/name'] ?? app,
    canonicalRevision: l['service.istio.io/canonical-revision'] ?? l['app.kubernetes.io/version'] ?? 'latest',
  };
}
