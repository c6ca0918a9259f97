// `--max-connections` and `--max-connections-per-listener` are the pod's limits: under --workers N each
// worker holds its share, so N workers refuse new connections at about the total one process would.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseServeArgs } from '../../cli/args.js';
import { workerShare } from '../../cli/worker-pool.js';
import { DEFAULT_EDGE_POLICY } from '../../gateway/edge-policy.js';

test('each of N workers gets 1/N of the connection limits, rounded up', () => {
  const options = parseServeArgs(['--config', '.', '--workers', '3', '--max-connections', '1000', '--max-connections-per-listener', '10']);
  const share = workerShare(options);
  assert.equal(share.edge.maxConnections, 334);
  assert.equal(share.edge.maxConnectionsPerListener, 4);
  assert.equal(options.edge.maxConnections, 1000, 'the primary keeps the configured totals');
});

test('the defaults are shared too, and one worker keeps the whole limit; other edge flags pass through', () => {
  const two = workerShare(parseServeArgs(['--config', '.', '--workers', '2', '--hsts', 'max-age=60']));
  assert.equal(two.edge.maxConnections, DEFAULT_EDGE_POLICY.maxConnections / 2);
  assert.equal(two.edge.maxConnectionsPerListener, DEFAULT_EDGE_POLICY.maxConnectionsPerListener / 2);
  assert.equal(two.edge.hsts, 'max-age=60');
  const one = workerShare(parseServeArgs(['--config', '.', '--workers', '1', '--max-connections', '7']));
  assert.equal(one.edge.maxConnections, 7);
});
