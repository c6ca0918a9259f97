// Istio's own gateway cases (../shared/conformance/istio-gateway/cases.json), decided by compile + match
// alone: the fast loop before the end-to-end runner. Ports, namespaces, ServiceEntries for upstreams and
// Secrets follow the conventions in cases.json, as its runner applies them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileSnapshot } from '../../routes/compile/index.js';
import type { CompileResult } from '../../routes/compile/index.js';
import { parseManifests } from '../../routes/parse.js';
import { DEFAULT_OPTIONS, issueCert, makeCa, secretYaml, simulate, tempDir, upstreamHeaders } from './support.js';
import type { Outcome, Pem } from './support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// dist/test/simulate → repository root → ../shared/...
const repoRoot = path.resolve(here, '..', '..', '..');
const casesFile = path.resolve(repoRoot, '..', 'shared', 'conformance', 'istio-gateway', 'cases.json');

interface CaseCall {
  name: string;
  method: string;
  headers: Record<string, string>;
  path: string;
  tls: boolean;
  sni: string | null;
  clientCert: boolean;
  port: string;
  host: string;
  expect: { cluster?: string; upstreamHeaders?: Record<string, string>; status?: number; redirect?: string; tlsError?: boolean; refused?: boolean };
}
interface Case {
  name: string;
  defaultNamespace: string;
  resources: string;
  upstreams?: Array<{ cluster: string; tls?: boolean; protocol?: string }>;
  certHosts?: string[];
  secrets?: Array<{ name: string; namespace: string; type: string; data: Record<string, string> }>;
  calls: CaseCall[];
}

const PLACEHOLDER = /\$\{PORT_(\d+)\}/g;
/** Distinct from Istio's numbers so nothing can lean on port 80/443 being literal. */
const substitute = (s: string): string => s.replace(PLACEHOLDER, (_m, n: string) => String(30000 + Number(n)));

function definedServiceEntryHosts(resources: string): Set<string> {
  const parsed = parseManifests([{ path: 'resources.yaml', text: resources }], { defaultNamespace: 'default' });
  const out = new Set<string>();
  for (const r of parsed.resources) {
    if (r.object.kind !== 'ServiceEntry') continue;
    for (const h of ((r.object as { spec?: { hosts?: string[] } }).spec?.hosts ?? [])) out.add(h);
  }
  return out;
}

function upstreamYaml(c: Case): string {
  const defined = definedServiceEntryHosts(c.resources);
  const byHost = new Map<string, Array<{ port: number; protocol: string }>>();
  for (const u of c.upstreams ?? []) {
    const [, port, , host] = u.cluster.split('|');
    if (!host || !port || defined.has(host)) continue;
    const list = byHost.get(host) ?? [];
    list.push({ port: Number(port), protocol: u.protocol ?? (u.tls ? 'TLS' : 'HTTP') });
    byHost.set(host, list);
  }
  const docs: string[] = [];
  let echoPort = 41000;
  for (const [host, entries] of byHost) {
    const ns = /^[^.]+\.([^.]+)\.svc\.cluster\.local$/.exec(host)?.[1] ?? 'default';
    const pname = (e: { port: number; protocol: string }): string => `${e.protocol.toLowerCase()}-${e.port}`;
    docs.push(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: conformance-${host.replace(/[^a-z0-9-]+/g, '-')}
  namespace: ${ns}
spec:
  hosts:
  - "${host}"
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
${entries.map((e) => `  - number: ${e.port}\n    name: ${pname(e)}\n    protocol: ${e.protocol}`).join('\n')}
  endpoints:
  - address: 127.0.0.1
    ports:
${entries.map((e) => `      ${pname(e)}: ${echoPort++}`).join('\n')}
`);
  }
  return docs.join('---\n');
}

test('Istio gateway conformance cases, decided by compile + match', async (t) => {
  if (!fs.existsSync(casesFile)) {
    t.skip(`conformance cases not found at ${casesFile}`);
    return;
  }
  const data = JSON.parse(fs.readFileSync(casesFile, 'utf8')) as { cases: Case[] };
  const dir = tempDir('gh-sim-');
  const caA = makeCa(dir, 'ca-a');
  const caB = makeCa(dir, 'ca-b');
  const client = issueCert(dir, caA, 'client', ['client.example.com']);
  let passed = 0;
  let total = 0;
  const failures: string[] = [];
  try {
    for (const c of data.cases) {
      const tokens: Record<string, string> = { '@caCert': caA.crtPem, '@otherCaCert': caB.crtPem };
      if (c.certHosts?.length) {
        const server: Pem = issueCert(dir, caA, `server-${total}`, c.certHosts);
        const other: Pem = issueCert(dir, caB, `other-${total}`, c.certHosts);
        Object.assign(tokens, { '@serverCert': server.crtPem, '@serverKey': server.keyPem, '@otherServerCert': other.crtPem });
      }
      const secrets = (c.secrets ?? []).map((s) =>
        secretYaml(s.name, s.namespace, s.type, Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, v.startsWith('@') ? (tokens[v] ?? '') : v]))),
      );
      const files = [
        { path: 'resources.yaml', text: substitute(c.resources) },
        { path: 'secrets.yaml', text: secrets.join('---\n') },
        { path: 'upstreams.yaml', text: upstreamYaml(c) },
      ];
      const parsed = parseManifests(files, { defaultNamespace: c.defaultNamespace });
      assert.deepEqual(parsed.diagnostics.filter((d) => d.severity === 'error'), [], `${c.name}: parse errors`);
      const result: CompileResult = compileSnapshot(parsed.resources, { ...DEFAULT_OPTIONS, now: new Date() });
      for (const call of c.calls) {
        total++;
        const outcome = simulate(result, {
          port: Number(substitute(call.port)),
          host: substitute(call.host),
          path: call.path,
          method: call.method,
          headers: call.headers,
          tls: call.tls,
          sni: call.sni,
          ...(call.clientCert ? { clientCertPem: client.crtPem } : {}),
        });
        const problem = judge(call, outcome, result);
        if (problem) failures.push(`${call.name}: ${problem}`);
        else passed++;
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  t.diagnostic(`${passed} of ${total} conformance calls pass in simulation`);
  assert.ok(total >= 60, `expected the full case set, got ${total} calls`);
  assert.deepEqual(failures, []);
});

function judge(call: CaseCall, outcome: Outcome, result: CompileResult): string | undefined {
  const e = call.expect;
  const got = JSON.stringify(outcome.kind === 'cluster' ? { cluster: outcome.cluster } : outcome);
  if (e.cluster) {
    if (outcome.kind !== 'cluster' || outcome.cluster !== e.cluster) return `want cluster ${e.cluster}, got ${got}`;
    const cluster = result.body.clusters[e.cluster];
    if (!cluster || cluster.endpoints.length === 0) return `cluster ${e.cluster} has no endpoints`;
    const seen = upstreamHeaders(outcome.route, outcome.cluster);
    for (const [k, v] of Object.entries(e.upstreamHeaders ?? {})) if (seen[k.toLowerCase()] !== v) return `want upstream header ${k}: ${v}, got ${JSON.stringify(seen)}`;
    return undefined;
  }
  if (e.redirect === 'https') return outcome.kind === 'redirect' && outcome.status === (e.status ?? 301) ? undefined : `want 301 redirect, got ${got}`;
  if (e.status) return outcome.kind === 'status' && outcome.status === e.status ? undefined : `want ${e.status}, got ${got}`;
  if (e.tlsError) return outcome.kind === 'tlsError' ? undefined : `want refused handshake, got ${got}`;
  if (e.refused) return outcome.kind === 'refused' ? undefined : `want no listener, got ${got}`;
  return `unknown expectation ${JSON.stringify(e)}`;
}
