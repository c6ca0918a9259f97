// Resource digests are hashed from canonical JSON written as bytes (control/canonical-digest.ts), not from
// canonicalJson's string. Every snapshot hash depends on the two being the same bytes: compared here over
// the corners canonicalJson handles and over real parsed manifests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { canonicalJson } from '../../control/build.js';
import { CanonicalDigest } from '../../control/canonical-digest.js';
import { parseManifests } from '../../routes/parse.js';
import type { ManifestFile } from '../../routes/parse.js';
import { repositoryYamlFiles } from '../support/repository-yaml.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..', '..');

function assertSame(digest: CanonicalDigest, value: unknown, what: string): void {
  const text = canonicalJson(value);
  assert.deepEqual(digest.bytes(value), Buffer.from(text, 'utf8'), what);
  assert.equal(digest.digest(value), createHash('sha256').update(text).digest('base64'), what);
}

test('the canonical bytes are canonicalJson’s text for the corners it handles', () => {
  const digest = new CanonicalDigest();
  const holes: unknown[] = [1, , 3];
  holes[5] = 'x';
  const bare = Object.create(null) as Record<string, unknown>;
  bare['b'] = 1;
  bare['a'] = { z: 1, y: [2] };
  class WithProto {
    own = 1;
  }
  (WithProto.prototype as unknown as Record<string, unknown>)['zinherited'] = 'not written';
  const many: Record<string, number> = {};
  for (let i = 40; i > 0; i--) many[`k${i}`] = i;
  const values: unknown[] = [
    { zeta: 1, alpha: { '10': 'a', '2': 'b', b: [NaN, Infinity, -0, 1.5e300, undefined, null], a: true }, mid: holes, é: 'ü\u0001"\\', Z: new Date(0), '': { y: 2, x: 1 } },
    { sorted: 1, tail: { also: 'sorted', x: [1, 'two', { b: 2, a: 1 }] } },
    { s: 'tab\there', q: 'quote " and \\ backslash', nl: 'line\nbreak', bs: 'back\\slash', del: '\u007f', nul: '\u0000', lone: '\ud800', pair: '😀', cjk: '名前' },
    { __proto__key: 1, constructor: 'c', toString: 't' },
    JSON.parse('{"__proto__": {"x": 1}, "a": 2}'),
    bare,
    new WithProto(),
    many,
    { fn: () => 1, sym: Symbol('s'), undef: undefined, nested: [() => 1, undefined] },
    [],
    {},
    'just a string',
    42,
    null,
    [[[]], [{}], [{ b: [], a: {} }]],
    // Integers written digit by digit, at every width, at the bound and past it, and what is not one.
    { ints: [0, -0, 1, 9, 10, 99, 100, 999, 1000, 65535, 1_000_000_000, 2147483646, 2147483647, 2147483648, 4294967296, 1e21, -1, -80, 0.5, 80.25] },
  ];
  values.forEach((v, i) => assertSame(digest, v, `value ${i}`));
  // Larger than the buffer's first size (64 KiB), and than what it keeps (1 MiB); then a small one again.
  assertSame(digest, { big: 'x'.repeat(100_000), list: Array.from({ length: 2000 }, (_, i) => ({ i, s: `s${i}` })) }, 'over 64 KiB');
  assertSame(digest, { huge: 'é'.repeat(600_000) }, 'over 1 MiB');
  assertSame(digest, { small: true }, 'after a large one');
});

test('the canonical bytes of every parsed manifest are canonicalJson’s text', async () => {
  const files: ManifestFile[] = repositoryYamlFiles();
  const scale = (await import(pathToFileURL(path.join(repoRoot, 'bench', 'lib', 'scale-manifests.mjs')).href)) as {
    manifests(o: { hosts: number; routes: number; services: number }): ManifestFile[];
  };
  files.push(...scale.manifests({ hosts: 200, routes: 1000, services: 20 }));
  const parsed = parseManifests(files, { defaultNamespace: 'default' });
  assert.ok(parsed.resources.length > 250, `${parsed.resources.length} resources`);
  const digest = new CanonicalDigest();
  for (const r of parsed.resources) assertSame(digest, r.object, `${r.origin.file}:${r.origin.source.line}`);
});

test('objects whose keys are out of order are written sorted each time their key sequence recurs, and past the sequences remembered', () => {
  const digest = new CanonicalDigest();
  // One sequence met again with other values, a sequence that is a prefix of another (and the reverse),
  // the same keys in another order, and an object inside one of the same sequence.
  const recurring: unknown[] = [
    { b: 1, a: 2 },
    { b: 'x', a: { b: [1], a: null } },
    { b: 1 },
    { b: 1, a: 2, c: 3 },
    { b: 2, a: 1, c: { b: 1, a: 2, c: 3 } },
    { c: 1, b: 2, a: 3 },
    { a: 1, c: 2, b: 3 },
    { b: undefined, a: 1 },
  ];
  for (let round = 0; round < 3; round++) recurring.forEach((v, i) => assertSame(digest, v, `round ${round}, value ${i}`));
  // Thousands of distinct sequences (two unsorted keys each): more than the tree keeps.
  for (let i = 0; i < 6000; i++) assertSame(digest, { [`z${i}`]: i, [`a${i}`]: [i] }, `distinct sequence ${i}`);
  recurring.forEach((v, i) => assertSame(digest, v, `after the bound, value ${i}`));
});
