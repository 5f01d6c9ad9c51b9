import { EventEmitter } from 'eventemitter3';
import type { Clock } from '../clock.js';
import { AbortError, LeaseLostError, ValidationError, describeValue, errorMessage } from '../errors.js';
import { type TaskEventListeners, emitTyped } from '../events/types.js';
import { assertValidId } from '../ids.js';
import type { Backend, EventStream } from '../backend.js';
import { FileBackend } from '../backend.js';
import { WORKSPACE_OPTIONS, Workspace, type WorkspaceOptions } from '../workspace.js';
import { checkDuration, checkOptions, rules } from '../options.js';
import { type SpecDefaults, normalizeTask } from './spec.js';
import type { ClaimGrant, TaskStore } from './task-store.js';
import type {
  ClaimFilter,
  ClaimRef,
  ClaimRequest,
  ListFilter,
  ReapReport,
  RecoverReport,
  RetryPolicy,
  TaskCounts,
  TaskInput,
  TaskRecord,
} from './types.js';

export interface TaskQueueOptions extends WorkspaceOptions {
  /** Lease length for claims. A holder must heartbeat within it. @default 30000 */
  leaseMs?: number;
  /** Default attempts per task. @default 3 */
  maxAttempts?: number;
  /** Default backoff between attempts. @default { baseMs: 500, maxMs: 30000 } */
  retry?: RetryPolicy;
  /** Heartbeat claims while they are held (every leaseMs / 3). @default true */
  autoHeartbeat?: boolean;
  /** Largest task (description + metadata), in bytes. @default 1 MiB */
  maxTaskBytes?: number;
  /** Largest result, in bytes. @default 16 MiB */
  maxResultBytes?: number;
  /** How often an idle waiter takes over expired leases. @default 1000 */
  reapIntervalMs?: number;
  /**
   * How often an idle waiter runs a full `recover()` (repairs transitions
   * interrupted longer than the transit timeout, puts back tasks that have no
   * state, sweeps temp files), so nothing stays stranded until a person runs
   * `agent-team recover`. The first runs at the first idle wait. 0 turns it off.
   * @default 60000 (the transit timeout)
   */
  autoRecoverMs?: number;
}

export interface WaitOptions {
  signal?: AbortSignal;
  /** Give up after this long. @default forever */
  timeoutMs?: number;
}

/** Seed-style status: counts by state plus `total`. */
export type QueueStatus = TaskCounts;


/**
 * A dependency-aware task queue shared by every process that opens the same
 * workspace (or backend). Claims are exclusive and leased; completing checks
 * the claim's fencing token, so a holder that lost its lease cannot overwrite
 * the result of the agent that took over.
 *
 * @example
 * const queue = TaskQueue.open({ workspace: './workspace' });
 * const research = await queue.add({ description: 'Research the problem space' });
 * await queue.add({ description: 'Write it up', dependencies: [research.id] });
 * const claim = await queue.claim({ agentId: 'worker-1' });
 * if (claim) await claim.complete('notes...');
 */
export class TaskQueue extends EventEmitter<TaskEventListeners> {
  readonly store: TaskStore;
  readonly leaseMs: number;
  private readonly defaults: SpecDefaults;
  private readonly autoHeartbeat: boolean;
  private readonly maxResultBytes: number;
  private readonly reapIntervalMs: number;
  private readonly autoRecoverMs: number;
  private lastRecover = -Infinity;
  private readonly clock: Clock;
  private readonly owned: { close(): Promise<void> } | null;
  private readonly active = new Map<string, Claim>();
  private lastReap = -Infinity;
  private closed = false;

  constructor(
    store: TaskStore,
    options: TaskQueueOptions & { clock?: Clock; events?: EventStream; owned?: { close(): Promise<void> } | null } = {},
  ) {
    super();
    checkOptions(options, TASK_QUEUE_OPTIONS);
    this.store = store;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.defaults = {
      maxAttempts: options.maxAttempts ?? 3,
      retry: { baseMs: options.retry?.baseMs ?? 500, maxMs: options.retry?.maxMs ?? 30_000 },
      maxTaskBytes: options.maxTaskBytes ?? 1024 * 1024,
    };
    this.autoHeartbeat = options.autoHeartbeat ?? true;
    this.maxResultBytes = options.maxResultBytes ?? 16 * 1024 * 1024;
    this.reapIntervalMs = options.reapIntervalMs ?? 1000;
    this.autoRecoverMs = options.autoRecoverMs ?? 60_000;
    this.clock = options.clock ?? { now: () => Date.now() };
    this.owned = options.owned ?? null;
    options.events?.on('*', (event) => {
      if (event.type.startsWith('task.')) emitTyped(this, event);
    });
  }

  /**
   * Opens the queue of a backend, or of a workspace folder (the file backend;
   * an open {@link Workspace} works too), or over a bare store.
   */
  static open(options: TaskQueueOptions & { workspace?: string | Workspace; backend?: Backend; store?: TaskStore } = {}): TaskQueue {
    checkOptions(options, { ...WORKSPACE_OPTIONS, ...TASK_QUEUE_OPTIONS });
    if (options.store) return new TaskQueue(options.store, options);
    if (options.backend) {
      return new TaskQueue(options.backend.tasks, { ...options, clock: options.backend.clock, events: options.backend.events });
    }
    const given = options.workspace ?? './workspace';
    const ws = typeof given === 'string' ? Workspace.open(given, options) : given;
    const backend = new FileBackend(ws, { ...options, ...(options.leaseMs !== undefined ? { defaultLeaseMs: options.leaseMs } : {}) });
    return new TaskQueue(backend.tasks, { ...options, clock: ws.clock, events: backend.events, owned: typeof given === 'string' ? ws : null });
  }

  // ------------------------------------------------------------ adding

  /** Adds one task. Returns its record (the existing one if the idempotency key was seen). */
  async add(input: TaskInput): Promise<TaskRecord> {
    const [record] = await this.addMany([input]);
    return record as TaskRecord;
  }

  /**
   * Adds a batch atomically: all or nothing. Tasks in the batch may depend on
   * each other; an unknown dependency, a cycle or a duplicate id rejects the
   * whole batch with a clear error and writes nothing.
   */
  async addMany(inputs: readonly TaskInput[]): Promise<TaskRecord[]> {
    this.assertOpen();
    if (!Array.isArray(inputs)) throw new ValidationError(`addMany takes an array of tasks, got ${describeValue(inputs)}`);
    const now = this.clock.now();
    const specs = inputs.map((input: TaskInput) => normalizeTask(input, this.defaults, now));
    const outcomes = await this.store.add(specs);
    return outcomes.map((outcome) => outcome.record);
  }

  // ------------------------------------------------------------ claiming

  /** Claims the best ready task this agent can do, or returns null. */
  async claim(request: ClaimRequest): Promise<Claim | null> {
    this.assertOpen();
    assertValidId('agent', request.agentId);
    const leaseMs = request.leaseMs === undefined ? this.leaseMs : checkDuration('leaseMs', request.leaseMs, { min: 10 });
    const grant = await this.store.claim({ ...request, leaseMs });
    return grant ? this.track(grant) : null;
  }

  /**
   * Claims up to `max` of the best ready tasks this agent can do, in one step
   * where the backend can (Redis: one script call), for a worker with several
   * slots. Returns the claims, best first; empty when nothing is ready.
   */
  async claimMany(request: ClaimRequest, max: number): Promise<Claim[]> {
    this.assertOpen();
    assertValidId('agent', request.agentId);
    if (!Number.isInteger(max) || max < 1 || max > 1000) {
      throw new ValidationError(`claimMany takes a whole number of tasks from 1 to 1000, got ${describeValue(max)}`);
    }
    const leaseMs = request.leaseMs === undefined ? this.leaseMs : checkDuration('leaseMs', request.leaseMs, { min: 10 });
    const full = { ...request, leaseMs };
    let grants: ClaimGrant[];
    if (this.store.claimMany) {
      grants = await this.store.claimMany(full, max);
    } else {
      grants = [];
      while (grants.length < max) {
        const grant = await this.store.claim(full);
        if (!grant) break;
        grants.push(grant);
      }
    }
    return grants.map((grant) => this.track(grant));
  }

  private track(grant: ClaimGrant): Claim {
    const claim = new Claim(this, grant);
    this.active.set(grant.ref.taskId, claim);
    if (this.autoHeartbeat) claim.startHeartbeat();
    return claim;
  }

  /**
   * Records the result (as {@link complete}), then claims up to `max` (default
   * 1) next tasks for `next`, in one round trip where the backend can: a busy
   * worker's steady state. When the completion is refused (LeaseLostError),
   * nothing is claimed.
   */
  async completeAndClaim(
    ref: ClaimRef,
    result: unknown,
    next: ClaimRequest & { max?: number },
    options: { review?: boolean } = {},
  ): Promise<{ record: TaskRecord; next: Claim[] }> {
    this.assertOpen();
    this.checkResult(ref.taskId, result);
    const { max = 1, ...request } = next;
    // Checked before anything is written.
    assertValidId('agent', request.agentId);
    if (!Number.isInteger(max) || max < 1 || max > 1000) {
      throw new ValidationError(`completeAndClaim takes a whole number of next tasks from 1 to 1000, got ${describeValue(max)}`);
    }
    const leaseMs = request.leaseMs === undefined ? this.leaseMs : checkDuration('leaseMs', request.leaseMs, { min: 10 });
    if (!this.store.completeAndClaim) {
      const record = await this.complete(ref, result, options);
      return { record, next: await this.claimMany({ ...request, leaseMs }, max) };
    }
    let outcome: { record: TaskRecord; next: ClaimGrant[] };
    try {
      outcome = await this.store.completeAndClaim(ref, result, options, { ...request, leaseMs }, max);
    } finally {
      this.forget(ref);
    }
    return { record: outcome.record, next: outcome.next.map((grant) => this.track(grant)) };
  }

  /**
   * Resolves true when a task this filter accepts may be claimable, false on
   * timeout. Woken by the watcher, and re-checks on a timer regardless, so a
   * missed file event delays work by at most the re-scan interval. Idle
   * waiters also take over expired leases.
   */
  async waitForWork(filter: ClaimFilter & { agentId?: string } = {}, options: WaitOptions = {}): Promise<boolean> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    const request = { agentId: filter.agentId ?? 'waiter', ...filter };
    for (;;) {
      this.assertOpen();
      if (options.signal?.aborted) throw new AbortError();
      // Taken before looking, so a task that becomes ready while we look still wakes us.
      const version = this.store.changeVersion();
      const { ready, nextDueAt } = await this.store.hasWork(request);
      if (ready) return true;
      await this.maybeReap();
      const remaining = deadline - Date.now();
      if (remaining <= 0) return false;
      let wait = Math.min(remaining, this.reapIntervalMs);
      if (nextDueAt !== null) wait = Math.min(wait, Math.max(1, nextDueAt - this.clock.now()));
      await this.store.waitForChange(wait, options.signal, version);
    }
  }

  /** Waits for and claims the next task; null on timeout. */
  async next(request: ClaimRequest, options: WaitOptions = {}): Promise<Claim | null> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    for (;;) {
      const claim = await this.claim(request);
      if (claim) return claim;
      const remaining = deadline - Date.now();
      if (remaining <= 0) return null;
      const found = await this.waitForWork(request, { signal: options.signal, timeoutMs: remaining });
      if (!found && Date.now() >= deadline) return null;
    }
  }

  private async maybeReap(): Promise<void> {
    const now = Date.now();
    if (now - this.lastReap < this.reapIntervalMs) return;
    this.lastReap = now;
    if (this.autoRecoverMs > 0 && now - this.lastRecover >= this.autoRecoverMs) {
      this.lastRecover = now;
      await this.store.recover();
      return;
    }
    await this.store.reap();
  }

  // ------------------------------------------------------------ holder operations

  /** Extends a claim's lease. Throws {@link LeaseLostError} if it was taken over. */
  async heartbeat(ref: ClaimRef, leaseMs = this.leaseMs): Promise<number> {
    return this.store.heartbeat(ref, leaseMs);
  }

  /**
   * Records the result. With `review`, the task waits in `review` (its
   * dependents too) until {@link approve} or {@link reopen}.
   * Throws {@link LeaseLostError} when the claim is no longer this holder's.
   */
  async complete(ref: ClaimRef, result: unknown = null, options: { review?: boolean } = {}): Promise<TaskRecord> {
    this.checkResult(ref.taskId, result);
    try {
      return await this.store.complete(ref, result, options);
    } finally {
      this.forget(ref);
    }
  }

  /** Records a failed attempt; retries after backoff unless `retryable` is false or attempts ran out. */
  async fail(ref: ClaimRef, error: unknown, options: { retryable?: boolean } = {}): Promise<TaskRecord> {
    try {
      return await this.store.fail(ref, { message: errorMessage(error), retryable: options.retryable ?? true });
    } finally {
      this.forget(ref);
    }
  }

  /** Gives a claimed task back without using an attempt (e.g. on shutdown). */
  async release(ref: ClaimRef, options: { feedback?: string } = {}): Promise<TaskRecord> {
    try {
      return await this.store.release(ref, options);
    } finally {
      this.forget(ref);
    }
  }

  /**
   * Hands a claimed task back until `dependencies` (which it typically just
   * added) are final, whatever their outcome; then it is claimable again and
   * its next run sees their results. Used by Mixture-of-Agents: the
   * synthesize task waits for the proposals it spawned.
   */
  async defer(ref: ClaimRef, dependencies: readonly string[]): Promise<TaskRecord> {
    for (const dep of dependencies) assertValidId('task', dep);
    try {
      return await this.store.defer(ref, dependencies);
    } finally {
      this.forget(ref);
    }
  }

  private forget(ref: ClaimRef): void {
    const claim = this.active.get(ref.taskId);
    if (claim && claim.ref.token === ref.token) {
      claim.stopHeartbeat();
      this.active.delete(ref.taskId);
    }
  }

  private checkResult(taskId: string, result: unknown): void {
    let text: string | undefined;
    try {
      text = JSON.stringify(result);
    } catch (err) {
      throw new ValidationError(`result of task "${taskId}" is not JSON-serialisable: ${errorMessage(err)}`);
    }
    const size = text === undefined ? 0 : Buffer.byteLength(text);
    if (size > this.maxResultBytes) {
      throw new ValidationError(
        `result of task "${taskId}" is ${size} bytes, over the limit of ${this.maxResultBytes}: write large output to a file and return its path`,
      );
    }
  }

  // ------------------------------------------------------------ review and administration

  async approve(taskId: string, options: { agentId?: string } = {}): Promise<TaskRecord> {
    assertValidId('task', taskId);
    return this.store.approve(taskId, options);
  }

  async reopen(taskId: string, feedback: string): Promise<TaskRecord> {
    assertValidId('task', taskId);
    return this.store.reopen(taskId, String(feedback));
  }

  /** Fails a task held for review, for good, with the reason. */
  async reject(taskId: string, reason: string): Promise<TaskRecord> {
    assertValidId('task', taskId);
    return this.store.reject(taskId, String(reason));
  }

  async cancel(taskId: string, reason = 'cancelled'): Promise<TaskRecord> {
    assertValidId('task', taskId);
    return this.store.cancel(taskId, reason);
  }

  async retry(taskId: string): Promise<TaskRecord> {
    assertValidId('task', taskId);
    return this.store.retry(taskId);
  }

  async get(taskId: string): Promise<TaskRecord | null> {
    assertValidId('task', taskId);
    return this.store.get(taskId);
  }

  async list(filter: ListFilter = {}): Promise<TaskRecord[]> {
    return this.store.list(filter);
  }

  async counts(): Promise<TaskCounts> {
    return this.store.counts();
  }

  async reap(): Promise<ReapReport> {
    return this.store.reap();
  }

  async recover(): Promise<RecoverReport> {
    return this.store.recover();
  }

  /** Claims held through this queue object. */
  activeClaims(): Claim[] {
    return [...this.active.values()];
  }

  // ------------------------------------------------------------ seed-compatible names

  /** Seed name for {@link add}: `addTask(description, { dependencies })`. */
  async addTask(description: string, options: Omit<TaskInput, 'description'> = {}): Promise<TaskRecord> {
    return this.add({ ...options, description });
  }

  /** Seed name: claims the next task for `agentId` and returns it, or null. */
  async claimTask(agentId: string, filter: ClaimFilter = {}): Promise<TaskRecord | null> {
    const claim = await this.claim({ agentId, ...filter });
    return claim ? claim.task : null;
  }

  /** Seed name: completes the task `agentId` holds. */
  async completeTask(taskId: string, agentId: string, result: unknown = null): Promise<TaskRecord> {
    return this.complete(await this.refFor(taskId, agentId), result);
  }

  /** Seed name: records a failed attempt of the task `agentId` holds. */
  async failTask(taskId: string, agentId: string, error: unknown): Promise<TaskRecord> {
    return this.fail(await this.refFor(taskId, agentId), error);
  }

  /** Seed name: counts by state and `total`. */
  async getStatus(): Promise<QueueStatus> {
    return this.counts();
  }

  private async refFor(taskId: string, agentId: string): Promise<ClaimRef> {
    assertValidId('task', taskId);
    assertValidId('agent', agentId);
    const local = this.active.get(taskId);
    if (local && local.agentId === agentId) return local.ref;
    const record = await this.store.get(taskId);
    if (!record) throw new ValidationError(`task "${taskId}" not found`);
    if (record.status !== 'claimed' || record.owner !== agentId) {
      throw new LeaseLostError(taskId, '?', `agent "${agentId}" does not hold it (status ${record.status}, owner ${record.owner ?? 'none'})`);
    }
    const ref = this.store.claimRefOf ? await this.store.claimRefOf(taskId) : null;
    if (!ref || ref.agentId !== agentId) throw new LeaseLostError(taskId, '?', `agent "${agentId}" does not hold it`);
    return { taskId, token: ref.token };
  }

  // ------------------------------------------------------------ lifecycle

  private assertOpen(): void {
    if (this.closed) throw new ValidationError('this TaskQueue is closed');
  }

  /** Stops heartbeats and closes the store (and the workspace if this queue opened it). Claims are left to expire unless released first. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const claim of this.active.values()) claim.stopHeartbeat();
    this.active.clear();
    await this.store.close();
    if (this.owned) await this.owned.close();
  }
}

/**
 * A held task. Heartbeats run on their own while it is held (unless the queue
 * was opened with `autoHeartbeat: false`); `signal` aborts if the lease is
 * lost, so long work can stop early.
 */
export class Claim {
  readonly task: TaskRecord;
  readonly ref: ClaimRef;
  readonly agentId: string;
  readonly leaseMs: number;
  leaseUntil: number;
  /** Made on first use: most claims finish without anyone asking for their signal. */
  private controller: AbortController | null = null;
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<unknown> | null = null;

  constructor(
    private readonly queue: TaskQueue,
    grant: ClaimGrant,
  ) {
    this.task = grant.task;
    this.ref = grant.ref;
    this.agentId = grant.agentId;
    this.leaseMs = grant.leaseMs;
    this.leaseUntil = grant.leaseUntil;
  }

  get taskId(): string {
    return this.ref.taskId;
  }

  /** Aborts (with the {@link LeaseLostError}) when the lease is lost. */
  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  startHeartbeat(intervalMs = Math.max(5, Math.floor(this.leaseMs / 3))): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.beating) return;
      this.beating = this.heartbeat()
        .catch((err: unknown) => {
          if (err instanceof LeaseLostError) {
            this.stopHeartbeat();
            (this.controller ??= new AbortController()).abort(err);
          }
        })
        .finally(() => {
          this.beating = null;
        });
    }, intervalMs);
    this.timer.unref();
  }

  stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async heartbeat(): Promise<number> {
    this.leaseUntil = await this.queue.heartbeat(this.ref, this.leaseMs);
    return this.leaseUntil;
  }

  complete(result: unknown = null, options: { review?: boolean } = {}): Promise<TaskRecord> {
    this.stopHeartbeat();
    return this.queue.complete(this.ref, result, options);
  }

  /** Records the result and claims the next task(s) for `next` in one step; see {@link TaskQueue.completeAndClaim}. */
  completeAndClaim(result: unknown, next: ClaimRequest & { max?: number }, options: { review?: boolean } = {}): Promise<{ record: TaskRecord; next: Claim[] }> {
    this.stopHeartbeat();
    return this.queue.completeAndClaim(this.ref, result, next, options);
  }

  fail(error: unknown, options: { retryable?: boolean } = {}): Promise<TaskRecord> {
    this.stopHeartbeat();
    return this.queue.fail(this.ref, error, options);
  }

  release(options: { feedback?: string } = {}): Promise<TaskRecord> {
    this.stopHeartbeat();
    return this.queue.release(this.ref, options);
  }

  /** Waits (without holding the claim) until `dependencies` are final, then runs again. */
  defer(dependencies: readonly string[]): Promise<TaskRecord> {
    this.stopHeartbeat();
    return this.queue.defer(this.ref, dependencies);
  }
}

/** The rules of {@link TaskQueueOptions}, checked when a queue is opened or built. */
export const TASK_QUEUE_OPTIONS = {
  leaseMs: rules.duration({ min: 10 }),
  maxAttempts: rules.int({ min: 1, max: 1000 }),
  retry: rules.object({ baseMs: rules.duration({ min: 0 }), maxMs: rules.duration({ min: 0 }) }),
  autoHeartbeat: rules.boolean(),
  maxTaskBytes: rules.int({ min: 1 }),
  maxResultBytes: rules.int({ min: 1 }),
  reapIntervalMs: rules.duration({ min: 1 }),
  autoRecoverMs: rules.duration({ min: 0 }),
};

