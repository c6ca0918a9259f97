// The control plane's public face. CONTRACT (owned by the control-plane helper; shape fixed):
// sources → store (a slice per source) → debounce (100 ms quiet, 1 s cap, one build in flight)
// → build (parse already done by sources; validate → compile → hash → freeze) → publish.
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { formatDiagnostic } from '../core/diagnostics.js';
import type { Diagnostic } from '../core/diagnostics.js';
import type { Snapshot } from '../core/snapshot.js';
import type { CompileOptions } from '../routes/compile/index.js';
import { buildSnapshot } from './build.js';
import { createDebouncer } from './debounce.js';
import { SecretHistory } from './secret-history.js';
import type { ConfigSource } from './source.js';
import { ConfigStore } from './store.js';

export interface ControlPlaneOptions {
  readonly sources: readonly ConfigSource[];
  readonly compile: CompileOptions;
  /** Defaults: quietMs 100, maxDelayMs 1000. */
  readonly debounce?: { readonly quietMs: number; readonly maxDelayMs: number };
  /**
   * Hands a new snapshot to the data plane. A rejection (e.g. a port that cannot bind) counts as a
   * rejected config: the previous snapshot stays live.
   */
  readonly publish: (snapshot: Snapshot) => Promise<void>;
  /** Where gatehouse_config_* metrics are registered. */
  readonly registry: Registry;
  readonly log: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
}

export interface Rejection {
  readonly at: string;
  readonly diagnostics: readonly Diagnostic[];
  /** Set when the data plane refused the snapshot (bind failure), rather than validation. */
  readonly publishError?: string;
}

export interface ControlStatus {
  readonly live: Snapshot | undefined;
  /** The most recent rejected candidate, cleared when a later candidate is published. */
  readonly lastRejection: Rejection | undefined;
  readonly rejectedTotal: number;
  readonly publishedTotal: number;
}

export interface ControlPlane {
  /** Starts every source and resolves after the first build has been published or rejected. */
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): ControlStatus;
}

export function createControlPlane(options: ControlPlaneOptions): ControlPlane {
  const { log } = options;
  const metrics = controlMetrics(options.registry);
  const store = new ConfigStore(options.sources.length);
  const secretHistory = new SecretHistory();
  let live: Snapshot | undefined;
  let lastRejection: Rejection | undefined;
  let rejectedTotal = 0;
  let publishedTotal = 0;
  /** Emits before the first build only fill the store; afterwards they schedule builds. */
  let building = false;
  let stopped = false;

  const debouncer = createDebouncer({
    quietMs: options.debounce?.quietMs ?? 100,
    maxDelayMs: options.debounce?.maxDelayMs ?? 1000,
    run: buildAndPublish,
    onError: (err) => log('error', `config build failed unexpectedly: ${errorText(err)}`),
  });

  function reject(rejection: Rejection): void {
    lastRejection = rejection;
    rejectedTotal++;
    metrics.rejected.inc();
    const why = rejection.publishError ? `the data plane refused it: ${rejection.publishError}` : 'invalid configuration';
    log('error', `config rejected (${why}); ${live ? `snapshot v${live.version} stays live` : 'nothing is live yet'}`);
    for (const d of rejection.diagnostics) log(LOG_LEVEL[d.severity], formatDiagnostic(d));
  }

  async function buildAndPublish(): Promise<void> {
    if (stopped) return;
    const merged = store.merged();
    // A Secret that turned unusable is replaced by its last good version before anything is built.
    const held = secretHistory.apply(merged.resources, options.compile.now ?? new Date());
    const resources = held.resources;
    const diagnostics = [...merged.diagnostics, ...held.diagnostics];
    const endTimer = metrics.buildDuration.startTimer();
    const result = buildSnapshot(resources, diagnostics, options.compile, live);
    endTimer();
    if (result.ok === 'unchanged') {
      // Back to what is live (e.g. a broken edit reverted): the old rejection no longer describes the config.
      if (lastRejection) log('info', `config matches live snapshot v${live?.version ?? 0} again`);
      lastRejection = undefined;
      log('debug', 'config unchanged; nothing to publish');
      return;
    }
    if (!result.ok) {
      reject({ at: new Date().toISOString(), diagnostics: result.diagnostics });
      return;
    }
    const { snapshot } = result;
    try {
      await options.publish(snapshot);
    } catch (err) {
      reject({ at: new Date().toISOString(), diagnostics: result.diagnostics, publishError: errorText(err) });
      return;
    }
    live = snapshot;
    lastRejection = undefined;
    publishedTotal++;
    metrics.published.inc();
    metrics.lastPublished.set(Date.parse(snapshot.builtAt) / 1000);
    metrics.warnings.set(snapshot.diagnostics.length);
    // The publisher reports the config going live (cli/serve.ts): this is its control-plane side, for debugging.
    log('debug', `published snapshot v${snapshot.version} (${snapshot.hash.slice(0, 12)}) with ${resources.length} resources`);
    for (const d of snapshot.diagnostics) log('warn', formatDiagnostic(d));
  }

  const started: ConfigSource[] = [];

  return {
    async start() {
      for (const [index, source] of options.sources.entries()) {
        try {
          await source.start((update) => {
            if (stopped) return;
            store.replace(index, update);
            for (const other of options.sources) if (other !== source) other.observe?.(index, update.resources);
            if (building) debouncer.notify();
          });
        } catch (err) {
          log('error', `config source ${source.name} failed to start: ${errorText(err)}`);
          await Promise.allSettled(started.map((s) => s.stop()));
          throw err;
        }
        started.push(source);
      }
      building = true;
      await debouncer.flush();
    },
    async stop() {
      stopped = true;
      await debouncer.stop();
      await Promise.allSettled(started.map((s) => s.stop()));
    },
    status() {
      return { live, lastRejection, rejectedTotal, publishedTotal };
    },
  };
}

interface ControlMetrics {
  readonly published: Counter;
  readonly rejected: Counter;
  readonly buildDuration: Histogram;
  readonly lastPublished: Gauge;
  readonly warnings: Gauge;
}

/** Registers the gatehouse_config_* metrics, reusing ones already in the registry (one per process). */
function controlMetrics(registry: Registry): ControlMetrics {
  function reuse<T>(name: string, make: () => T): T {
    return (registry.getSingleMetric(name) as T | undefined) ?? make();
  }
  const registers = [registry];
  return {
    published: reuse(
      'gatehouse_config_published_total',
      () => new Counter({ name: 'gatehouse_config_published_total', help: 'Snapshots published to the data plane.', registers }),
    ),
    rejected: reuse(
      'gatehouse_config_rejected_total',
      () =>
        new Counter({
          name: 'gatehouse_config_rejected_total',
          help: 'Candidate configurations rejected (invalid, or refused by the data plane); the live snapshot stayed.',
          registers,
        }),
    ),
    buildDuration: reuse(
      'gatehouse_config_build_duration_seconds',
      () =>
        new Histogram({
          name: 'gatehouse_config_build_duration_seconds',
          help: 'Time to validate, compile and freeze a candidate configuration.',
          buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
          registers,
        }),
    ),
    lastPublished: reuse(
      'gatehouse_config_last_published_timestamp_seconds',
      () =>
        new Gauge({
          name: 'gatehouse_config_last_published_timestamp_seconds',
          help: 'Unix time at which the live snapshot was built.',
          registers,
        }),
    ),
    warnings: reuse(
      'gatehouse_config_warnings',
      () => new Gauge({ name: 'gatehouse_config_warnings', help: 'Warnings carried by the live snapshot.', registers }),
    ),
  };
}

const LOG_LEVEL = { error: 'error', warning: 'warn', info: 'debug' } as const;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
