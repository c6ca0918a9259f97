// The gateway's own mesh identity as a config source. It owns the mesh CA (our own root kept in a state
// directory, or the user's Istio `cacerts` files) and a RotatingIdentity, and emits the workload
// certificate as a `kubernetes.io/tls` Secret under a reserved name in the gateway's namespace, with the
// mesh root as `ca.crt`. Every renewal emits again: the ordinary debounce → build → publish path makes a
// new snapshot, and the data plane replaces the pools whose TLS identity changed (old connections drain).
// Nothing else in the gateway knows certificates are issued rather than read.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CA_FILES, CertificateAuthority } from '../../certs/authority.js';
import { loadCachedIdentity, storeCachedIdentity } from '../../certs/identity-cache.js';
import { RotatingIdentity, type Clock } from '../../certs/rotation.js';
import { spiffeId } from '../../certs/spiffe.js';
import { issueWorkloadCertificate, type WorkloadCertificate } from '../../certs/workload.js';
import { CfgCode } from '../../core/codes.js';
import type { Diagnostic, SourceRef } from '../../core/diagnostics.js';
import { MESH_IDENTITY_SECRET } from '../../routes/compile/mesh-identity.js';
import type { Located } from '../../routes/model/resource.js';
import type { ConfigSource, SourceUpdate } from '../source.js';

export interface MeshIdentitySourceOptions {
  /** The gateway workload's namespace and service account: its SPIFFE ID is built from them. */
  readonly namespace: string;
  readonly serviceAccount: string;
  /** Default: the CA's (cluster.local unless cacerts say otherwise). */
  readonly trustDomain?: string;
  /** Where our own root lives, created at first start (certs/README.md). Used when cacertsDir is not given. */
  readonly caStateDir: string;
  /** A directory with Istio's cacerts files (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem). */
  readonly cacertsDir?: string;
  /** Workload certificate lifetime; default 24 h (Istio's SECRET_TTL). */
  readonly certificateTtlMs?: number;
  readonly clock?: Clock;
  readonly orderBase?: number;
  readonly log: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
}

export interface MeshIdentitySource extends ConfigSource {
  /** The certificate in use, once issued. */
  current(): WorkloadCertificate | undefined;
  /** Where the CA came from, for /certs. */
  authority(): { readonly source: string; readonly fingerprint256: string; readonly notAfter: string } | undefined;
}

const ORIGIN_FILE = '<mesh identity>';

export function createMeshIdentitySource(options: MeshIdentitySourceOptions): MeshIdentitySource {
  let identity: RotatingIdentity | undefined;
  let ca: CertificateAuthority | undefined;
  const where = options.cacertsDir ? `cacerts in ${options.cacertsDir}` : `CA state in ${options.caStateDir}`;

  const update = (certificate: WorkloadCertificate): SourceUpdate => ({
    resources: [identitySecret(certificate, options.namespace, options.orderBase ?? 0)],
    diagnostics: [],
  });

  return {
    name: `mesh-identity:${options.namespace}/${options.serviceAccount}`,
    async start(emit) {
      try {
        ca = await loadAuthority(options);
        const authority = ca;
        const id = spiffeId({
          trustDomain: options.trustDomain ?? authority.trustDomain,
          namespace: options.namespace,
          serviceAccount: options.serviceAccount,
        });
        // The first certificate may be the one a previous run left (still fresh); renewals are always new.
        let first = true;
        identity = new RotatingIdentity({
          issue: async (now) => {
            if (first) {
              first = false;
              const cached = await loadCachedIdentity(options.caStateDir, authority, id, now);
              if (cached) return cached;
            }
            const issued = await issueWorkloadCertificate(authority, {
              namespace: options.namespace,
              serviceAccount: options.serviceAccount,
              ...(options.trustDomain ? { trustDomain: options.trustDomain } : {}),
              ...(options.certificateTtlMs ? { ttlMs: options.certificateTtlMs } : {}),
              now,
            });
            await storeCachedIdentity(options.caStateDir, authority, issued).catch((err: unknown) =>
              options.log('warn', `mesh identity not cached in ${options.caStateDir}: ${errorText(err)}`),
            );
            return issued;
          },
          ...(options.clock ? { clock: options.clock } : {}),
          onError: (err) => options.log('warn', `mesh identity renewal failed, the current certificate stays: ${errorText(err)}`),
        });
        identity.subscribe((certificate) => {
          options.log('info', `mesh identity ${certificate.spiffeId} renewed, valid until ${certificate.notAfter.toISOString()}`);
          emit(update(certificate));
        });
        const initial = await identity.start();
        options.log('info', `mesh identity ${initial.spiffeId} from the ${ca.source} CA (${where}), valid until ${initial.notAfter.toISOString()}`);
      } catch (err) {
        // No identity is a degraded gateway, not a dead one: only ISTIO_MUTUAL upstreams are affected.
        options.log('error', `no mesh identity (${where}): ${errorText(err)}`);
        emit({ resources: [], diagnostics: [unavailable(`the gateway has no mesh identity (${where}): ${errorText(err)}`)] });
      }
    },
    async stop() {
      identity?.stop();
    },
    current() {
      try {
        return identity?.current;
      } catch {
        return undefined;
      }
    },
    authority() {
      return ca ? { source: ca.source, fingerprint256: ca.fingerprint256, notAfter: ca.notAfter.toISOString() } : undefined;
    },
  };
}

/** Gateways started together on an empty state directory race to create the root; the losers load it. */
const CREATE_ATTEMPTS = 8;
const CREATE_RETRY_MS = 150;

async function loadAuthority(options: MeshIdentitySourceOptions): Promise<CertificateAuthority> {
  const trust = options.trustDomain ? { trustDomain: options.trustDomain } : {};
  if (!options.cacertsDir) {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await CertificateAuthority.loadOrCreate({ stateDir: options.caStateDir, ...trust })).authority;
      } catch (err) {
        // A partial directory may be another process halfway through installing its root.
        if (attempt >= CREATE_ATTEMPTS) throw err;
        await new Promise((resolve) => setTimeout(resolve, CREATE_RETRY_MS * attempt));
      }
    }
  }
  const read = (file: string): Promise<string> => readFile(join(options.cacertsDir as string, file), 'utf8');
  const chain = await read(CA_FILES.certChain).catch(() => undefined);
  return CertificateAuthority.fromCacerts(
    {
      caCertPem: await read(CA_FILES.caCert),
      caKeyPem: await read(CA_FILES.caKey),
      rootCertPem: await read(CA_FILES.rootCert),
      ...(chain ? { certChainPem: chain } : {}),
    },
    trust,
  );
}

/** The workload certificate as the Secret the compiler reads for ISTIO_MUTUAL clusters. */
export function identitySecret(certificate: WorkloadCertificate, namespace: string, order: number): Located {
  const source: SourceRef = { file: ORIGIN_FILE, line: 1, col: 1 };
  return {
    object: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: MESH_IDENTITY_SECRET,
        namespace,
        labels: { 'app.kubernetes.io/managed-by': 'gatehouse' },
        annotations: { 'gatehouse.io/spiffe-id': certificate.spiffeId },
      },
      type: 'kubernetes.io/tls',
      stringData: { 'tls.crt': certificate.chainPem, 'tls.key': certificate.keyPem, 'ca.crt': certificate.rootPem },
    },
    origin: { file: ORIGIN_FILE, doc: 0, order, source, at: () => source },
  };
}

function unavailable(message: string): Diagnostic {
  return { severity: 'warning', code: CfgCode.MESH_IDENTITY, message, source: { file: ORIGIN_FILE, line: 1, col: 1 } };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
