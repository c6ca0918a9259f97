// The interval bench/floor.mjs prints beside its paired ratio decides whether a proxy is "resolvably" cheaper
// than the floor: it must be the sign test's, whose ranks statistics tables give.
import { test } from 'node:test';
import assert from 'node:assert/strict';

interface Stats {
  median(xs: number[]): number | undefined;
  medianInterval(xs: number[]): [number, number] | undefined;
  signTestRank(n: number): number;
  theilSen(xs: number[], ys: number[]): { slope: number; intercept: number } | undefined;
}

const stats = (await import(new URL('../../../bench/lib/stats.mjs', import.meta.url).href)) as Stats;

test('the 95% interval of a median uses the sign test ranks of the statistics tables', () => {
  // n → k: the interval is the k-th smallest to the k-th largest (e.g. Conover, Practical Nonparametric Statistics).
  const table: [number, number][] = [[6, 1], [8, 1], [9, 2], [10, 2], [12, 3], [15, 4], [20, 6], [21, 6], [25, 8], [30, 10], [40, 14], [60, 22]];
  for (const [n, k] of table) assert.equal(stats.signTestRank(n), k, `n = ${n}`);
  assert.equal(stats.signTestRank(5), 0, 'five rounds cannot give a 95% interval');
});

test('the interval is read off the sorted rounds, ignoring what is not a number', () => {
  const rounds = [1.2, 0.9, 1.05, 1.1, 0.95, 1.0, 1.15, 1.08, 1.02, 0.98, NaN, 1.12, 1.03, 1.07, 1.01, 0.97, 1.04, 1.06, 1.09, 0.99, 1.11, 1.13];
  // 21 finite values: the 6th smallest and the 6th largest.
  const sorted = rounds.filter(Number.isFinite).sort((a, b) => a - b);
  assert.equal(sorted.length, 21);
  assert.deepEqual(stats.medianInterval(rounds), [sorted[5], sorted[15]]);
  assert.equal(stats.median(rounds), sorted[10]);
  assert.equal(stats.medianInterval([1, 2, 3, 4, 5]), undefined);
  assert.equal(stats.median([]), undefined);
});

test('the interval covers the median in about 95% of samples or more', () => {
  // A deterministic generator: the check cannot flake, and a wrong rank (too narrow) fails it.
  let seed = 12345;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  let covered = 0;
  const trials = 2000;
  for (let t = 0; t < trials; t++) {
    // Skewed rounds whose true median is 1.0 (a monotone map of a uniform that sends 0.5 to 1): a short
    // tail below, a long one above, as CPU times are.
    const xs = Array.from({ length: 21 }, () => {
      const u = next();
      return u < 0.5 ? 1 - (0.5 - u) * 0.2 : 1 + (u - 0.5) * 2;
    });
    const [lo, hi] = stats.medianInterval(xs) as [number, number];
    if (lo <= 1 && hi >= 1) covered++;
  }
  // Exact coverage for n = 21, k = 6 is 97.3%; a rank of 7 would give 92.2%, of 8 81.1%.
  assert.ok(covered / trials > 0.955, `covered ${covered} of ${trials}`);
});

test('the Theil–Sen line is the median pairwise slope, and one wild round does not move it', () => {
  const ts = stats.theilSen;
  // y = 1 + 0.5 x exactly, then the same with one round far off the line.
  const x = [0, 1, 2, 3, 4, 5, 6];
  const y = x.map((v) => 1 + 0.5 * v);
  assert.deepEqual(ts(x, y), { slope: 0.5, intercept: 1 });
  const wild = [...y];
  wild[6] = 40;
  const fit = ts(x, wild)!;
  assert.ok(Math.abs(fit.slope - 0.5) < 1e-9 && Math.abs(fit.intercept - 1) < 1e-9, JSON.stringify(fit));
  // Least squares would not hold: its slope through these points is far from 0.5.
  const mx = x.reduce((a, b) => a + b) / x.length;
  const my = wild.reduce((a, b) => a + b) / x.length;
  const ls = x.reduce((a, v, i) => a + (v - mx) * (wild[i]! - my), 0) / x.reduce((a, v) => a + (v - mx) ** 2, 0);
  assert.ok(ls > 2, `least squares slope ${ls}`);
  assert.equal(ts([1, 2], [1, 2]), undefined);
  assert.equal(ts([1, 1, 1], [1, 2, 3]), undefined);
});
