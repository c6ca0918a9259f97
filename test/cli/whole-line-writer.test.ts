// Workers share one stdout pipe: each write must be whole lines and at most PIPE_BUF bytes, so the
// kernel never interleaves two workers' access-log batches mid-line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PIPE_BUF, wholeLineWriter } from '../../cli/whole-line-writer.js';

test('a 64 KiB access-log batch is written as whole lines in writes of at most PIPE_BUF bytes', () => {
  const writes: Buffer[] = [];
  const writer = wholeLineWriter({ write: (c) => writes.push(Buffer.from(c)) });
  const lines = Array.from({ length: 400 }, (_, i) => `[t] "GET /${'é'.repeat(i % 97)}${i} HTTP/1.1" 200\n`);
  const batch = lines.join('');
  // The access-log sink hands over its batches as Buffers.
  writer.write(Buffer.from(batch, 'utf8'));
  assert.ok(writes.length > 1, 'the batch is split');
  for (const w of writes) {
    assert.ok(w.length <= PIPE_BUF, `write of ${w.length} bytes`);
    assert.equal(w[w.length - 1], 0x0a, 'each write ends at a line end');
  }
  assert.equal(Buffer.concat(writes).toString('utf8'), batch, 'nothing lost, nothing reordered');
});

test('a single line longer than PIPE_BUF is written alone, whole', () => {
  const writes: string[] = [];
  const writer = wholeLineWriter({ write: (c) => writes.push(Buffer.from(c).toString()) });
  const long = `${'x'.repeat(PIPE_BUF + 10)}\n`;
  writer.write(`a\n${long}b\n`);
  assert.deepEqual(writes, ['a\n', long, 'b\n']);
});
