// Renewal at half-life with jitter (Istio's SECRET_GRACE_PERIOD_RATIO and its jitter), driven by an
// injected clock: the tests move time, nothing waits for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority } from '../../certs/authority.js';
import { RotatingIdentity, renewalDelayMs, renewalTime, systemClock } from '../../certs/rotation.js';
import { issueWorkloadCertificate, type WorkloadCertificate } from '../../certs/workload.js';
import { FakeClock } from './support/fake-clock.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const authority = CertificateAuthority.loadOrCreate({ stateDir: join(mkdtempSync(join(tmpdir(), 'gatehouse-renew-')), 'ca') }).then((r) => r.authority);

/** Resolves with the first value `subscribe` delivers; fails after `ms` so a missing renewal cannot hang the test. */
function nextEvent<T>(subscribe: (listener: (value: T) => void) => () => void, ms = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`no event within ${ms} ms`));
    }, ms);
    const unsubscribe = subscribe((value) => {
      clearTimeout(timer);
      unsubscribe();
      resolve(value);
    });
  });
}

test('renewal is due when half the lifetime is left; the grace ratio moves it', () => {
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const cert = { notBefore: t0, notAfter: t0 + DAY, jitterRatio: 0 };
  assert.equal(renewalDelayMs({ ...cert, now: t0 }), 12 * HOUR);
  assert.equal(renewalDelayMs({ ...cert, now: t0 + 5 * HOUR }), 7 * HOUR);
  assert.equal(renewalDelayMs({ ...cert, now: new Date(t0 + 13 * HOUR) }), 0, 'overdue: at once');
  assert.equal(renewalDelayMs({ ...cert, graceRatio: 0.25, now: t0 }), 18 * HOUR, '25 % left: at 18 h');
  assert.equal(renewalDelayMs({ ...cert, graceRatio: 2, now: t0 }), 0, 'ratio clamped to the lifetime');
  assert.equal(renewalTime({ notBefore: new Date(t0), notAfter: new Date(t0 + DAY), jitterRatio: 0 }), t0 + 12 * HOUR);
});

test('jitter moves renewal by at most jitterRatio of the lifetime either way, and does move it', () => {
  const t0 = 1_000_000;
  const cert = { notBefore: t0, notAfter: t0 + DAY, now: t0 };
  // random() = 0 lowers the grace ratio (renew later), 1 raises it (renew earlier), 0.5 is the centre.
  assert.equal(renewalDelayMs({ ...cert, jitterRatio: 0.01, random: () => 0 }), 0.51 * DAY);
  assert.equal(renewalDelayMs({ ...cert, jitterRatio: 0.01, random: () => 0.5 }), 0.5 * DAY);
  assert.ok(Math.abs(renewalDelayMs({ ...cert, jitterRatio: 0.01, random: () => 0.999999 }) - 0.49 * DAY) < 1000);

  const delays: number[] = [];
  for (let i = 0; i < 1000; i++) delays.push(renewalDelayMs(cert));
  const min = Math.min(...delays);
  const max = Math.max(...delays);
  assert.ok(min >= 0.49 * DAY && max <= 0.51 * DAY, `default jitter stays within ±1 %: ${min / HOUR} h .. ${max / HOUR} h`);
  assert.ok(max - min > 0.01 * DAY, 'a thousand gateways do not all renew at the same instant');
});

test('RotatingIdentity re-issues at half-life and hands the new certificate to subscribers', async () => {
  const ca = await authority;
  const t0 = Date.now();
  const clock = new FakeClock(t0);
  const issuedAt: number[] = [];
  const errors: unknown[] = [];
  const identity = new RotatingIdentity({
    issue: (now) => {
      issuedAt.push(now);
      return issueWorkloadCertificate(ca, { namespace: 'istio-system', serviceAccount: 'gateway', ttlMs: DAY, now });
    },
    clock,
    random: () => 0.5,
    onError: (err) => errors.push(err),
  });
  const first = await identity.start();
  assert.equal(identity.current, first);
  assert.deepEqual(issuedAt, [t0]);
  const expectedRenewal = renewalTime({ notBefore: first.notBefore, notAfter: first.notAfter, jitterRatio: 0 });
  assert.equal(identity.renewAt, expectedRenewal);
  assert.ok(Math.abs(expectedRenewal - (t0 + 12 * HOUR)) < 2 * 60_000, 'about 12 h after issue');
  assert.equal(clock.pending, 1);

  // A subscriber that throws neither stops renewal nor keeps the others from hearing of it.
  identity.subscribe(() => {
    throw new Error('subscriber failure');
  });
  const seen: WorkloadCertificate[] = [];
  identity.subscribe((c) => seen.push(c));

  clock.advance(expectedRenewal - t0 - 1);
  assert.deepEqual(issuedAt, [t0], 'not a millisecond early');
  const renewed = nextEvent<WorkloadCertificate>((l) => identity.subscribe(l));
  clock.advance(1);
  const second = await renewed;
  assert.deepEqual(issuedAt, [t0, expectedRenewal]);
  assert.equal(identity.current, second);
  assert.deepEqual(seen, [second]);
  assert.notEqual(new X509Certificate(second.certPem).serialNumber, new X509Certificate(first.certPem).serialNumber);
  assert.notEqual(second.keyPem, first.keyPem);
  assert.equal(second.spiffeId, first.spiffeId);
  assert.ok(second.notAfter.getTime() > first.notAfter.getTime());
  assert.equal(identity.renewAt, renewalTime({ notBefore: second.notBefore, notAfter: second.notAfter, jitterRatio: 0 }));
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /subscriber failure/);

  identity.stop();
  assert.equal(clock.pending, 0, 'stop cancels the timer');
  clock.advance(2 * DAY);
  assert.equal(issuedAt.length, 2);
});

test('a failed renewal keeps the current certificate and retries with backoff', async () => {
  const ca = await authority;
  const t0 = Date.now();
  const clock = new FakeClock(t0);
  let failures = 0;
  const errors: unknown[] = [];
  const identity = new RotatingIdentity({
    issue: async (now) => {
      if (failures > 0) {
        failures--;
        throw new Error('CA unavailable');
      }
      return issueWorkloadCertificate(ca, { namespace: 'default', serviceAccount: 'web', ttlMs: 2 * HOUR, now });
    },
    clock,
    jitterRatio: 0,
    retryMinMs: 1000,
    retryMaxMs: 3000,
    onError: (err) => errors.push(err),
  });
  const first = await identity.start();

  failures = 3;
  const due = identity.renewAt!;
  clock.advance(due - t0);
  // Failed issues resolve asynchronously; each schedules the next retry. Wait for each, then move time.
  const retryDelays: number[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = clock.delays.length;
    await waitForTimers(clock, before);
    retryDelays.push(clock.delays.at(-1)!);
    assert.equal(identity.current, first, 'the old certificate stays in use');
    if (attempt < 2) clock.advance(clock.delays.at(-1)!);
  }
  assert.deepEqual(retryDelays, [1000, 2000, 3000], 'doubling from retryMinMs, capped at retryMaxMs');
  assert.equal(errors.length, 3);
  assert.ok(errors.every((e) => /CA unavailable/.test(String(e))));
  const renewed = nextEvent<WorkloadCertificate>((l) => identity.subscribe(l));
  clock.advance(3000);
  const next = await renewed;
  assert.notEqual(next, first);
  assert.equal(identity.current, next);
  identity.stop();
});

/** Yields to the event loop until the identity has set another timer (bounded). */
async function waitForTimers(clock: FakeClock, count: number): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (clock.delays.length > count) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('no retry was scheduled');
}

test('a renewal further away than setTimeout can wait is reached in steps, not fired early', async () => {
  const ca = await authority;
  const t0 = Date.now();
  const clock = new FakeClock(t0);
  let issued = 0;
  const identity = new RotatingIdentity({
    issue: (now) => {
      issued++;
      return issueWorkloadCertificate(ca, { namespace: 'default', serviceAccount: 'batch', ttlMs: 90 * DAY, now });
    },
    clock,
    jitterRatio: 0,
  });
  await identity.start();
  const due = identity.renewAt!;
  assert.ok(due - t0 > 44 * DAY);
  assert.equal(clock.delays.at(-1), 2 ** 31 - 1, 'capped at the largest delay setTimeout honours');
  clock.advance(2 ** 31 - 1);
  assert.equal(issued, 1, 'the capped timer re-arms instead of renewing');
  assert.equal(clock.delays.at(-1), due - clock.now());
  const renewed = nextEvent<WorkloadCertificate>((l) => identity.subscribe(l));
  clock.advance(due - clock.now());
  await renewed;
  assert.equal(issued, 2);
  identity.stop();
});

test('the system clock\'s timers do not keep the process alive', () => {
  const handle = systemClock.setTimer(() => assert.fail('must not fire'), 60_000) as NodeJS.Timeout;
  assert.equal(handle.hasRef(), false);
  systemClock.clearTimer(handle);
});
