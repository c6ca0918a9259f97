// `--workers N`: one process per core unless told, 1 means the single process, nonsense is a usage error.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { parseServeArgs } from '../../cli/args.js';
import { ErrCode, GatehouseError } from '../../core/errors.js';

test('--workers defaults to the number of cores and takes 1..256', () => {
  assert.equal(parseServeArgs(['--config', 'x']).workers, availableParallelism());
  assert.equal(parseServeArgs(['--config', 'x', '--workers', '1']).workers, 1);
  assert.equal(parseServeArgs(['--config', 'x', '--workers=3']).workers, 3);
  for (const bad of ['0', '-1', '1.5', 'two', '257']) {
    assert.throws(
      () => parseServeArgs(['--config', 'x', `--workers=${bad}`]),
      (e: unknown) => e instanceof GatehouseError && e.code === ErrCode.USAGE && /--workers/.test(e.message),
      bad,
    );
  }
});
