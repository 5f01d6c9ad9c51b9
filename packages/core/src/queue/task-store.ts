import type {
  ClaimRef,
  ClaimRequest,
  ListFilter,
  ReapReport,
  RecoverReport,
  TaskCounts,
  TaskRecord,
  TaskSpec,
} from './types.js';

/** A successful claim: the task, and the reference that proves ownership. */
export interface ClaimGrant {
  task: TaskRecord;
  ref: ClaimRef;
  agentId: string;
  leaseMs: number;
  /** Epoch ms. */
  leaseUntil: number;
}

export interface AddOutcome {
  record: TaskRecord;
  /** False when an idempotency key matched an existing task. */
  created: boolean;
}

export interface FailInput {
  message: string;
  /** Retry (after backoff) while attempts remain. @default true */
  retryable?: boolean;
  kind?: string;
}

export interface HasWorkResult {
  /** A task this filter accepts is claimable now. */
  ready: boolean;
  /** Epoch ms when the next delayed retry becomes claimable, if any. */
  nextDueAt: number | null;
}

/**
 * The storage seam of the task queue. {@link TaskQueue} validates input,
 * fills defaults and drives heartbeats; a store makes each transition atomic
 * for its backend. Every store must pass the conformance suite in
 * `packages/core/test/conformance`.
 *
 * Concerns, in the order below: adding, the claim lifecycle, review,
 * administration, reads, maintenance, wake-ups.
 */
export interface TaskStore {
  /** `file`, `redis`, ... */
  readonly kind: string;

  /**
   * Adds validated specs atomically as a batch: an unknown dependency, a
   * cycle or an existing id rejects the whole batch and writes nothing.
   * Specs with an idempotency key that is already known yield the existing task.
   */
  add(specs: readonly TaskSpec[]): Promise<AddOutcome[]>;

  /** Claims the best ready task the filter accepts (priority, then FIFO), or null. */
  claim(request: Required<Pick<ClaimRequest, 'agentId' | 'leaseMs'>> & ClaimRequest): Promise<ClaimGrant | null>;
  /**
   * Claims up to `max` of the best ready tasks the filter accepts in one step
   * (for a worker with several slots), or none. Optional: without it,
   * {@link TaskQueue.claimMany} calls {@link claim} up to `max` times.
   */
  claimMany?(request: Required<Pick<ClaimRequest, 'agentId' | 'leaseMs'>> & ClaimRequest, max: number): Promise<ClaimGrant[]>;
  /**
   * {@link complete}, then claims up to `max` next tasks for `next` in the
   * same step (one round trip per task for a busy worker). When the complete
   * is refused (it throws), nothing is claimed. Optional: without it,
   * TaskQueue completes, then claims.
   */
  completeAndClaim?(
    ref: ClaimRef,
    result: unknown,
    options: { review?: boolean },
    next: Required<Pick<ClaimRequest, 'agentId' | 'leaseMs'>> & ClaimRequest,
    max: number,
  ): Promise<{ record: TaskRecord; next: ClaimGrant[] }>;
  /** Extends the lease; returns the new expiry. Throws LeaseLostError if the claim is gone. */
  heartbeat(ref: ClaimRef, leaseMs: number): Promise<number>;
  /** Records the result, or holds it for review when `review` is set. Fenced by the token. */
  complete(ref: ClaimRef, result: unknown, options?: { review?: boolean }): Promise<TaskRecord>;
  /** Records a failed attempt: retry after backoff, or fail for good. Fenced by the token. */
  fail(ref: ClaimRef, error: FailInput): Promise<TaskRecord>;
  /** Gives the task back without using an attempt, optionally with feedback for the next one. */
  release(ref: ClaimRef, options?: { feedback?: string }): Promise<TaskRecord>;

  /**
   * A continuation: gives the task back and makes it wait for `dependencies`
   * too (whatever their outcome); it becomes claimable again once they are
   * all final. Refused if that would close a cycle.
   */
  defer(ref: ClaimRef, dependencies: readonly string[]): Promise<TaskRecord>;

  /** Review: a held task becomes completed, and its dependents may run. */
  approve(taskId: string, options?: { agentId?: string }): Promise<TaskRecord>;
  /** Review: a held task goes back to ready with the feedback. */
  reopen(taskId: string, feedback: string): Promise<TaskRecord>;
  /** Review: a held task fails for good with the reason (its dependents follow their policy). */
  reject(taskId: string, reason: string): Promise<TaskRecord>;

  /** Cancels a task that is not final; dependents follow their policy. */
  cancel(taskId: string, reason: string): Promise<TaskRecord>;
  /** Puts a failed, blocked or cancelled task back in line with a fresh set of attempts. */
  retry(taskId: string): Promise<TaskRecord>;

  get(taskId: string): Promise<TaskRecord | null>;
  /** The current claim of a task (for the seed-style `completeTask(id, agent)`), or null. */
  claimRefOf?(taskId: string): Promise<(ClaimRef & { agentId: string }) | null>;
  list(filter?: ListFilter): Promise<TaskRecord[]>;
  counts(): Promise<TaskCounts>;
  hasWork(filter: ClaimRequest): Promise<HasWorkResult>;

  /** Takes over expired leases and requeues their tasks (attempt + 1). */
  reap(): Promise<ReapReport>;
  /** reap, plus repairs of interrupted transitions, temp-file sweep and a quarantine report. */
  recover(): Promise<RecoverReport>;

  /** A counter that moves when the store may have new work; see {@link waitForChange}. */
  changeVersion(): number;
  /**
   * Resolves when the store may have new work (a hint), after `timeoutMs`, or
   * rejects on abort; at once if `since` (from {@link changeVersion}, taken
   * before the caller last looked) is stale, so no wake-up is lost.
   * Callers re-check the queue either way.
   */
  waitForChange(timeoutMs: number, signal?: AbortSignal, since?: number): Promise<void>;

  close(): Promise<void>;
}
