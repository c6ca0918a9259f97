// Order statistics for the benchmarks' per-round figures.

/** The median of the finite values of `xs`; undefined when there are none. */
export function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return undefined;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/**
 * A distribution-free 95% interval for the median of `xs` (the sign test's): the k-th smallest and k-th
 * largest value, k the largest with P(Binomial(n, 1/2) < k) ≤ 2.5%. It assumes nothing about the spread of
 * the rounds, only that they are independent. Undefined below 6 values, where no such k exists.
 */
export function medianInterval(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const n = v.length;
  const k = signTestRank(n);
  return k >= 1 ? [v[k - 1], v[n - k]] : undefined;
}

/** The k of medianInterval for n values (0 when none reaches 95%). */
export function signTestRank(n) {
  let k = 0;
  let below = 0; // P(Binomial(n, 1/2) ≤ j)
  for (let j = 0; j < n; j++) {
    below += binomial(n, j) / 2 ** n;
    if (below > 0.025) break;
    k = j + 1;
  }
  return k;
}

function binomial(n, j) {
  let c = 1;
  for (let i = 1; i <= j; i++) c = (c * (n - j + i)) / i;
  return c;
}

/**
 * The Theil–Sen line through the points (xs[i], ys[i]): the median of the slopes between every pair of
 * points with different x, and the median of y − slope·x as the intercept. A single round stalled far beyond
 * the others moves it no more than any other round (unlike least squares), which is what the latency bench
 * needs to read its tail against the share of the core the hypervisor took. Undefined below 3 usable points.
 */
export function theilSen(xs, ys) {
  const pts = xs.map((x, i) => [x, ys[i]]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (pts.length < 3) return undefined;
  const slopes = [];
  for (let i = 0; i < pts.length; i++) {
    for (let j = i + 1; j < pts.length; j++) if (pts[j][0] !== pts[i][0]) slopes.push((pts[j][1] - pts[i][1]) / (pts[j][0] - pts[i][0]));
  }
  const slope = median(slopes);
  if (slope === undefined) return undefined;
  return { slope, intercept: median(pts.map(([x, y]) => y - slope * x)) };
}
