// A delta on the workers' wire (core/snapshot-codec.ts): after each edit, the snapshot a worker decodes
// from a delta against the one it holds must be the snapshot a full decode gives, value for value
// (undefined fields, prototypes, RegExps and private keys included) and numbered the same way by the next
// delta, edit after edit; a worker that does not hold the delta's base refuses it with the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { buildSnapshot } from '../../control/build.js';
import { ParseCache, sha256 } from '../../control/sources/parse-cache.js';
import { decodeSnapshot, encodeSnapshot, numberObjects, snapshotWireBase, type HeldSnapshot } from '../../core/snapshot-codec.js';
import type { Snapshot } from '../../core/snapshot.js';
import { DEFAULT_OPTIONS, issueCert, makeCa, secretYaml, tempDir } from '../simulate/support.js';

/** Every value as the wire must carry it, sharing aside: undefined, RegExps, null prototypes, key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, function (this: unknown, _key: string, v: unknown) {
    if (v === undefined) return '<undefined>';
    if (v instanceof RegExp) return { '<re>': [v.source, v.flags] };
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.getPrototypeOf(v) === null) return { '<null-proto>': Object.entries(v) };
    return v;
  });
}

const digest = (s: Snapshot): string => createHash('sha256').update(canonical(s)).digest('hex');

function assertFrozen(value: unknown, at: string, seen = new Set<object>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  assert.ok(Object.isFrozen(value), `${at} is frozen`);
  for (const k of Object.keys(value)) assertFrozen((value as Record<string, unknown>)[k], `${at}.${k}`, seen);
}

const dir = tempDir('gatehouse-codec-delta-');
const ca = makeCa(dir, 'ca');
const certA = issueCert(dir, ca, 'a', ['secure.example.com']);
const certB = issueCert(dir, ca, 'b', ['secure.example.com']);

const GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*/*.example.com"]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*/secure.example.com"]
    tls: {mode: SIMPLE, credentialName: secure-cert}
`;

const SERVICES = [1, 2, 3]
  .map(
    (i) => `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc${i}, namespace: demo}
spec:
  hosts: [svc${i}.demo.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  endpoints: [{address: 10.0.0.${i}, labels: {version: v${i}}}]
`,
  )
  .join('');

const DESTINATION_RULE = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc1, namespace: demo}
spec:
  host: svc1.demo.svc.cluster.local
  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
  subsets: [{name: v1, labels: {version: v1}}]
`;

function vs(name: string, host: string, routes: string): string {
  return `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: demo}
spec:
  hosts: [${host}]
  gateways: [istio-system/gw]
  http:
${routes}`;
}

// Routes the compiler shares between hosts (one match list per URI match, one action per cluster), a
// regex match, header operations: what a delta must reference or write out again faithfully.
const routesTo = (svc: string) => `  - match: [{uri: {prefix: /api}}]
    route: [{destination: {host: ${svc}}}]
  - match: [{uri: {regex: "/v[0-9]+/.*"}, headers: {x-v: {exact: "1"}}}]
    headers: {request: {set: {x-from: gw}}}
    route: [{destination: {host: svc3}}]
  - route: [{destination: {host: ${svc}}}]
`;

// One file each, as in a config directory: an edit re-parses one file, and the objects of the others stay.
// Enough hosts for runs of unchanged ones (a delta writes 8 or more consecutive base objects as one run).
const VIRTUAL_SERVICES = Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n'].map((h, i) => [`vs-${h}.yaml`, vs(`vs-${h}`, `${h}.example.com`, routesTo(`svc${(i % 2) + 1}`))]));

function files(texts: Record<string, string>): { rel: string; display: string; text: string; hash: string }[] {
  return Object.keys(texts)
    .sort()
    .map((rel) => ({ rel, display: rel, text: texts[rel]!, hash: sha256(texts[rel]!) }));
}

const initial: Record<string, string> = {
  'gateway.yaml': GATEWAY,
  'services.yaml': SERVICES + '---\n' + DESTINATION_RULE,
  'secret.yaml': secretYaml('secure-cert', 'istio-system', 'kubernetes.io/tls', { 'tls.crt': certA.crtPem, 'tls.key': certA.keyPem }),
  ...VIRTUAL_SERVICES,
  'vs-secure.yaml': vs('vs-secure', 'secure.example.com', routesTo('svc1')),
};

function replace(texts: Record<string, string>, file: string, from: string, to: string): Record<string, string> {
  assert.ok(texts[file]!.includes(from), `${file} contains ${JSON.stringify(from)}`);
  return { ...texts, [file]: texts[file]!.replace(from, to) };
}

const EDITS: { what: string; change: (t: Record<string, string>) => Record<string, string> }[] = [
  { what: 'a route of one VirtualService changed', change: (t) => replace(t, 'vs-c.yaml', 'prefix: /api}', 'prefix: /api2}') },
  { what: 'a VirtualService added (sharing the others\' match lists and actions)', change: (t) => ({ ...t, 'vs-new.yaml': vs('vs-new', 'new.example.com', routesTo('svc2')) }) },
  { what: 'a VirtualService removed', change: (t) => Object.fromEntries(Object.entries(t).filter(([k]) => k !== 'vs-b.yaml')) },
  { what: 'a DestinationRule changed (a cluster changes, the others are rebuilt equal)', change: (t) => replace(t, 'services.yaml', 'simple: ROUND_ROBIN', 'simple: RANDOM') },
  { what: 'a Secret changed (the certificate of the HTTPS server)', change: (t) => ({ ...t, 'secret.yaml': secretYaml('secure-cert', 'istio-system', 'kubernetes.io/tls', { 'tls.crt': certB.crtPem, 'tls.key': certB.keyPem }) }) },
  { what: 'the added VirtualService removed again', change: (t) => Object.fromEntries(Object.entries(t).filter(([k]) => k !== 'vs-new.yaml')) },
  { what: 'a route made to point at a cluster only another host used', change: (t) => replace(t, 'vs-secure.yaml', 'route: [{destination: {host: svc1}}]\n  - match', 'route: [{destination: {host: svc2}}]\n  - match') },
];

test('a delta decoded against the snapshot a worker holds is the snapshot a full decode gives, edit after edit', () => {
  const cache = new ParseCache('default', 0);
  const build = (texts: Record<string, string>, previous: Snapshot | undefined): Snapshot => {
    const parsed = cache.parse(files(texts));
    const built = buildSnapshot(parsed.resources, parsed.diagnostics, DEFAULT_OPTIONS, previous);
    assert.equal(built.ok, true, JSON.stringify(built).slice(0, 2000));
    return (built as { snapshot: Snapshot }).snapshot;
  };
  let texts = initial;
  let primary = build(texts, undefined);
  assert.equal(Object.keys(primary.secrets).length, 1, 'precondition: the Secret is in the snapshot');
  const fullText = encodeSnapshot(primary);
  assert.equal(snapshotWireBase(fullText), undefined);
  let worker: HeldSnapshot = { generation: 1, snapshot: decodeSnapshot(fullText) };
  let withRuns = 0;
  for (const [i, edit] of EDITS.entries()) {
    texts = edit.change(texts);
    const next = build(texts, primary);
    assert.notEqual(digest(next), digest(primary), `${edit.what}: precondition: the snapshot changed`);
    const full = encodeSnapshot(next);
    const delta = encodeSnapshot(next, { generation: worker.generation, snapshot: primary });
    assert.equal(snapshotWireBase(delta), worker.generation);
    assert.ok(delta.length * 2 < full.length, `${edit.what}: the delta (${delta.length} chars) is smaller than the full text (${full.length})`);
    const fromFull = decodeSnapshot(full);
    const fromDelta = decodeSnapshot(delta, worker);
    if (delta.includes('"\\u0000s":[')) withRuns++;
    assert.equal(canonical(fromDelta), canonical(fromFull), `${edit.what}: the delta decodes to the full decode's values`);
    assert.equal(digest(fromDelta), digest(next), `${edit.what}: and to the primary's snapshot`);
    assertFrozen(fromDelta, 'snapshot');
    // What both sides number for the next delta: the same objects in the same order.
    const numbered = (s: Snapshot) => [...numberObjects(s).keys()].map(canonical);
    assert.deepEqual(numbered(fromDelta), numbered(next), `${edit.what}: numbered alike on both sides`);
    // Unchanged virtual hosts are the worker's own objects, not copies.
    const table = fromDelta.routeTables['http.80']!;
    const held = worker.snapshot.routeTables['http.80']!;
    const kept = table.virtualHosts.filter((h) => held.virtualHosts.includes(h));
    assert.ok(kept.length >= 10, `${edit.what}: ${kept.length} virtual hosts kept by identity`);
    worker = { generation: i + 2, snapshot: fromDelta };
    primary = next;
  }
  assert.ok(withRuns >= EDITS.length - 2, `precondition: runs of unchanged virtual hosts were written as runs (${withRuns} deltas)`);
  // A publish of the snapshot the worker holds (a rollback to it) is the held snapshot itself.
  assert.equal(decodeSnapshot(encodeSnapshot(primary, { generation: worker.generation, snapshot: primary }), worker), worker.snapshot);
});

test('a delta is refused with GH_ERR_SNAPSHOT_WIRE by a decoder that does not hold its base', () => {
  const cache = new ParseCache('default', 0);
  const parsed = cache.parse(files(initial));
  const built = buildSnapshot(parsed.resources, parsed.diagnostics, DEFAULT_OPTIONS, undefined) as { snapshot: Snapshot };
  const base = built.snapshot;
  const edited = cache.parse(files(EDITS[0]!.change(initial)));
  const next = (buildSnapshot(edited.resources, edited.diagnostics, DEFAULT_OPTIONS, base) as { snapshot: Snapshot }).snapshot;
  const delta = encodeSnapshot(next, { generation: 4, snapshot: base });
  const held = decodeSnapshot(encodeSnapshot(base));
  const refused = (text: string, h: HeldSnapshot | undefined, why: RegExp) =>
    assert.throws(() => decodeSnapshot(text, h), (err: Error & { code?: string }) => err.code === 'GH_ERR_SNAPSHOT_WIRE' && why.test(err.message));
  refused(delta, undefined, /a delta against generation 4, and this process holds no snapshot/);
  refused(delta, { generation: 3, snapshot: held }, /a delta against generation 4, and this process holds generation 3/);
  // A base reference past the base's objects, and one in a text that names no base.
  refused(delta.replace(/\\u0000g\d+"/, '\\u0000g999999"'), { generation: 4, snapshot: held }, /reference to no object of the base: "999999"/);
  refused(delta.replace(/"\\u0000base":4,/, ''), { generation: 4, snapshot: held }, /reference to no object of the base/);
  assert.equal(canonical(decodeSnapshot(delta, { generation: 4, snapshot: held })), canonical(decodeSnapshot(encodeSnapshot(next))));
});
