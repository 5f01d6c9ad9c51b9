import type { ModelError } from './errors.js';

/** How failed calls are retried. Only this policy runs: the SDK clients get `maxRetries: 0`. */
export interface RetryOptions {
  /**
   * Retries after the first attempt, for 408, 409, 429, 5xx and connection errors.
   * @default 3
   */
  maxRetries?: number;
  /**
   * First backoff delay; it doubles per retry, with jitter.
   * @default 500
   */
  initialDelayMs?: number;
  /**
   * Cap on one backoff delay.
   * @default 30000
   */
  maxDelayMs?: number;
  /**
   * Longest `Retry-After` the policy waits for; a longer one fails the call at
   * once so the team can reschedule the task rather than hold a worker idle.
   * @default 60000
   */
  maxRetryAfterMs?: number;
  /** Source of jitter, injectable for tests. @default Math.random */
  random?: () => number;
}

export const DEFAULT_MAX_RETRIES = 3;

/** HTTP statuses worth retrying: timeouts, lock conflicts, rate limits, server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

type HeaderSource = Headers | Record<string, string | string[] | undefined> | undefined | null;

function header(headers: HeaderSource, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The wait a server asked for, in ms: `retry-after-ms` (milliseconds), else
 * `Retry-After` as seconds or as an HTTP date. Undefined when absent or unparsable.
 */
export function parseRetryAfter(headers: HeaderSource, now: number = Date.now()): number | undefined {
  const ms = header(headers, 'retry-after-ms');
  if (ms !== undefined && ms.trim() !== '') {
    const value = Number(ms);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const raw = header(headers, 'retry-after')?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Number(raw) * 1000;
  const date = Date.parse(raw);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export interface RetryDecision {
  retry: boolean;
  delayMs: number;
  /** Why not, for the error message. */
  reason?: string;
}

/**
 * Whether to retry after `failures` failed attempts, and how long to wait.
 * Exponential backoff with equal jitter (half fixed, half random) unless the
 * server said how long to wait.
 */
export function decideRetry(error: ModelError, failures: number, options: RetryOptions): RetryDecision {
  const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
  if (!error.isRetryable) return { retry: false, delayMs: 0 };
  if (failures > maxRetries) {
    return { retry: false, delayMs: 0, reason: `gave up after ${failures} attempts (maxRetries ${maxRetries})` };
  }
  const maxRetryAfter = options.maxRetryAfterMs ?? 60_000;
  if (error.retryAfterMs !== undefined) {
    if (error.retryAfterMs > maxRetryAfter) {
      return {
        retry: false,
        delayMs: error.retryAfterMs,
        reason: `the server asked to wait ${Math.ceil(error.retryAfterMs / 1000)} s (Retry-After), longer than maxRetryAfterMs ${maxRetryAfter}`,
      };
    }
    return { retry: true, delayMs: error.retryAfterMs };
  }
  const base = options.initialDelayMs ?? 500;
  const cap = options.maxDelayMs ?? 30_000;
  const exp = Math.min(cap, base * 2 ** Math.max(0, failures - 1));
  const random = options.random ?? Math.random;
  return { retry: true, delayMs: Math.round(exp / 2 + random() * (exp / 2)) };
}
