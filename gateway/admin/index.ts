// The gateway's own ports, served by fastify (never on the data path):
//   status (15021): /healthz/ready — 200 once a snapshot is live and its listeners are bound, 503 while
//                   draining or before that; /healthz/live — 200 while the process runs.
//   stats  (15090): /stats/prometheus.
//   admin  (15000, loopback only): /config_dump, /clusters, /listeners, /certs, /diagnostics, /ready, /stats/prometheus,
//                   and /workers under `--workers N`.
// Under `--workers N` these ports are the primary's: configuration views come from its control plane (every
// worker serves the same snapshot, or readiness says otherwise), istio_* series are the workers' summed.
// The admin port binds 127.0.0.1 whatever the data plane binds: it shows configuration and would take
// control actions later, so it must not be reachable from outside the pod.
import Fastify, { type FastifyInstance } from 'fastify';
import { AggregatorRegistry, Gauge, type Registry } from 'prom-client';
import type { Diagnostic } from '../../core/diagnostics.js';
import { dumpSnapshot, type Snapshot } from '../../core/snapshot.js';

/** What the admin port shows of the control plane; structurally a subset of control's ControlStatus. */
export interface ConfigStatusView {
  readonly live: Snapshot | undefined;
  readonly lastRejection:
    | { readonly at: string; readonly diagnostics: readonly Diagnostic[]; readonly publishError?: string }
    | undefined;
  readonly rejectedTotal: number;
  readonly publishedTotal: number;
}

export interface AdminPortsOptions {
  readonly statusPort: number;
  readonly statsPort: number;
  readonly adminPort: number;
  /** Address of the status and stats ports (the pod IP in Kubernetes: probes and scrapes come from outside). */
  readonly bindAddress: string;
  readonly registry: Registry;
  /** True once a snapshot is live and all its listeners are bound. */
  readonly isServing: () => boolean;
  /** True after SIGTERM: readiness fails so the endpoint is removed before listeners close. */
  readonly isDraining: () => boolean;
  readonly configStatus: () => ConfigStatusView;
  /** The gateway's own mesh certificate, when it has one. */
  readonly meshIdentity?: () => MeshIdentityView | undefined;
  /**
   * Under `--workers N`: each worker's registry as getMetricsAsJSON gives it. Summed per series (counters,
   * histogram buckets, gauges alike) with no worker label, as one process would have counted them.
   */
  readonly workerMetrics?: () => Promise<readonly (readonly object[])[]>;
  /** Under `--workers N`: one entry per worker (generation acknowledged, bound ports, requests served). */
  readonly workers?: () => Promise<readonly unknown[]>;
}

export interface MeshIdentityView {
  /** `namespace/name` of the Secret the identity is published as. */
  readonly secret: string;
  readonly spiffeId: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly authority: { readonly source: string; readonly fingerprint256: string; readonly notAfter: string };
}

const EXPIRY_METRIC = 'gatehouse_certificate_expiry_timestamp_seconds';

/**
 * The admin routes declare no schemas and send strings. Without a compilersFactory, fastify requires ajv
 * and fast-json-stringify's compiler (over a hundred modules, 1.2 MiB of heap held for the life of the
 * process) at the first Fastify() call; these refuse any schema instead, so a route that adds one fails
 * at start, where it is seen, rather than loading them back silently.
 */
const NO_SCHEMAS = {
  compilersFactory: {
    buildValidator: () => () => {
      throw new Error('the admin ports compile no validation schemas');
    },
    buildSerializer: () => () => {
      throw new Error('the admin ports compile no serialization schemas');
    },
  },
};

/**
 * One series per certificate the live snapshot serves or presents (`secret` = namespace/name; the
 * gateway's own certificate under its reserved Secret name), computed at scrape time from the snapshot: an alert on `- time() < 7 * 86400` needs
 * nothing else. A Secret that no longer appears drops out with it.
 */
function registerExpiryGauge(options: AdminPortsOptions): void {
  if (options.registry.getSingleMetric(EXPIRY_METRIC)) return;
  new Gauge({
    name: EXPIRY_METRIC,
    help: 'Unix time at which each certificate in use expires (notAfter).',
    labelNames: ['secret', 'subject_alt_names'],
    registers: [options.registry],
    collect() {
      this.reset();
      for (const c of certificateList(options)) {
        this.set({ secret: c.secret, subject_alt_names: c.subjectAltNames.join(',') }, Date.parse(c.notAfter) / 1000);
      }
    },
  });
}

interface CertificateEntry {
  readonly secret: string;
  readonly notAfter: string;
  readonly subjectAltNames: readonly string[];
  readonly expiresInSeconds: number;
}

function certificateList(options: AdminPortsOptions): CertificateEntry[] {
  const out: CertificateEntry[] = [];
  const now = Date.now();
  const entry = (secret: string, notAfter: string, subjectAltNames: readonly string[]): CertificateEntry => ({
    secret,
    notAfter,
    subjectAltNames,
    expiresInSeconds: Math.floor((Date.parse(notAfter) - now) / 1000),
  });
  const mesh = options.meshIdentity?.();
  if (mesh) out.push(entry(mesh.secret, mesh.notAfter, [mesh.spiffeId]));
  for (const s of Object.values(options.configStatus().live?.secrets ?? {})) {
    if (s.notAfter && s.name !== mesh?.secret) out.push(entry(s.name, s.notAfter, s.subjectAltNames ?? []));
  }
  return out;
}

export interface AdminPorts {
  close(): Promise<void>;
}

export async function startAdminPorts(options: AdminPortsOptions): Promise<AdminPorts> {
  const servers: FastifyInstance[] = [];
  const ready = (): { status: number; body: string } => {
    if (options.isDraining()) return { status: 503, body: 'draining\n' };
    if (!options.isServing()) return { status: 503, body: 'no configuration served yet\n' };
    return { status: 200, body: 'ready\n' };
  };
  const prometheus = async (): Promise<string> => {
    const own = await options.registry.metrics();
    if (!options.workerMetrics) return own;
    const perWorker = await options.workerMetrics();
    if (perWorker.length === 0) return own;
    // aggregate() is static: it does not install prom-client's own cluster listeners.
    const summed = await AggregatorRegistry.aggregate(perWorker as Parameters<typeof AggregatorRegistry.aggregate>[0]).metrics();
    return own + summed;
  };
  registerExpiryGauge(options);

  try {
    const status = Fastify({ logger: false, schemaController: NO_SCHEMAS });
    status.get('/healthz/ready', async (_req, reply) => {
      const r = ready();
      return reply.code(r.status).type('text/plain').send(r.body);
    });
    status.get('/healthz/live', async (_req, reply) => reply.type('text/plain').send('alive\n'));
    await listen(status, options.statusPort, options.bindAddress, servers);

    const stats = Fastify({ logger: false, schemaController: NO_SCHEMAS });
    stats.get('/stats/prometheus', async (_req, reply) =>
      reply.type(options.registry.contentType).send(await prometheus()),
    );
    await listen(stats, options.statsPort, options.bindAddress, servers);

    const admin = Fastify({ logger: false, schemaController: NO_SCHEMAS });
    admin.get('/', async (_req, reply) =>
      reply
        .type('text/plain')
        .send(
          [
            'Gatehouse admin',
            '  /config_dump        the live snapshot as JSON (private keys redacted)',
            '  /listeners          listeners, filter chains and route tables',
            '  /clusters           clusters and their endpoints',
            '  /certs              certificates in use: the mesh identity and every Secret, with expiry',
            '  /diagnostics        warnings on the live snapshot and the last rejected candidate',
            '  /ready              readiness, as on the status port',
            ...(options.workers ? ['  /workers            each worker: generation applied, ports bound, requests served, RSS'] : []),
            '  /stats/prometheus   metrics',
            '',
          ].join('\n'),
        ),
    );
    admin.get('/ready', async (_req, reply) => {
      const r = ready();
      return reply.code(r.status).type('text/plain').send(r.body);
    });
    admin.get('/config_dump', async (_req, reply) => {
      const s = options.configStatus();
      if (!s.live) return reply.code(503).type('application/json').send('{"error":"no live snapshot"}\n');
      return reply.type('application/json').send(dumpSnapshot(s.live) + '\n');
    });
    admin.get('/listeners', async (_req, reply) => {
      const live = options.configStatus().live;
      const listeners = (live?.listeners ?? []).map((l) => ({
        name: l.name,
        port: l.port,
        protocol: l.protocol,
        filterChains: l.filterChains.map((c) => ({
          name: c.name,
          serverNames: c.serverNames,
          tls: c.tls ? { mode: c.tls.mode, secret: c.tls.secret ?? null, minVersion: c.tls.minVersion } : null,
          routeTable: c.routeTable ?? null,
        })),
      }));
      return reply.type('application/json').send(JSON.stringify({ listeners }, null, 2) + '\n');
    });
    admin.get('/clusters', async (_req, reply) => {
      const live = options.configStatus().live;
      const clusters = Object.values(live?.clusters ?? {}).map((c) => ({
        name: c.name,
        discovery: c.discovery,
        loadBalancer: c.loadBalancer,
        tls: c.tls?.mode ?? 'DISABLE',
        ...(c.tls ? { sni: c.tls.sni ?? null, subjectAltNames: c.tls.subjectAltNames } : {}),
        endpoints: c.endpoints.map((e) => `${e.address}:${e.port}`),
      }));
      return reply.type('application/json').send(JSON.stringify({ clusters }, null, 2) + '\n');
    });
    admin.get('/certs', async (_req, reply) => {
      const body = { meshIdentity: options.meshIdentity?.() ?? null, certificates: certificateList(options) };
      return reply.type('application/json').send(JSON.stringify(body, null, 2) + '\n');
    });
    admin.get('/diagnostics', async (_req, reply) => {
      const s = options.configStatus();
      const body = {
        liveVersion: s.live?.version ?? null,
        publishedTotal: s.publishedTotal,
        rejectedTotal: s.rejectedTotal,
        warnings: s.live?.diagnostics ?? [],
        lastRejection: s.lastRejection ?? null,
      };
      return reply.type('application/json').send(JSON.stringify(body, null, 2) + '\n');
    });
    const workers = options.workers;
    if (workers) {
      admin.get('/workers', async (_req, reply) =>
        reply.type('application/json').send(JSON.stringify({ workers: await workers() }, null, 2) + '\n'),
      );
    }
    admin.get('/stats/prometheus', async (_req, reply) =>
      reply.type(options.registry.contentType).send(await prometheus()),
    );
    await listen(admin, options.adminPort, '127.0.0.1', servers);
  } catch (err) {
    await Promise.allSettled(servers.map((s) => s.close()));
    throw err;
  }

  return {
    async close() {
      await Promise.allSettled(servers.map((s) => s.close()));
    },
  };
}

async function listen(app: FastifyInstance, port: number, host: string, started: FastifyInstance[]): Promise<void> {
  await app.listen({ port, host });
  started.push(app);
}
