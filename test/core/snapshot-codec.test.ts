// The snapshot a worker receives over IPC must be the snapshot the primary built: same dump, same
// routing, RegExps compiled, null-prototype dictionaries still null-prototype, deep-frozen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SNAPSHOT_WIRE_FORMAT, decodeSnapshot, encodeSnapshot } from '../../core/snapshot-codec.js';
import { dumpSnapshot, type Snapshot, type StringMatch } from '../../core/snapshot.js';
import { deepFreeze } from '../../core/freeze.js';
import { compileSnapshot, type CompileResult } from '../../routes/compile/index.js';
import { parseManifests } from '../../routes/parse.js';
import { DEFAULT_OPTIONS, compileYaml, issueCert, makeCa, secretYaml, simulate, tempDir, type SimCall } from '../simulate/support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const casesFile = path.resolve(here, '..', '..', '..', '..', 'shared', 'conformance', 'istio-gateway', 'cases.json');

function snapshotOf(result: CompileResult, version = 7): Snapshot {
  return deepFreeze({ version, hash: 'h'.repeat(64), builtAt: '2026-11-25T00:00:00.000Z', ...result.body });
}

function throughCodec(snapshot: Snapshot): Snapshot {
  // The worker receives a string; structured clone of a string is the identity.
  return decodeSnapshot(structuredClone(encodeSnapshot(snapshot)));
}

/** Every object in the tree keeps its prototype (null or not), every RegExp is a RegExp, all frozen. */
function assertSameShape(a: unknown, b: unknown, at: string): void {
  if (a === null || typeof a !== 'object') {
    assert.equal(b, a, at);
    return;
  }
  assert.ok(Object.isFrozen(b), `${at} is frozen`);
  if (a instanceof RegExp) {
    assert.ok(b instanceof RegExp, `${at} is a RegExp`);
    assert.equal((b as RegExp).source, a.source, at);
    assert.equal((b as RegExp).flags, a.flags, at);
    return;
  }
  assert.equal(Object.getPrototypeOf(b) === null, Object.getPrototypeOf(a) === null, `${at}: prototype`);
  assert.equal(Array.isArray(b), Array.isArray(a), `${at}: array`);
  assert.deepEqual(Object.keys(b as object), Object.keys(a), `${at}: keys`);
  for (const k of Object.keys(a)) assertSameShape((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`);
}

test('a snapshot with hosts named like Object.prototype members routes identically after the codec', () => {
  const yaml = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*/*.hasownproperty.test", "*/plain.test"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: default}
spec:
  hosts: ["*.hasownproperty.test", "plain.test"]
  gateways: ["istio-system/gw"]
  http:
  - match: [{uri: {regex: "/re/[a-z]+"}, headers: {x-v: {regex: "v[0-9]"}}}]
    route: [{destination: {host: regex.example.com}}]
  - route: [{destination: {host: default.example.com}}]
`;
  // Validation keeps dotless hosts out of exactHosts, but the codec must not depend on it: the keys
  // `constructor` and `__proto__` are put in as the compiler would, into its null-prototype dictionary.
  const compiled = compileYaml(yaml);
  const table0 = Object.values(compiled.body.routeTables)[0]!;
  const exactHosts = Object.create(null) as Record<string, number>;
  exactHosts['plain.test'] = table0.exactHosts['plain.test']!;
  exactHosts['constructor'] = table0.exactHosts['plain.test']!;
  exactHosts['__proto__'] = table0.exactHosts['plain.test']!;
  const original = snapshotOf({
    body: { ...compiled.body, routeTables: { [table0.name]: { ...table0, exactHosts } } },
    diagnostics: [],
  });
  const decoded = throughCodec(original);
  assert.equal(dumpSnapshot(decoded), dumpSnapshot(original));
  assertSameShape(original, decoded, 'snapshot');
  const table = Object.values(decoded.routeTables)[0]!;
  assert.equal(Object.getPrototypeOf(table.exactHosts), null, 'exactHosts keeps its null prototype');
  assert.equal(typeof table.exactHosts['constructor'], 'number', 'the host `constructor` is a real entry');
  assert.ok(Object.hasOwn(table.exactHosts, '__proto__'), 'the host `__proto__` is an own entry, not a prototype');
  const uri = decoded.routeTables[table.name]!.virtualHosts[0]!.routes[0]!.match[0]!.uri as StringMatch & { re?: RegExp };
  assert.ok(uri.re instanceof RegExp && uri.re.test('/re/abc'), 'the regex is compiled and matches');

  const calls: SimCall[] = [];
  for (const host of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'a.hasownproperty.test', 'plain.test', 'valueOf.hasownproperty.test']) {
    for (const p of ['/re/abc', '/re/ABC', '/other']) {
      calls.push({ port: 80, host, path: p, headers: { 'x-v': 'v1' } }, { port: 80, host, path: p, headers: { 'x-v': 'vv' } });
    }
  }
  const routed = (s: Snapshot, c: SimCall) => JSON.stringify(simulate({ body: s, diagnostics: [] }, c));
  for (const c of calls) assert.equal(routed(decoded, c), routed(original, c), `${c.host}${c.path} ${c.headers?.['x-v']}`);
  assert.match(routed(decoded, { port: 80, host: 'constructor', path: '/re/abc', headers: { 'x-v': 'v1' } }), /regex\.example\.com/);
  assert.match(routed(decoded, { port: 80, host: '__proto__', path: '/other' }), /default\.example\.com/);
  assert.match(routed(decoded, { port: 80, host: 'toString', path: '/' }), /"status":404/);
});

test('every Istio conformance case dumps and routes identically after the codec', async (t) => {
  if (!fs.existsSync(casesFile)) {
    t.skip(`conformance cases not found at ${casesFile}`);
    return;
  }
  const data = JSON.parse(fs.readFileSync(casesFile, 'utf8')) as {
    cases: Array<{
      name: string;
      defaultNamespace: string;
      resources: string;
      secrets?: Array<{ name: string; namespace: string; type: string; data: Record<string, string> }>;
      calls: Array<{ method: string; headers: Record<string, string>; path: string; tls: boolean; sni: string | null; port: string; host: string }>;
    }>;
  };
  const dir = tempDir('gh-codec-');
  const ca = makeCa(dir, 'ca');
  const server = issueCert(dir, ca, 'server', ['*.example.com', 'example.com']);
  const tokens: Record<string, string> = { '@caCert': ca.crtPem, '@otherCaCert': ca.crtPem, '@serverCert': server.crtPem, '@serverKey': server.keyPem, '@otherServerCert': server.crtPem };
  const sub = (s: string): string => s.replace(/\$\{PORT_(\d+)\}/g, (_m, n: string) => String(30000 + Number(n)));
  let calls = 0;
  try {
    for (const c of data.cases) {
      const secrets = (c.secrets ?? []).map((s) =>
        secretYaml(s.name, s.namespace, s.type, Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, v.startsWith('@') ? (tokens[v] ?? '') : v]))),
      );
      const parsed = parseManifests(
        [{ path: 'resources.yaml', text: sub(c.resources) }, { path: 'secrets.yaml', text: secrets.join('---\n') }],
        { defaultNamespace: c.defaultNamespace },
      );
      const result = compileSnapshot(parsed.resources, { ...DEFAULT_OPTIONS, now: new Date() });
      const original = snapshotOf(result);
      const decoded = throughCodec(original);
      assert.equal(dumpSnapshot(decoded), dumpSnapshot(original), `${c.name}: dump`);
      assertSameShape(original, decoded, c.name);
      for (const call of c.calls) {
        const sim: SimCall = { port: Number(sub(call.port)), host: sub(call.host), path: call.path, method: call.method, headers: call.headers, tls: call.tls, sni: call.sni };
        for (const random of [0, 0.5, 0.99]) {
          assert.deepEqual(simulate({ body: decoded, diagnostics: [] }, sim, random), simulate({ body: original, diagnostics: [] }, sim, random), `${c.name}: ${call.host}${call.path}`);
        }
        calls++;
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(calls >= 60, `ran ${calls} calls`);
});

test('objects the compiler shares decode as one object, and what it does not share stays distinct', () => {
  const yaml = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*/*.shared.test"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a, namespace: default}
spec:
  hosts: ["a.shared.test"]
  gateways: ["istio-system/gw"]
  http:
  - match: [{uri: {prefix: /api/}}]
    route: [{destination: {host: one.example.com}}]
  - match: [{uri: {prefix: /api/}, headers: {x-v: {exact: "1"}}}]
    route: [{destination: {host: two.example.com}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b, namespace: default}
spec:
  hosts: ["b.shared.test"]
  gateways: ["istio-system/gw"]
  http:
  - match: [{uri: {prefix: /api/}}]
    route: [{destination: {host: one.example.com}}]
  - match: [{uri: {prefix: /api/}, headers: {x-v: {exact: "1"}}}]
    route: [{destination: {host: two.example.com}}]
`;
  const original = snapshotOf(compileYaml(yaml));
  const routesOf = (s: Snapshot, host: string) => {
    const table = Object.values(s.routeTables)[0]!;
    return table.virtualHosts[table.exactHosts[host]!]!.routes;
  };
  const [a0, a1] = routesOf(original, 'a.shared.test');
  const [b0, b1] = routesOf(original, 'b.shared.test');
  // What the compiler shares (routes/compile/shared-values.ts), or this test proves nothing.
  assert.equal(a0!.match, b0!.match, 'precondition: one URI-only match list');
  assert.equal(a0!.action, b0!.action, 'precondition: one action per cluster');
  assert.notEqual(a1!.match, b1!.match, 'precondition: a header match is per route');

  const decoded = throughCodec(original);
  assert.equal(dumpSnapshot(decoded), dumpSnapshot(original));
  assertSameShape(original, decoded, 'snapshot');
  const [c0, c1] = routesOf(decoded, 'a.shared.test');
  const [d0, d1] = routesOf(decoded, 'b.shared.test');
  assert.equal(c0!.match, d0!.match, 'the shared match list is one object after decoding');
  assert.equal(c0!.action, d0!.action, 'the shared action is one object after decoding');
  assert.equal(c1!.action, d1!.action, 'the action to the second cluster too');
  assert.notEqual(c1!.match, d1!.match, 'match lists the compiler made per route stay per route');
  assert.notEqual(c0!.action, c1!.action, 'actions to different clusters stay different');
});

test('strings that begin with NUL, like the codec tags, travel as they are', () => {
  const compiled = compileYaml(`apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*/nul.test"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: default}
spec:
  hosts: ["nul.test"]
  gateways: ["istio-system/gw"]
  http:
  - route: [{destination: {host: one.example.com}}]
`);
  const table = Object.values(compiled.body.routeTables)[0]!;
  const host = table.virtualHosts[0]!;
  const bodies = ['\u0000u', '\u0000r0', '\u0000g0', '\u0000\u0000u', '\u0000', 'plain'];
  const routes = bodies.map((body, i) => ({ ...host.routes[0]!, name: `direct-${i}`, action: { type: 'direct' as const, status: 200, body } }));
  const original = snapshotOf({
    body: { ...compiled.body, routeTables: { [table.name]: { ...table, virtualHosts: [{ ...host, routes }] } } },
    diagnostics: [],
  });
  const decoded = throughCodec(original);
  const decodedBodies = Object.values(decoded.routeTables)[0]!.virtualHosts[0]!.routes.map((r) => (r.action.type === 'direct' ? r.action.body : undefined));
  assert.deepEqual(decodedBodies, bodies);
  assertSameShape(original, decoded, 'snapshot');
});

test('a message that is not a snapshot in this wire format is refused with a code, not half-decoded', () => {
  const original = snapshotOf(compileYaml(`apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*/x.test"]
`));
  const encoded = encodeSnapshot(original);
  const refused = (text: string, why: RegExp) =>
    assert.throws(() => decodeSnapshot(text), (err: Error & { code?: string }) => err.code === 'GH_ERR_SNAPSHOT_WIRE' && why.test(err.message));
  const format = SNAPSHOT_WIRE_FORMAT;
  refused(JSON.stringify(original), new RegExp(`wire format ${format} \\(format absent\\)`));
  refused(encoded.replace(new RegExp(`^\\{"\\\\u0000gh":${format}`), '{"\\u0000gh":2'), /format 2/);
  refused(JSON.stringify({ '\u0000gh': format, '\u0000body': { routes: '\u0000r7' } }), /reference to an object not decoded before it/);
  refused(JSON.stringify({ '\u0000gh': format, '\u0000body': { name: '\u0000x' } }), /unknown tag/);
  assert.equal(dumpSnapshot(decodeSnapshot(encoded)), dumpSnapshot(original));
});
