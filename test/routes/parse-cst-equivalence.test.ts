// The manifests are read line by line (routes/yaml-block-reader.ts) when a file is in that reader's subset
// of YAML, else from yaml's CST (routes/yaml-cst-values.ts) wherever the CST reader can, and by yaml's
// Composer otherwise. Whichever reads a document, Gatehouse must see the same thing: the same values
// (yaml's toJS), the same document and node positions, and the same diagnostics. Compared here over the
// repository's manifests, Istio's conformance cases, the scale benchmark's config and YAML written to
// exercise the corners; each tricky document is also pinned to the reader expected to take it, so a
// reader that gave up on everything (or on nothing) fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Composer, Parser, parseAllDocuments } from 'yaml';
import type { CST, Document } from 'yaml';
import { parseManifests } from '../../routes/parse.js';
import type { ManifestFile } from '../../routes/parse.js';
import { repositoryYamlFiles } from '../support/repository-yaml.js';
import { readCstDocument } from '../../routes/yaml-cst-values.js';
import type { CstDocument } from '../../routes/yaml-cst-values.js';
import { readBlockFile } from '../../routes/yaml-block-reader.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..', '..'); // dist/test/routes → repository root

/** Documents the CST reader must take itself (each a whole file). */
const READ_FROM_CST: Record<string, string> = {
  'quoted and escaped': `a: "tab\\there \\u00e9 \\x41 \\"q\\" \\\\ \\/"
b: 'it''s # not a comment'
c: "folded
  over lines

  with a blank"
d: 'single
  folded'
e: ""
f: ''
"quoted key": 1
'single key': 2
"a.b/c": x
`,
  'block scalars': `literal: |
  line one
    indented
  line three

folded: >
  folded
  text

  para
keep: |+
  kept

strip: |-
  stripped
indicator: |2
    two more
foldstrip: >-
  a
  b
last: |
  end
`,
  'flow collections': `m: {a: 1, b: [x, y, {c: d}], e: {}, f: []}
s: [1, "two", 'three', [four], {five: 5}, ]
multi: [
  a,
  b,   # a comment in a flow sequence
  {c: d,
   e: f}
]
nested: [[[]], [{}], {a: {b: {c: [1, [2, [3]]]}}}]
emptyvalue: {a: , b: null, c}
spaced: [ a , b ]
`,
  'comments everywhere': `# leading
a: 1 # after a value
# between keys
b:
  # before an item
  - x # after an item
  # between items
  - y
  # after the last item
c: {d: e} # after a flow map
# at the end
`,
  'empty values': `a:
b: ~
c:
  - 
  -
  - x
d: {}
e: []
f: ""
g:   # nothing here
`,
  'empty value with a comment, nested': `a:
  b: # none
c: [x]
`,
  'core schema scalars': `nulls: [null, Null, NULL, ~, nULL, "null"]
bools: [true, True, TRUE, false, False, FALSE, tRUE, yes, no, on, off, y, n]
ints: [0, -12, +3, 012, 0o17, 0o8, 0x1F, 0xg, 1_000, "42", 99999999999999999999]
floats: [1.5, .5, -.5, 1., 1e3, -1.5E-3, 6.02e+23, .inf, -.Inf, +.INF, .nan, .NaN, .NAN, 1.5.5, "1.0"]
strings: [abc, a b, -a, ?b, :c, a:b, "a: b", a#b, 'a #b', 1.0.0, 0b101, 1:20, 2001-12-14, ~x, .x, +x, --, a-]
`,
  'keys': `__proto__: polluted
constructor: c
toString: t
hasOwnProperty: h
with-dash: 1
with.dot: 2
"": empty key
x/y: slash
"80": quoted number
UPPER: u
`,
  'sequences': `top:
- a
- - b
  - c
- - - d
- k: v
  k2: v2
-
  k3: v3
indented:
  - a
  - b
`,
  'multi-line plain': `a: this plain scalar
  goes on

  over lines
b: [one
  two, three]
c: last
`,
  'crlf': 'a: 1\r\nb:\r\n  - x\r\n  - "y"\r\nc: {d: e}\r\n',
  'unicode': `名前: 値
emoji: "🙂"
é: ü
`,
  'documents': `# a comment before any document
---
a: 1
--- # a comment on the marker
b: 2
---
---
--- {c: 3}
---

d: 4
`,
  'list': `apiVersion: v1
kind: List
items:
- apiVersion: networking.istio.io/v1
  kind: ServiceEntry
  metadata: {name: se1}
- {apiVersion: networking.istio.io/v1, kind: ServiceEntry, metadata: {name: se2}}
`,
  'trailing spaces': 'a: b   \nc:   \nd: [e]  \n',
};

/** What `kubectl get virtualservices -o yaml` writes (a List, a block scalar annotation). */
const KUBECTL = `apiVersion: v1
items:
- apiVersion: networking.istio.io/v1
  kind: VirtualService
  metadata:
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: |
        {"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"reviews"}}
    creationTimestamp: "2024-01-02T03:04:05Z"
    generation: 1
    name: reviews
    namespace: default
    resourceVersion: "12345"
  spec:
    gateways:
    - istio-system/gw
    hosts:
    - reviews.example.com
    http:
    - match:
      - uri:
          prefix: /v1/
      route:
      - destination:
          host: reviews
          subset: v2
        weight: 75
      - destination:
          host: reviews
          subset: v3
        weight: 25
      timeout: 10s
kind: List
metadata:
  resourceVersion: ""
`;

/** Files the line reader must take itself. */
const READ_BY_LINES: Record<string, string> = {
  'plain scalars in a block': `a: two words
b: b,c
c: x]y
d: http://example.com:8080/p?q=1&r
e: b#c
f: value # a comment
g: 'it''s # not a comment'
h: "double # not a comment either"
i: -dash
j: ?question
k: :colon
l: 1.0.0
m: 0x1F
n: ~
o: Null
p: "~"
q: ''
r: ""
s: .inf
t: trailing spaces   
`,
  'keys': `a b: spaced key
"quoted key": 1
'single': 2
"": empty
__proto__: {polluted: true}
constructor: c
with-dash_and.dot/slash: 3
`,
  'sequences and mappings': `top:
- a
- - b
  - c
- k: v
  k2: [x, {y: z}]
- 
  nested: map
-
- last
same:
- at the key's column
deeper:
    - four spaces
    - {a: 1, b: [1, 2.5, true, null, "s", 'q']}
empty:
middle: after empty
maps:
  inner:
    deep: 1
  back: 2
`,
  'documents': `# leading comment
---
a: 1

# trailing comment of the first document

--- # a comment on the marker
b: [x]
---
c: "q"
# after
`,
  'empty documents': `---
---
a: 1
---
`,
  'list': `apiVersion: v1
kind: List
items:
- apiVersion: networking.istio.io/v1
  kind: ServiceEntry
  metadata: {name: se1}
-
  apiVersion: networking.istio.io/v1
  kind: ServiceEntry
  metadata:
    name: se2
`,
  'literal block scalars': `a: |
  line one
    deeper
  # not a comment: content

  after an empty line
b: |-
  stripped
c: | # a comment on the header
  x


d:
  - |
    in a sequence
  - k: |-
      in a compact mapping
    l: after
e: |
    four spaces
      six
f: end
`,
  'kubectl': KUBECTL,
  'flow collections': `a: {}
b: []
c: {k: v, l: [1, [2, []], {}]}
d: [ spaced , items ]
e: {"q": 'v', 'r': "w"}
f: [http://x:80/y, a:b]
`,
};

/** Files in the CST corpus that are outside the line reader's subset (each on one thing it leaves to yaml). */
const OUTSIDE_LINES: Record<string, string> = {
  'block scalar last': `a: |\n  text\n`,
  'folded block scalar': `a: >\n  text\nb: 1\n`,
  'kept block scalar': `a: |+\n  text\n\nb: 1\n`,
  'block scalar indicator': `a: |2\n   text\nb: 1\n`,
  'empty block scalar': `a: |\nb: 1\n`,
  'spaces before block content': `a: |\n   \n  text\nb: 1\n`,
  'multi-line plain': `a: one\n  two\n`,
  'multi-line flow': `a: [\n  b]\n`,
  'escape': `a: "tab\\t"\n`,
  'tab': `a:\tb\n`,
  'crlf': `a: b\r\n`,
  'anchor': `a: &x 1\nb: *x\n`,
  'tag': `a: !!str 1\n`,
  'duplicate key': `a: 1\na: 2\n`,
  'duplicate flow key': `a: {b: 1, b: 2}\n`,
  'number key': `1: a\n`,
  'merge': `<<: {a: 1}\n`,
  'empty value last': `a: 1\nb:\n`,
  'empty flow value': `a: {b: }\n`,
  'flow key without value': `a: {b}\n`,
  'trailing comma': `a: [b, ]\n`,
  'root sequence': `- a\n`,
  'indented root': `  a: 1\n`,
  'bad indentation': `a:\n  b: 1\n c: 2\n`,
  'continuation': `a: b\n  c: d\n`,
  'nested map on one line': `a: b: c\n`,
  'pair in a flow sequence': `a: [b: c]\n`,
  'content on the marker line': `--- {a: 1}\n`,
  'document end': `a: 1\n...\n`,
  'directive': `%YAML 1.2\n---\na: 1\n`,
  'comment in an empty document': `---\n# c\n---\na: 1\n`,
  'flow list': `kind: List\nitems: [{a: 1}]\n`,
  'list with a null item': `kind: List\nitems:\n-\n- {a: 1}\n`,
  'key with a space before the colon': `a : b\n`,
  'sequence among keys': `a: 1\n- b\n`,
};

/**
 * A file through the line reader: each document as the Composer reads the whole file (values, errors
 * none, positions). Returns the number of documents, or undefined when the file is outside the subset.
 */
function checkLines(name: string, text: string): number | undefined {
  const documents: CstDocument[] | undefined = readBlockFile(text, new Map());
  if (documents === undefined) return undefined;
  const composed = parseAllDocuments(text, { prettyErrors: false, merge: true });
  const reference = Array.isArray(composed) ? composed : [];
  assert.equal(documents.length, reference.length, `${name}: documents`);
  documents.forEach((read, i) => {
    const document = reference[i] as Document;
    const where = `${name}, document ${i}`;
    assert.deepEqual(document.errors, [], `${where}: the line reader took a document the Composer reports`);
    const contents = document.contents;
    if (read.value === undefined) assert.ok(contents !== null && 'value' in contents && contents.value === null, `${where}: empty`);
    else {
      assert.deepStrictEqual(read.value, document.toJS(), `${where}: value`);
      assert.equal(read.nodeStart, contents?.range?.[0], `${where}: node start`);
    }
    const range = document.range as [number, number, number];
    assert.equal(read.docStart, range[0], `${where}: document start`);
    assert.equal(read.docEnd, range[2], `${where}: document end`);
    if (read.itemStarts !== undefined) {
      const items = (contents as unknown as { get(k: string, keep: true): { items: { range: number[] }[] } }).get('items', true);
      assert.deepEqual(read.itemStarts, items.items.map((item) => item.range[0]), `${where}: List items`);
    }
  });
  return documents.length;
}

/** Documents the Composer must read (constructs the CST reader leaves to it). */
const COMPOSED: Record<string, string> = {
  'anchor and alias': `a: &x [1, 2]\nb: *x\n`,
  'tag': `a: !!str 1\n`,
  'custom tag': `a: !thing {b: c}\n`,
  'explicit key': `? a\n: b\n`,
  'merge key': `base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n`,
  'complex key': `[a, b]: c\n`,
  'number key': `80: http\n`,
  'bool key': `true: yes\n`,
  'null key': `~: nothing\n`,
  'scalar document': `just a string\n`,
  'sequence document': `- a\n- b\n`,
  'tab after colon': `a:\tb\n`,
  'duplicate key': `a: 1\na: 2\n`,
  'duplicate key in flow': `m: {a: 1, a: 2}\n`,
  'nested map on key line': `a: b: c\n`,
  'bad indentation': `a:\n  b: 1\n c: 2\n`,
  'unclosed flow': `a: [1, 2\nb: 3\n`,
  'missing comma': `a: {b: 1 c: 2}\n`,
  'leading comma': `a: [, b]\n`,
  'empty flow item': `a: [b, , c]\n`,
  'pair in flow sequence': `a: [b: c]\n`,
  'unterminated quote': `a: "abc\n`,
  'bad plain start': `a: @x\n`,
  'block sequence on the marker line': `--- - a\n`,
  'key without value': `a\nb: 1\n`,
  'tab indentation': `a:\n\t- b\n`,
  'long key': `${'k'.repeat(1100)}: v\n`,
  'flow list': `{apiVersion: v1, kind: List, items: [{apiVersion: networking.istio.io/v1, kind: Gateway, metadata: {name: g}}]}\n`,
  'list with a null item': `apiVersion: v1\nkind: List\nitems:\n-\n- {apiVersion: networking.istio.io/v1, kind: Gateway, metadata: {name: g}}\n`,
};

/** Files that go to the Composer whole (their stream relates documents). */
const COMPOSED_FILES: Record<string, string> = {
  'directive': `%YAML 1.2\n---\na: 1\n`,
  'document end': `a: 1\n...\n---\nb: 2\n`,
  'tag directive': `%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n`,
  'error between documents': `a: 1\n--- ]\nb: 2\n`,
};

function* documentTokens(text: string): Generator<CST.Document> {
  for (const token of new Parser().parse(text)) if (token.type === 'document') yield token;
}

function composeAlone(token: CST.Document): Document {
  const [document] = [...new Composer({ prettyErrors: false, merge: true }).compose([token])];
  assert.ok(document);
  return document;
}

/**
 * Every document of `text`: what the CST reader gives equals the Composer's value and positions (the
 * document alone, and within the whole file). Returns how many documents the CST reader took.
 */
function checkDocuments(name: string, text: string): { read: number; composed: number } {
  const inFile = parseAllDocuments(text, { prettyErrors: false, merge: true });
  const fileDocs = Array.isArray(inFile) ? inFile : [];
  let read = 0;
  let composed = 0;
  let i = 0;
  for (const token of documentTokens(text)) {
    const fast = readCstDocument(token, new Map());
    const document = composeAlone(token);
    const fileDocument = fileDocs[i++];
    if (fast === undefined) {
      composed++;
      continue;
    }
    read++;
    const where = `${name}, document ${i - 1}`;
    assert.deepEqual(document.errors, [], `${where}: the CST reader took a document the Composer reports`);
    const contents = document.contents;
    if (fast.value === undefined) {
      assert.ok(contents !== null && 'value' in contents && contents.value === null && token.value === undefined, `${where}: empty`);
    } else {
      assert.deepStrictEqual(fast.value, document.toJS(), `${where}: value`);
      assert.deepStrictEqual(fast.value, fileDocument?.toJS(), `${where}: value within the file`);
      assert.equal(fast.nodeStart, contents?.range?.[0], `${where}: node start`);
    }
    const range = document.range as [number, number, number];
    assert.equal(fast.docStart, range[0], `${where}: document start`);
    assert.equal(fast.docEnd, range[2], `${where}: document end`);
    assert.deepEqual(fileDocument?.range, range, `${where}: the document alone and within its file`);
  }
  return { read, composed };
}

/** Every field path of a parsed value, for origin.at. */
function* fieldPaths(value: unknown, prefix: string): Generator<string> {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      yield `${prefix}[${i}]`;
      yield* fieldPaths(value[i], `${prefix}[${i}]`);
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const key of Object.keys(value)) {
      const p = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? (prefix === '' ? key : `${prefix}.${key}`) : `${prefix}[${JSON.stringify(key)}]`;
      yield p;
      yield* fieldPaths((value as Record<string, unknown>)[key], p);
    }
  }
}

/** parseManifests reading from the CST and through the Composer alone give the same resources, origins and diagnostics. */
function checkParse(files: ManifestFile[], allPaths: boolean): void {
  const options = { defaultNamespace: 'default', orderBase: 5 };
  const reference = parseManifests(files, { ...options, reader: 'composer' });
  for (const reader of ['lines', 'cst'] as const) checkParseWith(files, allPaths, parseManifests(files, { ...options, reader }), reference);
}

function checkParseWith(files: ManifestFile[], allPaths: boolean, fast: ReturnType<typeof parseManifests>, reference: ReturnType<typeof parseManifests>): void {
  assert.deepEqual(fast.diagnostics, reference.diagnostics);
  assert.equal(fast.resources.length, reference.resources.length);
  fast.resources.forEach((r, k) => {
    const ref = reference.resources[k];
    assert.ok(ref);
    assert.deepStrictEqual(r.object, ref.object);
    const a = r.origin as unknown as { range: readonly number[]; toJSON(): unknown };
    const b = ref.origin as unknown as { range: readonly number[]; toJSON(): unknown };
    assert.deepEqual(a.toJSON(), b.toJSON());
    assert.deepEqual(a.range, b.range);
    if (allPaths) for (const p of fieldPaths(r.object, '')) assert.deepEqual(r.origin.at(p), ref.origin.at(p), `${r.origin.file} ${p}`);
  });
}

function repositoryManifests(): ManifestFile[] {
  const files = repositoryYamlFiles();
  const cases = path.resolve(repoRoot, '..', 'shared', 'conformance', 'istio-gateway', 'cases.json');
  if (fs.existsSync(cases)) {
    const parsed = JSON.parse(fs.readFileSync(cases, 'utf8')) as { cases: { name: string; resources: string }[] };
    for (const c of parsed.cases) files.push({ path: c.name, text: c.resources.replace(/\$\{PORT_(\d+)\}/g, '$1') });
  }
  return files;
}

test('the tricky documents are read from the CST, with the Composer’s values and positions', () => {
  for (const [name, text] of Object.entries(READ_FROM_CST)) {
    checkLines(name, text);
    const { read, composed } = checkDocuments(name, text);
    assert.equal(composed, 0, `${name}: left to the Composer`);
    assert.ok(read > 0, name);
  }
  checkParse(Object.entries(READ_FROM_CST).map(([name, text]) => ({ path: `${name}.yaml`, text })), true);
});

test('anchors, tags, odd keys and every document the Composer reports an error in are left to the Composer', () => {
  for (const [name, text] of Object.entries(COMPOSED)) {
    const { read, composed } = checkDocuments(name, text);
    assert.equal(read, 0, `${name}: read from the CST`);
    assert.ok(composed > 0, name);
  }
  const files = [...Object.entries(COMPOSED), ...Object.entries(COMPOSED_FILES)].map(([name, text]) => ({ path: `${name}.yaml`, text }));
  checkParse(files, true);
  // Each file on its own as well: a diagnostic must name its file and line however the file was read.
  for (const file of files) checkParse([file], false);
});

test('files in the line reader’s subset are read by it, with the Composer’s values and positions', () => {
  for (const [name, text] of Object.entries(READ_BY_LINES)) assert.ok(checkLines(name, text) !== undefined, `${name}: outside the line reader's subset`);
  checkParse(Object.entries(READ_BY_LINES).map(([name, text]) => ({ path: `${name}.yaml`, text })), true);
});

test('files with anything outside the line reader’s subset are left to yaml whole', () => {
  for (const [name, text] of Object.entries({ ...OUTSIDE_LINES, ...COMPOSED, ...COMPOSED_FILES })) {
    assert.equal(checkLines(name, text), undefined, `${name}: read by the line reader`);
  }
  // And the line reader's files with one such line appended (a later document, or the last line) go whole.
  for (const [name, text] of Object.entries(READ_BY_LINES)) {
    assert.equal(checkLines(name, `${text}---\na: &x 1\n`), undefined, `${name} + an anchor`);
    assert.equal(checkLines(name, `${text.trimEnd()}\n        continued: x\n`), undefined, `${name} + a deeper line`);
  }
  checkParse(Object.entries(OUTSIDE_LINES).map(([name, text]) => ({ path: `${name}.yaml`, text })), true);
});

test('a file with a document the reader cannot take reads its other documents from the CST, in order', () => {
  const text = `apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\nmetadata: &m {name: b}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: c}\n`;
  const counts = checkDocuments('mixed', text);
  assert.deepEqual(counts, { read: 2, composed: 1 });
  checkParse([{ path: 'mixed.yaml', text }], true);
});

test('the repository’s manifests and Istio’s conformance cases read the same from the CST', () => {
  const files = repositoryManifests();
  assert.ok(files.length > 40, `found ${files.length} manifest files`);
  let read = 0;
  let byLines = 0;
  for (const file of files) {
    read += checkDocuments(file.path, file.text).read;
    byLines += checkLines(file.path, file.text) ?? 0;
  }
  assert.ok(read > 100, `documents read from the CST: ${read}`);
  assert.ok(byLines > 50, `documents read by the line reader: ${byLines}`);
  checkParse(files, true);
});

test('the scale benchmark’s config reads the same from the CST', async () => {
  const scale = (await import(pathToFileURL(path.join(repoRoot, 'bench', 'lib', 'scale-manifests.mjs')).href)) as {
    manifests(o: { hosts: number; routes: number; services: number }): ManifestFile[];
  };
  const files = scale.manifests({ hosts: 300, routes: 1500, services: 40 });
  let read = 0;
  let composed = 0;
  let byLines = 0;
  for (const file of files) {
    const counts = checkDocuments(file.path, file.text);
    read += counts.read;
    composed += counts.composed;
    byLines += checkLines(file.path, file.text) ?? 0;
  }
  assert.deepEqual({ read, composed, byLines }, { read: 341, composed: 0, byLines: 341 });
  checkParse(files, false);
});

test('generated near-YAML: whatever the line reader takes, it reads as the Composer does', () => {
  // Lines drawn from keys and values at the edges of the subset (indicators, quotes, comments, flow
  // collections, typed scalars, odd indentation); a fixed seed, so a failure is reproducible (GEN_SEED and
  // GEN_N draw other and more files by hand).
  const keys = ['a', 'b', 'kind', 'items', 'a b', '"q k"', "'s k'", '""', '-k', '?k', 'k:', '1', 'true', 'null', '<<', '__proto__', 'a#b', 'x #y', '[k]', '{k: v}', '&a k', '!t k', 'k ', '.5', '-', ':', '?', '"a":', 'ü', '"k" ', "'k'x"];
  const values = [
    'v', 'two words', 'a: b', 'a #c', 'a#c', '[a, b]', '{a: b}', '{a: b', '[a: b]', '"q"', '"q\\"x"', "'it''s'", "'x", '~', 'null', '1', '-1', '0x1F',
    '0o7', '.5', '1e3', '.nan', 'true', 'False', '-', '- x', '? x', ': x', '&a x', '*a', '!t x', '|', '>-', '@x', '`x', '%x', ',x', 'x,y', 'x]', 'x}',
    'http://a:1/b', '[]', '{}', '[ a , b ]', '{a: [b, {c: d}]}', '[a,b]', '{a:b}', '[a, ]', '{a: }', '{a}', 'a  # c', '"a" # c', '"a"x', "'a'x",
    '[a] x', '"a"#c', '[a]#c', '{a: b}#c', 'x:', 'x:y', '"#"', "'# x'", '[a, [b, [c]]]', '{"a": 1, \'b\': 2}', '[http://x, a:b]', '[a #b]', '{a: b, a: c}', '"a: b"', 'a\\b', '"é"', '',
  ];
  const indents = [0, 0, 0, 1, 2, 2, 2, 3, 4, 4, 6];
  let seed = Number(process.env.GEN_SEED ?? 20261126);
  // mulberry32: 32-bit integer arithmetic throughout (an LCG in doubles loses its low bits).
  const random = (n: number): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  // Most draws plain (so that enough files stay in the subset to test anything), the rest at the edges.
  const plainKeys = ['a', 'b', 'kind', 'items', 'name', 'spec', 'x-y', 'a.b/c'];
  const plainValues = ['v', 'two words', '1', 'true', '"q"', "'s'", '[a, b]', '{a: b}', 'http://a:1/b', '~', ''];
  const pickOne = <T>(xs: readonly T[]): T => xs[random(xs.length)] as T;
  const pick = <T>(xs: readonly T[]): T => (xs === (keys as unknown) ? pickOne(random(6) ? (plainKeys as unknown as T[]) : xs) : xs === (values as unknown) ? pickOne(random(6) ? (plainValues as unknown as T[]) : xs) : pickOne(xs));
  let taken = 0;
  let literals = 0;
  /** A mapping at `pad` with a few entries: scalars, nested mappings, sequences, block scalars, near misses. */
  const structured = (pad: string, depth: number): string => {
    let out = '';
    for (let e = 1 + random(4); e > 0; e--) {
      const key = pick(keys);
      switch (random(depth > 1 ? 3 : 6)) {
        case 0:
        case 1:
          out += `${pad}${key}: ${pick(values)}${random(5) ? '' : ' # c'}\n`;
          break;
        case 2: {
          out += `${pad}${key}: ${pick(['|', '|', '|-', '|+', '>', '|2', '| # h'])}\n`;
          const inner = pad + pick(['  ', '  ', '    ', ' ']);
          for (let c = 1 + random(3); c > 0; c--) out += `${random(6) ? inner + pick(['text', 'a: b', '# not a comment', '- x', '"q"', '  deeper']) : pick(['', '  ', `${inner}  `])}\n`;
          break;
        }
        case 3:
          out += `${pad}${key}:\n${structured(pad + pick(['  ', '  ', '    ', ' ']), depth + 1)}`;
          break;
        case 4: {
          out += `${pad}${key}:\n`;
          const items = pad + pick(['', '  ', '  ']);
          for (let k = 1 + random(3); k > 0; k--) out += random(2) ? `${items}- ${pick(values)}\n` : `${items}- ${structured(`${items}  `, depth + 1).slice(items.length + 2)}`;
          break;
        }
        default:
          out += random(2) ? `${pad}# comment\n` : '\n';
      }
    }
    return out;
  };
  for (let n = 0; n < Number(process.env.GEN_N ?? 3000); n++) {
    let text = n % 2 === 0 ? structured('', 0) + (random(3) ? '' : `---\n${structured('', 0)}`) : '';
    const lines = n % 2 === 0 ? 0 : 1 + random(8);
    for (let l = 0; l < lines; l++) {
      // Mostly the indentation of a structure (0, 2, 4), sometimes any.
      const pad = ' '.repeat(l === 0 && random(4) > 0 ? 0 : random(3) ? 2 * random(3) : pick(indents));
      switch (random(9)) {
        case 0:
        case 1:
        case 2:
          text += `${pad}${pick(keys)}: ${pick(values)}\n`;
          break;
        case 3:
          if (random(2)) text += `${pad}${pick(keys)}:\n`;
          else {
            // A block scalar header, then lines that may or may not be its content.
            text += `${pad}${random(3) ? `${pick(keys)}: ` : '- '}${pick(['|', '|', '|', '|-', '|-', '| # h', '|+', '|2', '>', '|#h', '|-  '])}\n`;
            for (let c = 1 + random(3); c > 0; c--) text += `${pad}${pick(['  ', '  ', '  ', '   ', ' ', '    ', ''])}${pick(['text', 'a: b', '# not a comment', '- x', '', '   ', '---', '"q"'])}\n`;
          }
          break;
        case 4:
          text += `${pad}- ${pick(values)}\n`;
          break;
        case 5:
          text += `${pad}- ${pick(keys)}: ${pick(values)}\n`;
          break;
        case 6:
          text += [`${pad}-\n`, `${pad}# comment\n`, `${pad}- # c\n`, `${pad}- - ${pick(values)}\n`][random(4)];
          break;
        case 7:
          text += random(3) ? '---\n' : '\n';
          break;
        default:
          text += `${pad}${pick(keys)}: ${pick(values)} # c\n`;
      }
    }
    if (checkLines(`generated ${n}: ${JSON.stringify(text)}`, text) !== undefined) {
      taken++;
      if (/[:-] \|/.test(text)) literals++;
    }
  }
  // Most draws hold something outside the subset; enough must be inside for this to test anything.
  if (process.env.GEN_N) console.log(`taken ${taken}, with a block scalar ${literals}`);
  assert.ok(taken > 300 && literals > 20, `files the line reader took: ${taken}, with a block scalar: ${literals}`);
});
