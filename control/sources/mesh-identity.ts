// The gateway's own mesh identity as a config source. It owns the mesh CA (our own root kept in a state
// directory, the user's Istio `cacerts` files, or the `cacerts` Secret another source holds) and a
// RotatingIdentity, and emits the workload
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
import { CACERTS_SECRET, findCacertsSecret, type CacertsSecret } from './cacerts-secret.js';

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
  /** Where the CA came from, for /certs: `cacerts` (--cacerts-dir), `cacerts-secret`, or `self-signed`. */
  authority(): { readonly source: string; readonly fingerprint256: string; readonly notAfter: string } | undefined;
}

const ORIGIN_FILE = '<mesh identity>';

type CaOrigin = 'cacerts' | 'cacerts-secret' | 'self-signed';

/**
 * Which CA signs: `--cacerts-dir` > the `cacerts` Secret in the gateway's namespace (from any other
 * source, seen through observe) > our own root. A Secret that appears or changes into a sound CA
 * re-issues the identity from it; one that is broken keeps the CA in use, with a warning at the
 * Secret's file:line; one that is deleted sends the gateway back to its own root.
 */
export function createMeshIdentitySource(options: MeshIdentitySourceOptions): MeshIdentitySource {
  let identity: RotatingIdentity | undefined;
  let ca: CertificateAuthority | undefined;
  let caOrigin: CaOrigin = 'self-signed';
  let emit: ((update: SourceUpdate) => void) | undefined;
  let stopped = false;
  /** The cacerts Secret each other source holds, by source index; the lowest index wins. */
  const secrets = new Map<number, CacertsSecret>();
  /** Digest of the Secret last judged (applied or refused); undefined once it is gone. */
  let judgedDigest: string | undefined;
  let secretProblem: Diagnostic | undefined;
  let unavailableProblem: Diagnostic | undefined;
  let reconciling: Promise<void> = Promise.resolve();

  const publish = (): void => {
    const certificate = currentCertificate();
    emit?.({
      resources: certificate ? [identitySecret(certificate, options.namespace, options.orderBase ?? 0)] : [],
      diagnostics: [unavailableProblem, secretProblem].filter((d): d is Diagnostic => d !== undefined),
    });
  };
  const currentCertificate = (): WorkloadCertificate | undefined => {
    try {
      return identity?.current;
    } catch {
      return undefined;
    }
  };
  const cacertsSecret = (): CacertsSecret | undefined => {
    let best: [number, CacertsSecret] | undefined;
    for (const entry of secrets) if (!best || entry[0] < best[0]) best = entry;
    return best?.[1];
  };
  const describeCa = (): string => (ca ? `the ${caOrigin} CA (SHA-256 ${ca.fingerprint256.slice(0, 23)}...)` : 'no CA');

  /** The CA from the Secret, or a warning at its file:line saying why not (never its key material). */
  const judge = (secret: CacertsSecret): CertificateAuthority | undefined => {
    judgedDigest = secret.digest;
    try {
      if ('missing' in secret.material) throw new Error(`it lacks ${secret.material.missing}`);
      const next = CertificateAuthority.fromCacerts(secret.material, options.trustDomain ? { trustDomain: options.trustDomain } : {});
      secretProblem = undefined;
      return next;
    } catch (err) {
      const code = (err as { code?: string }).code;
      secretProblem = {
        severity: 'warning',
        code: CfgCode.MESH_IDENTITY,
        message: `Secret ${options.namespace}/${CACERTS_SECRET} cannot be the mesh CA (${code ? `${code}: ` : ''}${errorText(err)}); ${ca ? `the gateway keeps signing with ${describeCa()}` : "the gateway signs with its own root"}`,
        source: secret.source,
        resource: secret.resource,
        field: 'data',
      };
      options.log('warn', secretProblem.message);
      return undefined;
    }
  };

  /** Whether the start-up path reports the first certificate itself (one line, with its origin). */
  let quietFirst = false;
  /** Whether the current identity's first certificate was a previous run's, still fresh. */
  let firstFromCache = false;

  const startIdentity = async (authorityCa: CertificateAuthority): Promise<void> => {
    ca = authorityCa;
    const id = spiffeId({ trustDomain: options.trustDomain ?? authorityCa.trustDomain, namespace: options.namespace, serviceAccount: options.serviceAccount });
    // The first certificate may be the one a previous run left (still fresh); renewals are always new.
    let first = true;
    firstFromCache = false;
    identity = new RotatingIdentity({
      issue: async (now) => {
        const signer = ca as CertificateAuthority;
        if (first) {
          first = false;
          const cached = await loadCachedIdentity(options.caStateDir, signer, id, now);
          if (cached) {
            firstFromCache = true;
            return cached;
          }
        }
        const issued = await issueWorkloadCertificate(signer, {
          namespace: options.namespace,
          serviceAccount: options.serviceAccount,
          ...(options.trustDomain ? { trustDomain: options.trustDomain } : {}),
          ...(options.certificateTtlMs ? { ttlMs: options.certificateTtlMs } : {}),
          now,
        });
        await storeCachedIdentity(options.caStateDir, signer, issued).catch((err: unknown) =>
          options.log('warn', `mesh identity not cached in ${options.caStateDir}: ${errorText(err)}`),
        );
        return issued;
      },
      ...(options.clock ? { clock: options.clock } : {}),
      onError: (err) => options.log('warn', `mesh identity renewal failed, the current certificate stays: ${errorText(err)}`),
    });
    identity.subscribe((certificate) => {
      // At start-up the first certificate is reported once, with where it came from (below).
      if (quietFirst) quietFirst = false;
      else options.log('info', `mesh identity ${certificate.spiffeId} renewed, issued by ${describeCa()}, valid until ${certificate.notAfter.toISOString()}`);
      unavailableProblem = undefined;
      publish();
    });
    await identity.start();
  };

  /** Switches to `next` and re-issues from it; the old certificate serves until the new one is out. */
  const switchTo = async (next: CertificateAuthority, origin: CaOrigin): Promise<void> => {
    caOrigin = origin;
    if (!identity) return startIdentity(next);
    ca = next;
    await identity.renew();
  };

  /** Follows the cacerts Secret after start; one step at a time, so switches never interleave. */
  const reconcile = (): void => {
    if (!emit || options.cacertsDir || stopped) return;
    reconciling = reconciling
      .then(async () => {
        const secret = cacertsSecret();
        if (secret?.digest === judgedDigest || stopped) return;
        if (!secret) {
          judgedDigest = undefined;
          secretProblem = undefined;
          if (caOrigin === 'cacerts-secret' || !identity) {
            options.log('info', `Secret ${options.namespace}/${CACERTS_SECRET} is gone: back to the gateway's own root`);
            await switchTo(await loadOwnRoot(options), 'self-signed');
          }
          publish();
          return;
        }
        const next = judge(secret);
        if (next) {
          options.log('info', `mesh CA from Secret ${options.namespace}/${CACERTS_SECRET} (${next.fingerprint256.slice(0, 23)}...)`);
          await switchTo(next, 'cacerts-secret');
        }
        publish();
      })
      .catch((err: unknown) => options.log('error', `mesh CA change failed, the current identity stays: ${errorText(err)}`));
  };

  return {
    name: `mesh-identity:${options.namespace}/${options.serviceAccount}`,
    observe(from, resources) {
      const found = findCacertsSecret(resources, options.namespace);
      if (found) secrets.set(from, found);
      else secrets.delete(from);
      reconcile();
    },
    async start(emitUpdate) {
      const where = (): string =>
        options.cacertsDir ? `cacerts in ${options.cacertsDir}` : caOrigin === 'cacerts-secret' ? `Secret ${options.namespace}/${CACERTS_SECRET}` : `CA state in ${options.caStateDir}`;
      try {
        let first: CertificateAuthority | undefined;
        if (options.cacertsDir) {
          first = await loadAuthority(options);
          caOrigin = 'cacerts';
          if (cacertsSecret()) options.log('info', `Secret ${options.namespace}/${CACERTS_SECRET} is not used: --cacerts-dir takes precedence`);
        } else {
          const secret = cacertsSecret();
          first = secret ? judge(secret) : undefined;
          if (first) caOrigin = 'cacerts-secret';
          else first = await loadOwnRoot(options);
        }
        quietFirst = true;
        await startIdentity(first);
        quietFirst = false;
        const initial = currentCertificate();
        if (initial) {
          options.log('info', `mesh identity ${initial.spiffeId} ${firstFromCache ? 'loaded from its cache' : 'issued'}, from the ${caOrigin} CA (${where()}), valid until ${initial.notAfter.toISOString()}`);
        }
      } catch (err) {
        // No identity is a degraded gateway, not a dead one: only ISTIO_MUTUAL upstreams are affected.
        options.log('error', `no mesh identity (${where()}): ${errorText(err)}`);
        unavailableProblem = unavailable(`the gateway has no mesh identity (${where()}): ${errorText(err)}`);
      }
      emit = emitUpdate;
      publish();
      // A Secret that changed while the first certificate was being issued.
      reconcile();
    },
    async stop() {
      stopped = true;
      identity?.stop();
      await reconciling;
    },
    current: currentCertificate,
    authority() {
      return ca ? { source: caOrigin, fingerprint256: ca.fingerprint256, notAfter: ca.notAfter.toISOString() } : undefined;
    },
  };
}

/** Gateways started together on an empty state directory race to create the root; the losers load it. */
const CREATE_ATTEMPTS = 8;
const CREATE_RETRY_MS = 150;

async function loadOwnRoot(options: MeshIdentitySourceOptions): Promise<CertificateAuthority> {
  const trust = options.trustDomain ? { trustDomain: options.trustDomain } : {};
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

/** The user's Istio cacerts files from --cacerts-dir. */
async function loadAuthority(options: MeshIdentitySourceOptions): Promise<CertificateAuthority> {
  const trust = options.trustDomain ? { trustDomain: options.trustDomain } : {};
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
