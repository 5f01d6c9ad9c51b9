/**
 * The statistics of an experiment's summary: a Wilson score interval for
 * each cell's pass rate, McNemar's exact test for two cells run on the same
 * cases, Holm's adjustment across the comparisons, and nearest-rank
 * percentiles. All deterministic (no resampling), so a replayed run prints
 * the same numbers. Why these: docs/experiments.md.
 */

/** z for a two-sided 95% interval. */
export const Z95 = 1.959963984540054;

/**
 * Wilson score interval for `passed` successes out of `n`: unlike the normal
 * (Wald) interval it stays inside [0, 1] and keeps close to its nominal
 * coverage at small n and at rates near 0 or 1, which is where agent
 * experiments live (tens of cases, pass rates of 90%+).
 */
export function wilsonInterval(passed: number, n: number, z = Z95): [number, number] {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(passed) || passed < 0 || passed > n) {
    throw new RangeError(`wilsonInterval needs whole numbers 0 <= passed <= n, got passed=${passed}, n=${n}`);
  }
  if (n === 0) return [0, 1];
  const p = passed / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At the ends the interval touches 0 or 1 exactly; keep float noise out.
  return [passed === 0 ? 0 : Math.max(0, center - half), passed === n ? 1 : Math.min(1, center + half)];
}

/**
 * McNemar's exact test on paired binary outcomes. `onlyA`: cases that pass
 * in A and fail in B; `onlyB`: the reverse (the concordant pairs carry no
 * information about the difference). Two-sided p-value of the binomial test
 * of onlyA against onlyB + onlyA trials at 1/2: min(1, 2 P(X <= min)).
 */
export function mcnemarExact(onlyA: number, onlyB: number): number {
  if (!Number.isInteger(onlyA) || !Number.isInteger(onlyB) || onlyA < 0 || onlyB < 0) {
    throw new RangeError(`mcnemarExact needs counts >= 0, got ${onlyA} and ${onlyB}`);
  }
  const n = onlyA + onlyB;
  if (n === 0) return 1;
  const k = Math.min(onlyA, onlyB);
  // Sum of binomial(n, 1/2) probabilities 0..k, in log space so large n does not underflow.
  let logPmf = -n * Math.LN2;
  let logSum = logPmf;
  for (let i = 0; i < k; i++) {
    logPmf += Math.log((n - i) / (i + 1));
    logSum = logAddExp(logSum, logPmf);
  }
  return Math.min(1, 2 * Math.exp(logSum));
}

function logAddExp(a: number, b: number): number {
  const hi = Math.max(a, b);
  return hi + Math.log(Math.exp(a - hi) + Math.exp(b - hi));
}

/**
 * Newcombe's interval (1998, method 10: "square and add" of Wilson
 * intervals, with the correlation of the pair) for the difference of two
 * paired proportions, A's pass rate minus B's, from the four counts of the
 * cases both ran: both passed, only A, only B, neither. It is what the
 * McNemar test's p-value is about, as a size with its uncertainty; like the
 * Wilson interval it behaves at small counts and stays inside [-1, 1].
 */
export function pairedDifferenceInterval(both: number, onlyA: number, onlyB: number, neither: number, z = Z95): [number, number] {
  const n = both + onlyA + onlyB + neither;
  if (n === 0) return [-1, 1];
  const a1 = both + onlyA; // A passed
  const b1 = both + onlyB; // B passed
  const p1 = a1 / n;
  const p2 = b1 / n;
  const d = p1 - p2;
  const [l1, u1] = wilsonInterval(a1, n, z);
  const [l2, u2] = wilsonInterval(b1, n, z);
  // The correlation of the two rates (phi), with Newcombe's continuity correction toward 0.
  let phi = 0;
  const margins = a1 * (n - a1) * b1 * (n - b1);
  if (margins > 0) {
    const cross = both * neither - onlyA * onlyB;
    phi = cross > n / 2 ? (cross - n / 2) / Math.sqrt(margins) : cross < 0 ? cross / Math.sqrt(margins) : 0;
  }
  const low = d - Math.sqrt(Math.max(0, (p1 - l1) ** 2 + (u2 - p2) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2)));
  const high = d + Math.sqrt(Math.max(0, (p2 - l2) ** 2 + (u1 - p1) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1)));
  return [Math.max(-1, low), Math.min(1, high)];
}

/**
 * Holm's step-down adjustment of p-values (controls the chance of any false
 * "significant" across all comparisons); returns them in the input order.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p, i })).sort((x, y) => x.p - y.p || x.i - y.i);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(({ p, i }, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}

/** Nearest-rank percentile (p in (0, 100]) of the values, or null when there are none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile p must be in (0, 100], got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)] as number;
}

/** Rounds for the summary: stable text, no float noise. */
export function round(value: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
