import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { createDirectorySource, isIgnoredName } from '../../control/sources/directory.js';
import { GatehouseError } from '../../core/errors.js';
import { UpdateQueue, names, serviceEntry } from './updates.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'gatehouse-dir-'));
}

test('reads every manifest under the directory in sorted relative-path order, subfolders included', async () => {
  const dir = tempDir();
  try {
    mkdirSync(join(dir, 'b-sub', 'deeper'), { recursive: true });
    writeFileSync(join(dir, 'c.yaml'), serviceEntry('c'));
    writeFileSync(join(dir, 'a.yml'), serviceEntry('a1') + '---\n' + serviceEntry('a2'));
    writeFileSync(join(dir, 'b-sub', 'deeper', 'b.yaml'), serviceEntry('b'));
    writeFileSync(join(dir, 'notes.txt'), serviceEntry('txt'));
    writeFileSync(join(dir, '.hidden.yaml'), serviceEntry('hidden'));
    writeFileSync(join(dir, 'c.yaml~'), serviceEntry('backup'));
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, '.git', 'x.yaml'), serviceEntry('git'));
    const q = new UpdateQueue();
    const source = createDirectorySource(dir, { defaultNamespace: 'team-a', orderBase: 100 });
    await source.start(q.emit);
    try {
      assert.equal(q.all.length, 1, 'start emits the initial set before resolving');
      const u = q.all[0]!;
      assert.deepEqual(names(u), ['a1', 'a2', 'b', 'c']);
      assert.deepEqual(
        u.resources.map((r) => r.origin.file),
        ['a.yml', 'a.yml', 'b-sub/deeper/b.yaml', 'c.yaml'].map((f) => join(dir, f)),
        'diagnostic paths are the directory as given joined with the relative path',
      );
      assert.deepEqual(u.resources.map((r) => r.origin.order), [100, 101, 102, 103]);
      assert.equal(u.resources[0]!.object.metadata.namespace, 'team-a');
    } finally {
      await source.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('create, change, rename, delete and new subfolders are each emitted; ignored files and identical rewrites are not', async () => {
  const dir = tempDir();
  const q = new UpdateQueue();
  const source = createDirectorySource(dir, { defaultNamespace: 'default' });
  try {
    writeFileSync(join(dir, 'one.yaml'), serviceEntry('one'));
    await source.start(q.emit);
    assert.deepEqual(names(q.all[0]!), ['one']);

    let seen = q.all.length;
    writeFileSync(join(dir, 'two.yaml'), serviceEntry('two'));
    await q.next(seen, (u) => names(u).join() === 'one,two');

    seen = q.all.length;
    writeFileSync(join(dir, 'two.yaml'), serviceEntry('two', '\n  location: MESH_EXTERNAL'));
    const changed = await q.next(seen);
    assert.equal((changed.resources[1]!.object['spec'] as { location?: string }).location, 'MESH_EXTERNAL');

    // A subfolder created after start, with a file written straight into it.
    seen = q.all.length;
    mkdirSync(join(dir, 'later', 'nested'), { recursive: true });
    writeFileSync(join(dir, 'later', 'nested', 'three.yaml'), serviceEntry('three'));
    await q.next(seen, (u) => names(u).includes('three'));
    seen = q.all.length;
    writeFileSync(join(dir, 'later', 'nested', 'three.yaml'), serviceEntry('three-b'));
    await q.next(seen, (u) => names(u).includes('three-b'));

    // Ignored names and a byte-identical rewrite, then a real change as a marker: the next update must
    // be the marker's, and must not contain anything from the ignored files.
    seen = q.all.length;
    writeFileSync(join(dir, 'one.yaml~'), serviceEntry('tilde'));
    writeFileSync(join(dir, '.dot.yaml'), serviceEntry('dot'));
    writeFileSync(join(dir, '#one.yaml#'), serviceEntry('hash'));
    writeFileSync(join(dir, 'one.yaml.swp'), serviceEntry('swp'));
    writeFileSync(join(dir, 'one.yaml'), serviceEntry('one'));
    writeFileSync(join(dir, 'marker.yaml'), serviceEntry('marker'));
    const afterIgnored = await q.next(seen);
    assert.deepEqual(names(afterIgnored), ['three-b', 'marker', 'one', 'two']);
    assert.equal(q.all.length, seen + 1, 'exactly one update for the marker');

    seen = q.all.length;
    renameSync(join(dir, 'two.yaml'), join(dir, 'zz-two.yaml'));
    const renamed = await q.next(seen, (u) => u.resources.some((r) => r.origin.file === join(dir, 'zz-two.yaml')));
    assert.ok(!renamed.resources.some((r) => r.origin.file === join(dir, 'two.yaml')));

    seen = q.all.length;
    rmSync(join(dir, 'later'), { recursive: true });
    await q.next(seen, (u) => names(u).join() === 'marker,one,two');
  } finally {
    await source.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unreadable file is an error diagnostic naming it', async () => {
  const dir = tempDir();
  const q = new UpdateQueue();
  const source = createDirectorySource(dir, { defaultNamespace: 'default' });
  try {
    // A symlink loop cannot be read even by root; a mode-000 file also fails for anyone else.
    symlinkSync('loop.yaml', join(dir, 'loop.yaml'));
    const asRoot = process.getuid?.() === 0;
    if (!asRoot) {
      writeFileSync(join(dir, 'locked.yaml'), serviceEntry('locked'));
      chmodSync(join(dir, 'locked.yaml'), 0o000);
    }
    await source.start(q.emit);
    const errors = q.all[0]!.diagnostics.filter((x) => x.severity === 'error');
    assert.ok(errors.every((d) => d.code === 'GH_CFG_READ'));
    assert.ok(errors.some((d) => /loop\.yaml/.test(d.message) && d.source?.file === join(dir, 'loop.yaml')));
    if (!asRoot) assert.ok(errors.some((d) => /locked\.yaml/.test(d.message)));
  } finally {
    await source.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a YAML syntax error is reported with the file path as the user gave the directory', async () => {
  const dir = tempDir();
  const q = new UpdateQueue();
  const source = createDirectorySource(dir, { defaultNamespace: 'default' });
  try {
    writeFileSync(join(dir, 'bad.yaml'), 'kind: [unclosed\n');
    await source.start(q.emit);
    const d = q.all[0]!.diagnostics.find((x) => x.severity === 'error');
    assert.ok(d);
    assert.equal(d.source?.file, join(dir, 'bad.yaml'));
  } finally {
    await source.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing directory fails start with GH_ERR_CONFIG_DIR; a directory removed later is an error, not an empty set', async () => {
  const dir = tempDir();
  const missing = createDirectorySource(join(dir, 'nope'), { defaultNamespace: 'default' });
  await assert.rejects(missing.start(() => {}), (err: unknown) => err instanceof GatehouseError && err.code === 'GH_ERR_CONFIG_DIR');

  const conf = join(dir, 'conf');
  mkdirSync(conf);
  writeFileSync(join(conf, 'a.yaml'), serviceEntry('a'));
  const q = new UpdateQueue();
  const source = createDirectorySource(conf, { defaultNamespace: 'default', retryMs: 50 });
  try {
    await source.start(q.emit);
    let seen = q.all.length;
    rmSync(conf, { recursive: true });
    const gone = await q.next(seen);
    assert.ok(gone.diagnostics.some((d) => d.severity === 'error' && d.code === 'GH_CFG_READ'));
    seen = q.all.length;
    mkdirSync(conf);
    writeFileSync(join(conf, 'b.yaml'), serviceEntry('b'));
    await q.next(seen, (u) => names(u).join() === 'b' && u.diagnostics.length === 0);
    seen = q.all.length;
    writeFileSync(join(conf, 'c.yaml'), serviceEntry('c'));
    await q.next(seen, (u) => names(u).join() === 'b,c');
  } finally {
    await source.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a ConfigMap-style volume (files symlinked through a swapped ..data link) is read and its swap emitted', async () => {
  const dir = tempDir();
  const q = new UpdateQueue();
  const source = createDirectorySource(dir, { defaultNamespace: 'default' });
  try {
    // What the kubelet writes: ..<timestamp>/ holds the files, ..data points at it, names point into ..data.
    mkdirSync(join(dir, '..2024_01'));
    writeFileSync(join(dir, '..2024_01', 'app.yaml'), serviceEntry('first'));
    symlinkSync('..2024_01', join(dir, '..data'));
    symlinkSync('..data/app.yaml', join(dir, 'app.yaml'));
    await source.start(q.emit);
    assert.deepEqual(names(q.all[0]!), ['first'], 'read once, through the link, not again from the dot-folders');
    assert.equal(q.all[0]!.resources[0]!.origin.file, join(dir, 'app.yaml'));

    const seen = q.all.length;
    mkdirSync(join(dir, '..2024_02'));
    writeFileSync(join(dir, '..2024_02', 'app.yaml'), serviceEntry('second'));
    symlinkSync('..2024_02', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    rmSync(join(dir, '..2024_01'), { recursive: true });
    await q.next(seen, (u) => names(u).join() === 'second');
  } finally {
    await source.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a relative --config path stays relative in diagnostics, so file:line opens from where the user ran', async () => {
  const dir = tempDir();
  const asGiven = `./${relative(process.cwd(), dir)}`;
  const q = new UpdateQueue();
  const source = createDirectorySource(asGiven, { defaultNamespace: 'default' });
  try {
    mkdirSync(join(dir, 'vs'));
    writeFileSync(join(dir, 'vs', 'bad.yaml'), 'kind: [unclosed\n');
    await source.start(q.emit);
    const file = q.all[0]!.diagnostics.find((d) => d.severity === 'error')?.source?.file;
    assert.equal(file, join(relative(process.cwd(), dir), 'vs', 'bad.yaml'));
    assert.ok(!isAbsolute(file!));
  } finally {
    await source.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('editor temp names are ignored', () => {
  for (const name of ['a.yaml~', '#a.yaml#', '.#a.yaml', 'a.yaml.swp', '.a.yaml.swx', '4913', 'a.tmp', '.hidden.yaml']) {
    assert.equal(isIgnoredName(name), true, name);
  }
  for (const name of ['a.yaml', 'gateway.yml', '4913.yaml']) assert.equal(isIgnoredName(name), false, name);
});
