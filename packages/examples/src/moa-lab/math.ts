/**
 * Exact expected accuracies for the synthetic proposers, so measured results
 * can be compared with what the math says (within 3 standard errors).
 */
import type { ErrorModel } from './synthetic.js';

export function binomialTail(n: number, p: number, atLeast: number): number {
  let total = 0;
  for (let k = atLeast; k <= n; k++) total += choose(n, k) * p ** k * (1 - p) ** (n - k);
  return total;
}

function choose(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/**
 * Probability that a plurality vote picks the right option, proposers
 * independent with accuracies `p`, wrong answers per `errors`, ties broken
 * uniformly (as a shuffled first-occurrence tie-break does).
 */
export function pluralityAccuracyIndependent(p: readonly number[], errors: ErrorModel): number {
  // Option 0 is right; under "distractor" every wrong answer is option 1.
  const wrongDist = errors === 'distractor' ? [0, 1, 0, 0] : [0, 1 / 3, 1 / 3, 1 / 3];
  let total = 0;
  const counts = [0, 0, 0, 0];
  const walk = (i: number, prob: number) => {
    if (prob === 0) return;
    if (i === p.length) {
      const max = Math.max(...counts);
      const tied = counts.filter((c) => c === max).length;
      if (counts[0] === max) total += prob / tied;
      return;
    }
    const pi = p[i] as number;
    for (let option = 0; option < 4; option++) {
      const q = option === 0 ? pi : (1 - pi) * (wrongDist[option] as number);
      if (q === 0) continue;
      counts[option] = (counts[option] as number) + 1;
      walk(i + 1, prob * q);
      counts[option] = (counts[option] as number) - 1;
    }
  };
  walk(0, 1);
  return total;
}

/**
 * The same when, on a share `c` of the items, all proposers share one draw
 * (right when it falls under their accuracy; wrong together otherwise).
 */
export function pluralityAccuracy(p: readonly number[], errors: ErrorModel, correlation = 0): number {
  const independent = pluralityAccuracyIndependent(p, errors);
  if (correlation === 0) return independent;
  // Shared draw u: proposer i is right iff u < p_i; the wrong ones agree on one option.
  const cuts = [0, ...[...p].sort((a, b) => a - b), 1];
  let shared = 0;
  for (let j = 0; j + 1 < cuts.length; j++) {
    const lo = cuts[j] as number;
    const hi = cuts[j + 1] as number;
    if (hi <= lo) continue;
    const mid = (lo + hi) / 2;
    const right = p.filter((pi) => mid < pi).length;
    const wrong = p.length - right;
    shared += (hi - lo) * (right > wrong ? 1 : right === wrong ? 0.5 : 0);
  }
  return correlation * shared + (1 - correlation) * independent;
}

/** Standard error of a proportion measured over `n` trials. */
export function standardError(p: number, n: number): number {
  return Math.sqrt((p * (1 - p)) / n);
}

/** Expected recall and false claims per item of a threshold vote over n proposers. */
export function factsExpected(n: number, recall: number, falseRate: number, distractors: number, threshold: number) {
  const keepGold = binomialTail(n, recall, threshold);
  const keepFalse = binomialTail(n, falseRate, threshold);
  return { recall: keepGold, falsePerItem: distractors * keepFalse, keepFalse };
}
