import { setTimeout as delay } from 'node:timers/promises';
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

/** Resolves after `ms` of real time, or rejects with {@link AbortError} when `signal` aborts (Node's timers/promises, with this project's error). */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch (err) {
    if (signal?.aborted) throw new AbortError();
    throw err;
  }
}
