// Test support: collects a source's emits and waits for them by condition, never by fixed sleeps.
import type { SourceUpdate } from '../../control/source.js';

export class UpdateQueue {
  readonly all: SourceUpdate[] = [];
  #waiters: Array<() => void> = [];

  readonly emit = (update: SourceUpdate): void => {
    this.all.push(update);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  };

  /** Resolves with the first update after index `after` satisfying `pred`; rejects after `timeoutMs`. */
  async next(after: number, pred: (u: SourceUpdate) => boolean = () => true, timeoutMs = 5000): Promise<SourceUpdate> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = after; i < this.all.length; i++) {
        const u = this.all[i]!;
        if (pred(u)) return u;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching update within ${timeoutMs} ms (${this.all.length} updates seen)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

export function names(u: SourceUpdate): string[] {
  return u.resources.map((r) => r.object.metadata.name);
}

/** A minimal manifest of a kind Gatehouse reads; the name is what the tests look for. */
export function serviceEntry(name: string, extra = ''): string {
  return [
    'apiVersion: networking.istio.io/v1',
    'kind: ServiceEntry',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  hosts: [${name}.example.com]`,
    '  ports:',
    '    - number: 80',
    '      name: http',
    '      protocol: HTTP',
    `  resolution: DNS${extra}`,
    '',
  ].join('\n');
}
