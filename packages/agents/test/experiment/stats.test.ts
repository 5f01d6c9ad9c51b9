import { describe, expect, it } from 'vitest';
import { holmAdjust, mcnemarExact, pairedDifferenceInterval, percentile, wilsonInterval } from '../../src/experiment/stats.js';

describe('experiment statistics', () => {
  it('Wilson score interval matches published values', () => {
    // Newcombe (1998), table I: 81/263 -> 0.2553-0.3662; and the textbook 8/10 -> 0.4902-0.9433.
    const [lo1, hi1] = wilsonInterval(81, 263);
    expect(lo1).toBeCloseTo(0.2553, 4);
    expect(hi1).toBeCloseTo(0.3662, 4);
    const [lo2, hi2] = wilsonInterval(8, 10);
    expect(lo2).toBeCloseTo(0.4902, 4);
    expect(hi2).toBeCloseTo(0.9433, 4);
    // The ends touch 0 and 1 exactly, and stay inside them.
    expect(wilsonInterval(0, 10)[0]).toBe(0);
    expect(wilsonInterval(0, 10)[1]).toBeCloseTo(0.2775, 4);
    expect(wilsonInterval(10, 10)).toEqual([expect.closeTo(0.7225, 4), 1]);
    expect(wilsonInterval(0, 0)).toEqual([0, 1]);
    expect(() => wilsonInterval(3, 2)).toThrow(RangeError);
  });

  it("McNemar's exact test is the two-sided binomial test on the discordant pairs", () => {
    expect(mcnemarExact(0, 0)).toBe(1);
    expect(mcnemarExact(0, 5)).toBeCloseTo(2 / 32, 12);
    expect(mcnemarExact(9, 1)).toBeCloseTo((2 * (1 + 10)) / 1024, 12);
    expect(mcnemarExact(3, 3)).toBe(1);
    expect(mcnemarExact(2, 8)).toBeCloseTo((2 * (1 + 10 + 45)) / 1024, 12);
    // Large counts do not underflow: 0 vs 2000 is about 2 * 2^-2000, a positive number or 0, never NaN.
    expect(Number.isNaN(mcnemarExact(0, 2000))).toBe(false);
    expect(mcnemarExact(1000, 1000)).toBe(1);
    expect(mcnemarExact(480, 520)).toBeGreaterThan(0.2);
  });

  it("Newcombe's paired interval matches the published example", () => {
    // Fagerland, Lydersen and Laake, Statistical Analysis of Contingency Tables (2017), chapter 8:
    // complete response before and after consolidation therapy (Cavo et al. 2012), table [[59, 6], [16, 80]]:
    // difference -0.0621, Newcombe square-and-add 95% CI -0.1186 to -0.0046.
    const [lo, hi] = pairedDifferenceInterval(59, 6, 16, 80);
    expect(lo).toBeCloseTo(-0.1186, 4);
    expect(hi).toBeCloseTo(-0.0046, 4);
    // Swapping A and B mirrors it.
    const [lo2, hi2] = pairedDifferenceInterval(59, 16, 6, 80);
    expect(lo2).toBeCloseTo(0.0046, 4);
    expect(hi2).toBeCloseTo(0.1186, 4);
    // Identical cells: an interval around 0; all of A against none of B: near +1, never past it.
    const [l0, h0] = pairedDifferenceInterval(3, 0, 0, 5);
    expect(l0).toBeLessThan(0);
    expect(h0).toBeGreaterThan(0);
    const [l1, h1] = pairedDifferenceInterval(0, 10, 0, 0);
    expect(l1).toBeGreaterThan(0.5);
    expect(h1).toBe(1);
    expect(pairedDifferenceInterval(0, 0, 0, 0)).toEqual([-1, 1]);
  });

  it('Holm adjusts step-down and keeps the input order', () => {
    const adjusted = holmAdjust([0.01, 0.04, 0.03]);
    expect(adjusted[0]).toBeCloseTo(0.03, 12);
    expect(adjusted[1]).toBeCloseTo(0.06, 12);
    expect(adjusted[2]).toBeCloseTo(0.06, 12);
    expect(holmAdjust([0.5, 0.9])).toEqual([1, 1]);
    expect(holmAdjust([])).toEqual([]);
  });

  it('nearest-rank percentiles', () => {
    const values = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 95)).toBe(10);
    expect(percentile([42], 95)).toBe(42);
    expect(percentile([], 50)).toBeNull();
  });
});
