// Bounded waiting on conditions (never fixed sleeps).
import { setTimeout as delay } from 'node:timers/promises';

export async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 100_000; i++) {
    if (await predicate()) return;
    if (Date.now() > deadline) break;
    await delay(10);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
