// Summaries over samples and over runs. Percentiles use nearest-rank on sorted samples.

export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function summarize(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: percentile(s, 50),
    p99: percentile(s, 99),
    max: s.length ? s[s.length - 1] : Number.NaN,
  };
}

/**
 * One figure over several runs: the median of each run's value, the min, the p99 across runs
 * (with 3 runs that is the worst run), and the max. `values` are one number per run.
 */
export function acrossRuns(values) {
  const v = values.filter((x) => Number.isFinite(x));
  const s = [...v].sort((a, b) => a - b);
  return {
    runs: v.length,
    min: s.length ? s[0] : Number.NaN,
    // The true median: with an even number of runs the mean of the middle two (nearest-rank
    // took the lower one, which flattered every latency figure judged against a ≤ target).
    median:
      s.length === 0
        ? Number.NaN
        : s.length % 2
          ? s[(s.length - 1) / 2]
          : (s[s.length / 2 - 1] + s[s.length / 2]) / 2,
    p99: percentile(s, 99),
    max: s.length ? s[s.length - 1] : Number.NaN,
  };
}

export const round = (x, digits = 2) =>
  Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : null;
