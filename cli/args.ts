// Command-line options for `gatehouse serve`, parsed and checked up front: a bad flag is a usage error
// with exit code 2, never a half-started gateway.
import { availableParallelism } from 'node:os';
import { GatehouseError, ErrCode } from '../core/errors.js';
import type { EdgePolicy } from '../gateway/edge-policy.js';
import { EDGE_FLAGS, EDGE_USAGE, parseEdgeArgs } from './edge-args.js';
import { isLogLevel, type LogLevel } from './log.js';

export interface ServeOptions {
  readonly configDirs: readonly string[];
  readonly statusPort: number;
  readonly statsPort: number;
  readonly adminPort: number;
  readonly bindAddress: string;
  readonly portMap: ReadonlyMap<number, number>;
  readonly labels: Readonly<Record<string, string>>;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly domainSuffix: string;
  readonly drainTimeoutMs: number;
  readonly accessLogFormat: 'text' | 'json' | 'off';
  readonly logLevel: LogLevel;
  /** Edge limits and header policy given as flags (cli/edge-args.ts); the rest take the defaults. */
  readonly edge: Partial<EdgePolicy>;
  /** Mesh CA state directory (our own root); default `$GATEHOUSE_STATE_DIR/ca` or `.gatehouse/ca`. */
  readonly caDir: string | undefined;
  /** Istio cacerts files to sign with instead of our own root. */
  readonly cacertsDir: string | undefined;
  readonly trustDomain: string;
  /** Lifetime of the gateway's workload certificate. */
  readonly workloadCertTtlMs: number;
  /** Data-plane processes (node:cluster workers); 1 runs everything in one process, as before workers existed. */
  readonly workers: number;
}

export const SERVE_DEFAULTS = {
  statusPort: 15021,
  statsPort: 15090,
  adminPort: 15000,
  bindAddress: '0.0.0.0',
  labels: 'istio=ingressgateway',
  namespace: 'istio-system',
  serviceAccount: 'istio-ingressgateway-service-account',
  domainSuffix: 'cluster.local',
  drainTimeout: '5s',
  accessLogFormat: 'text',
  logLevel: 'info',
  trustDomain: 'cluster.local',
  workloadCertTtl: '24h',
} as const;

export const SERVE_USAGE = `usage: gatehouse serve --config DIR [--config DIR ...] [options]

  --config DIR             directory of Istio/Kubernetes YAML manifests, watched (repeatable)
  --status-port N          readiness: /healthz/ready (default ${SERVE_DEFAULTS.statusPort})
  --stats-port N           metrics: /stats/prometheus (default ${SERVE_DEFAULTS.statsPort})
  --admin-port N           admin API on 127.0.0.1 only (default ${SERVE_DEFAULTS.adminPort})
  --bind ADDR              address listeners bind (default ${SERVE_DEFAULTS.bindAddress})
  --port-map P=Q,...       bind Gateway port P on Q, e.g. 80=8080,443=8443 for a non-root process
  --labels k=v,...         the gateway workload's labels Gateway selectors match (default ${SERVE_DEFAULTS.labels})
  --namespace NS           the gateway workload's namespace; credentialName Secrets are read here (default ${SERVE_DEFAULTS.namespace})
  --service-account SA     the gateway workload's service account (default ${SERVE_DEFAULTS.serviceAccount})
  --domain-suffix D        cluster domain for short host names (default ${SERVE_DEFAULTS.domainSuffix})
  --drain-timeout D        on SIGTERM, how long in-flight requests may finish, e.g. 5s, 500ms (default ${SERVE_DEFAULTS.drainTimeout})
  --access-log-format F    text (Istio's default), json or off (default ${SERVE_DEFAULTS.accessLogFormat})
  --log-level L            debug, info, warn or error (default ${SERVE_DEFAULTS.logLevel})
  --ca-dir DIR             mesh CA state (own root, created at first start) (default $GATEHOUSE_STATE_DIR/ca or .gatehouse/ca)
  --cacerts-dir DIR        sign the gateway's identity with Istio cacerts files (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem)
  --trust-domain TD        SPIFFE trust domain of the mesh (default ${SERVE_DEFAULTS.trustDomain})
  --workload-cert-ttl D    lifetime of the gateway's mesh certificate, renewed at half of it (default ${SERVE_DEFAULTS.workloadCertTtl})
  --workers N              data-plane processes sharing the listeners; the control plane runs once (default: the number of cores, here ${availableParallelism()})
${EDGE_USAGE}`;

function usage(message: string): never {
  throw new GatehouseError(ErrCode.USAGE, message);
}

export function parsePort(flag: string, v: string, allowZero = false): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535 || (n === 0 && !allowZero)) usage(`${flag}: not a port number: ${JSON.stringify(v)}`);
  return n;
}

export function parsePortMap(v: string): Map<number, number> {
  const map = new Map<number, number>();
  if (v.trim() === '') return map;
  for (const pair of v.split(',')) {
    const [from, to, extra] = pair.split('=');
    if (from === undefined || to === undefined || extra !== undefined) usage(`--port-map: expected P=Q, got ${JSON.stringify(pair)}`);
    map.set(parsePort('--port-map', from.trim()), parsePort('--port-map', to.trim(), true));
  }
  return map;
}

export function parseLabels(v: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of v.split(',')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) usage(`--labels: expected key=value, got ${JSON.stringify(pair)}`);
    labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return labels;
}

/** `5s`, `500ms`, `1m`, or a bare number of seconds. */
export function parseDurationMs(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) usage(`${flag}: not a duration: ${JSON.stringify(v)} (use e.g. 5s or 500ms)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(unit === 'ms' ? n : unit === 'm' ? n * 60_000 : unit === 'h' ? n * 3_600_000 : n * 1000);
}

/** Reads `--flag value` and `--flag=value` forms; repeatable flags collect every value. */
export function readFlags(argv: readonly string[], known: ReadonlySet<string>): Map<string, string[]> {
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) usage(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (!known.has(name)) usage(`unknown option --${name}`);
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) usage(`--${name} needs a value`);
      i++;
    }
    const list = flags.get(name) ?? [];
    list.push(value);
    flags.set(name, list);
  }
  return flags;
}

const SERVE_FLAGS = new Set<string>([
  ...EDGE_FLAGS,
  'config', 'status-port', 'stats-port', 'admin-port', 'bind', 'port-map', 'labels', 'namespace',
  'service-account', 'domain-suffix', 'drain-timeout', 'access-log-format', 'log-level',
  'ca-dir', 'cacerts-dir', 'trust-domain', 'workload-cert-ttl', 'workers',
]);

/** More workers than this is a typo, not a machine: each is a process with its own pools. */
const MAX_WORKERS = 256;

function parseWorkers(v: string | undefined): number {
  if (v === undefined) return availableParallelism();
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > MAX_WORKERS) usage(`--workers: expected a number from 1 to ${MAX_WORKERS}, got ${JSON.stringify(v)}`);
  return n;
}

/** Certificates are backdated by a minute, so a shorter lifetime would be due for renewal as it is issued. */
function workloadCertTtl(v: string): number {
  const ms = parseDurationMs('--workload-cert-ttl', v);
  if (ms <= 60_000) usage(`--workload-cert-ttl: must be longer than 1m, got ${JSON.stringify(v)}`);
  return ms;
}

export function parseServeArgs(argv: readonly string[]): ServeOptions {
  const f = readFlags(argv, SERVE_FLAGS);
  const one = (name: string, fallback: string): string => {
    const v = f.get(name);
    if (v && v.length > 1) usage(`--${name} given more than once`);
    return v?.[0] ?? fallback;
  };
  const configDirs = f.get('config') ?? [];
  if (configDirs.length === 0) usage('--config DIR is required');
  const accessLogFormat = one('access-log-format', SERVE_DEFAULTS.accessLogFormat);
  if (accessLogFormat !== 'text' && accessLogFormat !== 'json' && accessLogFormat !== 'off') {
    usage(`--access-log-format: expected text, json or off, got ${JSON.stringify(accessLogFormat)}`);
  }
  const logLevel = one('log-level', SERVE_DEFAULTS.logLevel);
  if (!isLogLevel(logLevel)) usage(`--log-level: expected debug, info, warn or error, got ${JSON.stringify(logLevel)}`);
  return {
    configDirs,
    statusPort: parsePort('--status-port', one('status-port', String(SERVE_DEFAULTS.statusPort)), true),
    statsPort: parsePort('--stats-port', one('stats-port', String(SERVE_DEFAULTS.statsPort)), true),
    adminPort: parsePort('--admin-port', one('admin-port', String(SERVE_DEFAULTS.adminPort)), true),
    bindAddress: one('bind', SERVE_DEFAULTS.bindAddress),
    portMap: parsePortMap(one('port-map', '')),
    labels: parseLabels(one('labels', SERVE_DEFAULTS.labels)),
    namespace: one('namespace', SERVE_DEFAULTS.namespace),
    serviceAccount: one('service-account', SERVE_DEFAULTS.serviceAccount),
    domainSuffix: one('domain-suffix', SERVE_DEFAULTS.domainSuffix),
    drainTimeoutMs: parseDurationMs('--drain-timeout', one('drain-timeout', SERVE_DEFAULTS.drainTimeout)),
    accessLogFormat,
    logLevel,
    edge: parseEdgeArgs(f, parseDurationMs),
    caDir: f.get('ca-dir') ? one('ca-dir', '') : undefined,
    cacertsDir: f.get('cacerts-dir') ? one('cacerts-dir', '') : undefined,
    trustDomain: one('trust-domain', SERVE_DEFAULTS.trustDomain),
    workloadCertTtlMs: workloadCertTtl(one('workload-cert-ttl', SERVE_DEFAULTS.workloadCertTtl)),
    workers: parseWorkers(f.get('workers') ? one('workers', '') : undefined),
  };
}
