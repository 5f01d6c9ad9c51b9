import { AbortError } from '@agent-team/core';
import { ModelTimeoutError } from './errors.js';

/**
 * One call's lifetime: the caller's AbortSignal and the call's deadline merged
 * into one signal that every await inside the call (HTTP request, backoff
 * sleep, concurrency queue, stream read) listens to. It remembers which of the
 * two fired, so the caller gets a {@link ModelTimeoutError} for a deadline and
 * core's {@link AbortError} for an abort.
 */
export class CallScope {
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout> | undefined;
  private readonly deadline: number;
  private timedOutFlag = false;

  constructor(
    private readonly userSignal: AbortSignal | undefined,
    readonly timeoutMs: number,
    private readonly describe: { provider: string; modelId: string; hint?: string },
  ) {
    this.deadline = Date.now() + timeoutMs;
    if (userSignal?.aborted) {
      this.controller.abort(userSignal.reason);
    } else {
      userSignal?.addEventListener('abort', this.onUserAbort, { once: true });
    }
    if (Number.isFinite(timeoutMs) && !this.controller.signal.aborted) {
      this.timer = setTimeout(() => {
        this.timedOutFlag = true;
        this.controller.abort(new Error(`timeout after ${timeoutMs} ms`));
      }, Math.max(0, timeoutMs));
    }
  }

  private readonly onUserAbort = (): void => {
    this.controller.abort(this.userSignal?.reason);
  };

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get timedOut(): boolean {
    return this.timedOutFlag;
  }

  /** True once the caller aborted or the deadline passed. */
  get done(): boolean {
    return this.controller.signal.aborted;
  }

  remainingMs(): number {
    return Math.max(0, this.deadline - Date.now());
  }

  /** The error that explains why the scope ended, or undefined while it runs. */
  endError(): ModelTimeoutError | AbortError | undefined {
    if (!this.done) return undefined;
    if (this.timedOutFlag) {
      const { provider, modelId, hint } = this.describe;
      return new ModelTimeoutError(
        `${modelId} did not answer within ${this.timeoutMs} ms (timeoutMs)${hint ? `; ${hint}` : ''}: ` +
          'raise timeoutMs for long answers, or check that the server is reachable',
        { provider, modelId, timeoutMs: this.timeoutMs },
      );
    }
    return new AbortError(`the call to ${this.describe.modelId} was aborted`);
  }

  throwIfDone(): void {
    const error = this.endError();
    if (error) throw error;
  }

  /** Ends the scope early (a stream consumer stopped reading) so the HTTP request is torn down. */
  cancel(): void {
    if (!this.controller.signal.aborted) this.controller.abort(new Error('cancelled by the consumer'));
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.userSignal?.removeEventListener('abort', this.onUserAbort);
  }
}
