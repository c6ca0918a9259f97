// The last good version of every TLS Secret. A Secret that changes into something the gateway cannot
// serve (a key that does not match its certificate, an expired certificate, PEM that does not parse)
// must not take a working certificate away: the previous version keeps serving, with a warning naming
// what is wrong with the new one. Only a change is held back; a Secret that was never good, or that is
// deleted, goes through as it is (compile then says why its server refuses handshakes).
import { CfgCode } from '../core/codes.js';
import type { Diagnostic } from '../core/diagnostics.js';
import { caBundleProblem, secretData, servingMaterial } from '../routes/compile/secrets.js';
import type { SecretResource } from '../routes/model/index.js';
import type { Located } from '../routes/model/resource.js';
import { resourceId } from '../routes/model/resource.js';

export interface HeldSecrets {
  readonly resources: readonly Located[];
  /** One SECRET_KEPT warning per Secret whose last good version stands in for it. */
  readonly diagnostics: readonly Diagnostic[];
}

export class SecretHistory {
  /** `namespace/name` → the last version that was usable. */
  readonly #lastGood = new Map<string, { readonly resource: Located }>();

  /** Substitutes unusable Secrets by their last good version and remembers the usable ones. */
  apply(resources: readonly Located[], now: Date): HeldSecrets {
    const out: Located[] = [];
    const diagnostics: Diagnostic[] = [];
    const present = new Set<string>();
    for (const r of resources) {
      if (r.object.kind !== 'Secret') {
        out.push(r);
        continue;
      }
      const key = `${r.object.metadata.namespace}/${r.object.metadata.name}`;
      present.add(key);
      const data = secretData(r.object as SecretResource);
      const problem = usabilityProblem(data, now);
      if (problem === undefined) {
        this.#lastGood.set(key, { resource: r });
        out.push(r);
        continue;
      }
      const previous = this.#lastGood.get(key);
      if (!previous || usabilityProblem(secretData(previous.resource.object as SecretResource), now) !== undefined) {
        // Nothing better to offer (or the old one has expired since): the broken Secret goes through.
        this.#lastGood.delete(key);
        out.push(r);
        continue;
      }
      out.push(previous.resource);
      diagnostics.push({
        severity: 'warning',
        code: CfgCode.SECRET_KEPT,
        message: `Secret ${key} changed and cannot be used (${problem}); its last good version keeps serving`,
        source: r.origin.source,
        resource: resourceId(r.object),
      });
    }
    for (const key of [...this.#lastGood.keys()]) if (!present.has(key)) this.#lastGood.delete(key);
    return { resources: out, diagnostics };
  }
}

/** Why a TLS Secret cannot serve, or undefined when it can (or holds no TLS material at all). */
function usabilityProblem(data: Record<string, string>, now: Date): string | undefined {
  const hasServing = Boolean(data.cert || data.key || data['tls.crt'] || data['tls.key']);
  if (hasServing) {
    const material = servingMaterial(data, now);
    if (!material.ok) return material.why;
  }
  return caBundleProblem(data);
}
