// Starts a DataPlane in-process on 127.0.0.1 with every Gateway port mapped to an ephemeral port.
import { Registry } from 'prom-client';
import type { Snapshot } from '../../../core/snapshot.js';
import { createDataPlane, type DataPlaneInternals, type EdgePolicy } from '../../../gateway/index.js';
import type { DataPath } from '../../../gateway/listeners/mount.js';

export interface TestPlane {
  readonly plane: DataPlaneInternals;
  readonly registry: Registry;
  readonly accessLog: string[];
  readonly logs: string[];
  /** The ephemeral port bound for a Gateway port. */
  port(gatewayPort: number): number;
  close(): Promise<void>;
}

export async function startPlane(
  first: Snapshot,
  opts: { format?: 'text' | 'json' | 'off'; dataPath?: DataPath; portMap?: Map<number, number>; edge?: Partial<EdgePolicy> } = {},
): Promise<TestPlane> {
  const registry = new Registry();
  const accessLog: string[] = [];
  const logs: string[] = [];
  const portMap = opts.portMap ?? new Map(first.listeners.map((l) => [l.port, 0]));
  const plane = createDataPlane({
    bindAddress: '127.0.0.1',
    portMap,
    registry,
    accessLogFormat: opts.format ?? 'text',
    accessLogSink: (line) => accessLog.push(line),
    log: (level, message) => logs.push(`${level}: ${message}`),
    retireGraceMs: 2_000,
    ...(opts.dataPath ? { dataPath: opts.dataPath } : {}),
    ...(opts.edge ? { edge: opts.edge } : {}),
  });
  await plane.apply(first);
  return {
    plane,
    registry,
    accessLog,
    logs,
    port(gatewayPort) {
      const p = plane.boundPort(gatewayPort);
      if (p === undefined) throw new Error(`Gateway port ${gatewayPort} is not bound`);
      return p;
    },
    close: () => plane.drain(500),
  };
}
