import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createControlPlane } from '../../control/index.js';
import { createDirectorySource } from '../../control/sources/directory.js';
import type { Snapshot } from '../../core/snapshot.js';
import { waitFor } from '../support/wait.js';
import { DEMO_DIR, compileOptions } from './demo-manifests.js';

async function metricValue(registry: Registry, name: string): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  assert.ok(metric, `metric ${name} registered`);
  return (metric.values as Array<{ value: number; metricName?: string }>)
    .filter((v) => !v.metricName || v.metricName === name || v.metricName === `${name}_count`)
    .reduce((sum, v) => sum + v.value, 0);
}

function setup(publishImpl?: (s: Snapshot) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-control-'));
  cpSync(DEMO_DIR, dir, { recursive: true, filter: (src) => !src.endsWith('.md') });
  const published: Snapshot[] = [];
  const logs: Array<[string, string]> = [];
  const registry = new Registry();
  const control = createControlPlane({
    sources: [createDirectorySource(dir, { defaultNamespace: 'default' })],
    compile: compileOptions,
    debounce: { quietMs: 20, maxDelayMs: 200 },
    publish: async (s) => {
      if (publishImpl) await publishImpl(s);
      published.push(s);
    },
    registry,
    log: (level, message) => void logs.push([level, message]),
  });
  return { dir, published, logs, registry, control };
}

test('a bad manifest is rejected and counted while the live snapshot stays; the fix publishes', async () => {
  const { dir, published, logs, registry, control } = setup();
  try {
    await control.start();
    assert.equal(published.length, 1, 'start resolves after the first build was published');
    assert.equal(control.status().live?.version, 1);
    assert.equal(await metricValue(registry, 'gatehouse_config_published_total'), 1);
    assert.ok((await metricValue(registry, 'gatehouse_config_last_published_timestamp_seconds')) > 1_600_000_000);
    assert.equal(await metricValue(registry, 'gatehouse_config_build_duration_seconds'), 1, 'one build observed');

    const vsFile = join(dir, 'virtualservice.yaml');
    const good = readFileSync(vsFile, 'utf8');
    writeFileSync(vsFile, good.replace('weight: 90', 'weight: ninety'));
    await waitFor(() => control.status().rejectedTotal === 1, { timeoutMs: 5000, what: 'the rejection' });
    const status = control.status();
    assert.equal(status.live, published[0], 'the previous snapshot stays live');
    assert.equal(published.length, 1, 'nothing published');
    assert.ok(status.lastRejection && status.lastRejection.diagnostics.some((d) => d.severity === 'error'));
    assert.equal(await metricValue(registry, 'gatehouse_config_rejected_total'), 1);
    const errorLine = logs.find(([level, m]) => level === 'error' && m.startsWith(`${vsFile}:`));
    assert.ok(errorLine, `a file:line:col error line for ${vsFile} in ${JSON.stringify(logs)}`);
    assert.match(errorLine[1], /^.+:\d+:\d+: GH_CFG_\w+ /);

    writeFileSync(vsFile, good.replace('weight: 90', 'weight: 85').replace('weight: 10', 'weight: 15'));
    await waitFor(() => control.status().publishedTotal === 2, { timeoutMs: 5000, what: 'the fix to publish' });
    assert.equal(control.status().live?.version, 2);
    assert.equal(control.status().lastRejection, undefined, 'a publish clears the last rejection');
    assert.equal(published.length, 2);
    assert.equal(await metricValue(registry, 'gatehouse_config_published_total'), 2);
  } finally {
    await control.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a snapshot the data plane refuses counts as a rejection and leaves the live one serving', async () => {
  let refuse = false;
  const { dir, published, registry, control } = setup(async () => {
    if (refuse) throw new Error('listen EADDRINUSE 0.0.0.0:443');
  });
  try {
    await control.start();
    assert.equal(control.status().live?.version, 1);
    refuse = true;
    const vsFile = join(dir, 'virtualservice.yaml');
    writeFileSync(vsFile, readFileSync(vsFile, 'utf8').replace('timeout: 5s', 'timeout: 7s'));
    await waitFor(() => control.status().rejectedTotal === 1, { timeoutMs: 5000, what: 'the refusal' });
    assert.equal(control.status().live, published[0]);
    assert.match(control.status().lastRejection?.publishError ?? '', /EADDRINUSE/);
    assert.equal(await metricValue(registry, 'gatehouse_config_rejected_total'), 1);
  } finally {
    await control.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an invalid configuration at start is rejected, start still resolves, and nothing is live', async () => {
  const { dir, published, control } = setup();
  try {
    writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: v1\nkind: [unclosed\n');
    await control.start();
    assert.equal(published.length, 0);
    assert.equal(control.status().live, undefined);
    assert.equal(control.status().rejectedTotal, 1);
    rmSync(join(dir, 'broken.yaml'));
    await waitFor(() => control.status().live !== undefined, { timeoutMs: 5000, what: 'the first snapshot' });
    assert.equal(control.status().live?.version, 1);
  } finally {
    await control.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('start fails with GH_ERR_CONFIG_DIR when the config directory does not exist', async () => {
  const registry = new Registry();
  const control = createControlPlane({
    sources: [createDirectorySource(join(tmpdir(), 'gatehouse-no-such-dir-' + process.pid), { defaultNamespace: 'default' })],
    compile: compileOptions,
    publish: async () => {},
    registry,
    log: () => {},
  });
  await assert.rejects(control.start(), { code: 'GH_ERR_CONFIG_DIR' });
  await control.stop();
});
