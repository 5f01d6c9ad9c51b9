import { AbortError } from './errors.js';

/**
 * The time source for leases, backoff and timestamps. Inject a {@link ManualClock}
 * in tests to expire leases without sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * Event timestamps: epoch ms with microsecond precision when `clock` is the
 * system clock (so events from several processes order well), else the
 * injected clock's time.
 */
export function eventTimestamp(clock: Clock): number {
  if (clock !== systemClock) return clock.now();
  return Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;
}

/** A clock that moves only when told to. Starts at the real time so file mtimes stay plausible. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: number = Date.now()) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  advance(ms: number): number {
    this.current += ms;
    return this.current;
  }

  set(ms: number): void {
    this.current = ms;
  }
}

/** Resolves after `ms` of real time, or rejects with {@link AbortError} when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortError());
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
