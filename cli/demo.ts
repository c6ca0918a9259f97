// `gatehouse demo` (what `npm start` runs): the bundled demo in examples/demo/, served as a newcomer would
// serve their own manifests, plus what a cluster would have provided: a TLS Secret for localhost
// (generated once, self-signed, into .gatehouse/demo/), the mesh CA (.gatehouse/demo/ca, shared with the
// gateway through --ca-dir) and the two demo upstreams the ServiceEntry names, each a mesh workload that
// serves TLS with its own SPIFFE certificate and requires the gateway's (ISTIO_MUTUAL in the DestinationRule).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { dirname, join, resolve } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { CertificateAuthority } from '../certs/authority.js';
import { generateSelfSigned, secretManifest } from '../certs/self-signed.js';
import { issueWorkloadCertificate, type WorkloadCertificate } from '../certs/workload.js';
import { SERVE_DEFAULTS, parseServeArgs } from './args.js';
import { serve, type RunningGateway } from './serve.js';

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEMO_CONFIG_DIR = join(PACKAGE_ROOT, 'examples', 'demo');
/** Ports of the demo upstreams; examples/demo/serviceentry.yaml names them. */
export const DEMO_UPSTREAMS = [
  { version: 'v1', port: 9081 },
  { version: 'v2', port: 9082 },
] as const;
/** The demo upstreams' mesh identity; examples/demo/serviceentry.yaml names the service account. */
const DEMO_WORKLOAD = { namespace: 'demo', serviceAccount: 'demo-app' } as const;
/** Longer than Istio's 24 h: the demo upstreams do not renew, and a demo left running should keep working. */
const DEMO_WORKLOAD_TTL_MS = 30 * 24 * 60 * 60 * 1000;

export async function demo(argv: readonly string[]): Promise<RunningGateway> {
  const stateDir = resolve(process.env.GATEHOUSE_STATE_DIR ?? '.gatehouse', 'demo');
  const secretFile = join(stateDir, 'localhost-tls-secret.yaml');
  if (!existsSync(secretFile)) {
    mkdirSync(stateDir, { recursive: true });
    const { certPem, keyPem } = await generateSelfSigned({ hosts: ['localhost', '127.0.0.1', '::1'], days: 365 });
    writeFileSync(
      secretFile,
      secretManifest({ name: 'demo-localhost-tls', namespace: SERVE_DEFAULTS.namespace, certPem, keyPem }),
      { mode: 0o600 },
    );
    process.stderr.write(`generated a self-signed certificate for localhost in ${secretFile}\n`);
  }

  const caDir = join(stateDir, 'ca');
  const { authority } = await CertificateAuthority.loadOrCreate({ stateDir: caDir });
  const workload = await issueWorkloadCertificate(authority, { ...DEMO_WORKLOAD, ttlMs: DEMO_WORKLOAD_TTL_MS });
  const upstreams = await Promise.all(DEMO_UPSTREAMS.map((u) => startDemoUpstream(u.version, u.port, workload)));
  const options = parseServeArgs(['--config', DEMO_CONFIG_DIR, '--config', stateDir, '--port-map', '80=8080,443=8443', '--ca-dir', caDir, ...argv]);
  const gateway = await serve(options);
  process.stderr.write(
    [
      '',
      'Gatehouse demo is up:',
      '  curl -k https://localhost:8443/            → 200 from demo-app v1 (90%) or v2 (10%) over mesh mTLS',
      '                                               ("peer" is the gateway\'s SPIFFE ID the upstream verified)',
      '  curl -k -H "x-canary: true" https://localhost:8443/   → always v2',
      '  curl -i http://localhost:8080/             → 301 to https',
      '  curl -k https://localhost:8443/healthz     → 200 "ok", answered by the gateway itself',
      `  curl http://localhost:${options.statsPort}/stats/prometheus    → istio_requests_total and friends`,
      `  curl http://127.0.0.1:${options.adminPort}/config_dump       → the compiled configuration`,
      `  curl http://127.0.0.1:${options.adminPort}/certs             → the gateway's mesh identity and certificate expiry`,
      `Edit ${DEMO_CONFIG_DIR}/*.yaml while it runs: changes apply live.`,
      '',
    ].join('\n') + '\n',
  );
  void gateway.stopped.then(() => Promise.all(upstreams.map((s) => new Promise((r) => s.close(r)))));
  return gateway;
}

/**
 * A tiny mesh workload that says which version answered and what reached it: TLS with its own SPIFFE
 * certificate, and only callers presenting a certificate from the same mesh root get in, as with a
 * sidecar in STRICT mode.
 */
function startDemoUpstream(version: string, port: number, identity: WorkloadCertificate): Promise<https.Server> {
  const server = https.createServer(
    { cert: identity.chainPem, key: identity.keyPem, ca: identity.rootPem, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate().subjectaltname?.replace(/^URI:/, '') ?? null;
      req.resume();
      req.on('end', () => {
        const body = JSON.stringify({ app: 'demo-app', version, peer, method: req.method, path: req.url, headers: req.headers }, null, 2) + '\n';
        res.writeHead(200, { 'content-type': 'application/json', 'x-demo-version': version });
        res.end(body);
      });
    },
  );
  return new Promise((resolvePromise, reject) => {
    server.once('error', (err) => reject(new Error(`demo upstream ${version} cannot listen on 127.0.0.1:${port}: ${err.message}`)));
    server.listen(port, '127.0.0.1', () => resolvePromise(server));
  });
}
