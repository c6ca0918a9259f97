// The mutual-TLS mode a destination workload accepts, from PeerAuthentication, as istiod resolves it for
// auto mTLS: a policy with a selector matching the workload's labels, else the namespace's policy (no
// selector), else the mesh-wide one (no selector, root namespace); an UNSET mode inherits from the next
// level; nothing at all means PERMISSIVE. portLevelMtls (by the workload's port) counts only on
// selector policies, and selector policies in the root namespace are ignored. Several policies at one
// level: the oldest wins.
import type { PeerAuthenticationMode, PeerAuthenticationResource } from '../model/index.js';
import type { Located } from '../model/resource.js';
import { compareByAge } from './context.js';

export type EffectiveMtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

const ROOT_NAMESPACE = 'istio-system';

export class PeerAuthentications {
  /** Namespace → oldest policy without a selector. */
  private readonly namespaceWide = new Map<string, Located<PeerAuthenticationResource>>();
  /** Namespace → selector policies, oldest first. */
  private readonly selecting = new Map<string, Located<PeerAuthenticationResource>[]>();

  constructor(policies: readonly Located<PeerAuthenticationResource>[]) {
    for (const p of [...policies].sort(compareByAge)) {
      const ns = p.object.metadata.namespace;
      const labels = p.object.spec?.selector?.matchLabels;
      if (!labels || Object.keys(labels).length === 0) {
        if (!this.namespaceWide.has(ns)) this.namespaceWide.set(ns, p);
        continue;
      }
      // Istio ignores selector policies in the root namespace: there they would read as mesh-wide.
      if (ns === ROOT_NAMESPACE) continue;
      const list = this.selecting.get(ns);
      if (list) list.push(p);
      else this.selecting.set(ns, [p]);
    }
  }

  get empty(): boolean {
    return this.namespaceWide.size === 0 && this.selecting.size === 0;
  }

  /** The mode a workload in `namespace` with `labels` accepts on `port` (its own, target, port). */
  modeFor(namespace: string, labels: Readonly<Record<string, string>>, port: number): EffectiveMtlsMode {
    let mode: EffectiveMtlsMode = 'PERMISSIVE';
    const apply = (m: PeerAuthenticationMode | undefined): void => {
      if (m && m !== 'UNSET') mode = m;
    };
    apply(this.namespaceWide.get(ROOT_NAMESPACE)?.object.spec?.mtls?.mode);
    if (namespace !== ROOT_NAMESPACE) apply(this.namespaceWide.get(namespace)?.object.spec?.mtls?.mode);
    const workload = this.selecting.get(namespace)?.find((p) =>
      Object.entries(p.object.spec?.selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v),
    );
    if (workload) {
      apply(workload.object.spec?.mtls?.mode);
      apply(workload.object.spec?.portLevelMtls?.[String(port)]?.mode);
    }
    return mode;
  }
}
