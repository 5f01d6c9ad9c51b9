import type { RetryPolicy } from './types.js';

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half is
 * random, so retries spread out but never come back immediately.
 * `failures` counts failed attempts so far (1 after the first failure).
 */
export function backoffDelay(policy: Required<RetryPolicy>, failures: number, random: () => number = Math.random): number {
  if (policy.baseMs <= 0) return 0;
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, failures - 1));
  const half = exp / 2;
  return Math.round(half + random() * half);
}
