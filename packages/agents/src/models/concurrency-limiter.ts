import { checkInt } from '@agent-team/core';
import { AbortError } from '@agent-team/core';

/**
 * A counting semaphore. One is shared per provider and base URL, so a wide
 * fan-out (fifty MoA proposals at once) queues here instead of stampeding the
 * provider into 429s.
 */
export class ConcurrencyLimiter {
  private inFlight = 0;
  private readonly queue: Array<{ grant: () => void }> = [];

  constructor(private max: number) {
    checkInt('maxConcurrency', max, { min: 1 });
  }

  get limit(): number {
    return this.max;
  }

  /** Changes the limit; waiters are let in at once if it grew. */
  setLimit(max: number): void {
    checkInt('maxConcurrency', max, { min: 1 });
    this.max = max;
    this.drain();
  }

  get active(): number {
    return this.inFlight;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Waits for a slot. Resolves to a release function (safe to call twice);
   * rejects with {@link AbortError} if `signal` aborts while waiting, and then
   * holds no slot.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new AbortError());
    if (this.inFlight < this.max && this.queue.length === 0) {
      this.inFlight++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.inFlight++;
          resolve(this.releaser());
        },
      };
      const onAbort = () => {
        const index = this.queue.indexOf(entry);
        if (index >= 0) this.queue.splice(index, 1);
        reject(new AbortError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(entry);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
      this.drain();
    };
  }

  private drain(): void {
    while (this.inFlight < this.max && this.queue.length > 0) {
      this.queue.shift()?.grant();
    }
  }
}

const shared = new Map<string, ConcurrencyLimiter>();

/**
 * The limiter shared by every model that talks to `key` (provider + base URL).
 * When models ask for different limits on the same key, the one created last sets it.
 */
export function sharedLimiter(key: string, max: number): ConcurrencyLimiter {
  let limiter = shared.get(key);
  if (!limiter) {
    limiter = new ConcurrencyLimiter(max);
    shared.set(key, limiter);
  } else if (limiter.limit !== max) {
    limiter.setLimit(max);
  }
  return limiter;
}
