/**
 * Statistics the benchmarks print: percentiles of sorted samples.
 */

/** The `q` quantile (0 to 1) of samples sorted in ascending order, by the nearest-rank method; 0 when there are none. */
export function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
}
