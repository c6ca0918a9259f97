#!/usr/bin/env node
// gatehouse: serve | validate | demo | certs. Exit codes: 0 ok, 1 invalid config or runtime failure, 2 usage.
// Commands are imported when run: a `--workers` worker (same entry point, forked by node:cluster) must not
// load the control plane, YAML or node-forge, and `validate` has no use for the proxy.
import cluster from 'node:cluster';
import { GatehouseError, ErrCode } from '../core/errors.js';
import { SERVE_USAGE, parseServeArgs } from './args.js';
import type { RunningGateway } from './serve.js';

const USAGE = `usage: gatehouse <command> [options]

  serve --config DIR ...   run the gateway on a directory of Istio manifests (see: gatehouse serve --help)
  validate DIR ...         check manifests; prints file:line:col: CODE message per problem, exit 0 when valid
  demo                     run the bundled demo (examples/demo) with its upstreams; what \`npm start\` does
  certs issue|inspect|ca   workload certificates from the mesh CA; inspect certificate files (gatehouse certs --help)
`;

async function main(argv: readonly string[]): Promise<number> {
  // A worker runs whatever command its primary ran (serve or demo): its options come from the primary.
  if (cluster.isWorker) return (await import('./worker.js')).runWorker();
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      if (rest.includes('--help') || rest.includes('-h')) return print(SERVE_USAGE, 0);
      return run(await (await import('./serve.js')).serve(parseServeArgs(rest)));
    case 'demo':
      return run(await (await import('./demo.js')).demo(rest));
    case 'validate':
      return (await import('./validate.js')).validate(rest, (line) => process.stdout.write(line + '\n'));
    case 'certs':
      return (await import('./certs.js')).certs(rest, (line) => process.stdout.write(line + '\n'));
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      return print(USAGE, command === undefined ? 2 : 0);
    default:
      throw new GatehouseError(ErrCode.USAGE, `unknown command ${JSON.stringify(command)}\n${USAGE}`);
  }
}

function print(text: string, code: number): number {
  (code === 0 ? process.stdout : process.stderr).write(text);
  return code;
}

/** SIGTERM/SIGINT drain the gateway and exit 0; a second signal exits at once. */
async function run(gateway: RunningGateway): Promise<number> {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) process.exit(1);
    signalled = true;
    void gateway.shutdown(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return gateway.stopped;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Flush stdout (the access log) before leaving; open handles that outlive a drain are not ours to wait for.
    process.stdout.write('', () => process.exit(code));
  },
  (err: unknown) => {
    if (err instanceof GatehouseError) {
      process.stderr.write(`gatehouse: ${err.code}: ${err.message}\n`);
      process.exit(err.code === ErrCode.USAGE ? 2 : 1);
    }
    process.stderr.write(`gatehouse: unexpected failure: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
