// The default access-log sink batches lines (stdout to a pipe is synchronous) and flushes them on a
// short timer, when the batch is large, and on demand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStdoutSink } from '../../gateway/telemetry/stdout-sink.js';
import { waitFor } from './support/wait.js';

test('lines are written in batches, in order, and none is lost', async () => {
  const writes: string[] = [];
  const sink = createStdoutSink({ write: (chunk: Buffer | string) => writes.push(chunk.toString()) });
  sink.write('one\n');
  sink.write('two\n');
  assert.equal(writes.length, 0, 'written synchronously per line');
  await waitFor(() => writes.length === 1, 'the timed flush');
  assert.equal(writes[0], 'one\ntwo\n');

  const big = 'x'.repeat(1000) + '\n';
  for (let i = 0; i < 70; i++) sink.write(big);
  assert.equal(writes.length, 2, 'a large batch is flushed without waiting for the timer');
  sink.write('tail\n');
  sink.flush();
  assert.equal(writes.join(''), 'one\ntwo\n' + big.repeat(70) + 'tail\n');
});

test('request bytes above 0x7f are logged as the client sent them, and a line larger than a batch arrives intact', () => {
  const writes: Buffer[] = [];
  const sink = createStdoutSink({ write: (chunk: Buffer | string) => writes.push(Buffer.from(chunk as Buffer)) });
  // node decodes request bytes as latin1: a UTF-8 path and user agent reach the formatter in that form.
  const sent = Buffer.from('"GET /caf\u00e9 HTTP/1.1" "agent \u2603"\n', 'utf8');
  const asDecoded = sent.toString('latin1');
  const huge = 'y'.repeat(70 * 1024) + '\n';
  sink.write(asDecoded);
  sink.write(huge);
  sink.write(asDecoded);
  sink.flush();
  assert.deepEqual(Buffer.concat(writes), Buffer.concat([sent, Buffer.from(huge), sent]));
});
