// `gatehouse demo` (what `npm start` runs): the bundled demo in examples/demo/, served as a newcomer would
// serve their own manifests, plus what a cluster would have provided: a TLS Secret for localhost
// (generated once, self-signed, into .gatehouse/demo/) and the two demo upstreams the ServiceEntry names.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSelfSigned, secretManifest } from '../certs/self-signed.js';
import { SERVE_DEFAULTS, parseServeArgs } from './args.js';
import { serve, type RunningGateway } from './serve.js';

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEMO_CONFIG_DIR = join(PACKAGE_ROOT, 'examples', 'demo');
/** Ports of the demo upstreams; examples/demo/serviceentry.yaml names them. */
export const DEMO_UPSTREAMS = [
  { version: 'v1', port: 9081 },
  { version: 'v2', port: 9082 },
] as const;

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

  const upstreams = await Promise.all(DEMO_UPSTREAMS.map((u) => startDemoUpstream(u.version, u.port)));
  const options = parseServeArgs(['--config', DEMO_CONFIG_DIR, '--config', stateDir, '--port-map', '80=8080,443=8443', ...argv]);
  const gateway = await serve(options);
  process.stderr.write(
    [
      '',
      'Gatehouse demo is up:',
      '  curl -k https://localhost:8443/            → 200 from demo-app v1 (90%) or v2 (10%)',
      '  curl -k -H "x-canary: true" https://localhost:8443/   → always v2',
      '  curl -i http://localhost:8080/             → 301 to https',
      '  curl -k https://localhost:8443/healthz     → 200 "ok", answered by the gateway itself',
      `  curl http://localhost:${options.statsPort}/stats/prometheus    → istio_requests_total and friends`,
      `  curl http://127.0.0.1:${options.adminPort}/config_dump       → the compiled configuration`,
      `Edit ${DEMO_CONFIG_DIR}/*.yaml while it runs: changes apply live.`,
      '',
    ].join('\n') + '\n',
  );
  void gateway.stopped.then(() => Promise.all(upstreams.map((s) => new Promise((r) => s.close(r)))));
  return gateway;
}

/** A tiny upstream that says which version answered and what reached it. */
function startDemoUpstream(version: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ app: 'demo-app', version, method: req.method, path: req.url, headers: req.headers }, null, 2) + '\n';
      res.writeHead(200, { 'content-type': 'application/json', 'x-demo-version': version });
      res.end(body);
    });
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', (err) => reject(new Error(`demo upstream ${version} cannot listen on 127.0.0.1:${port}: ${err.message}`)));
    server.listen(port, '127.0.0.1', () => resolvePromise(server));
  });
}
