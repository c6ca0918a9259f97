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
