/**
 * - `pending`: waiting for its dependencies
 * - `ready`: claimable now
 * - `delayed`: a retry waiting out its backoff
 * - `claimed`: held by an agent under a lease
 * - `review`: done by its agent, waiting for approval (dependents still wait)
 * - `completed`, `failed`, `blocked`, `cancelled`: final
 */
export type TaskStatus =
  | 'pending'
  | 'ready'
  | 'delayed'
  | 'claimed'
  | 'review'
  | 'completed'
  | 'failed'
  | 'blocked'
  | 'cancelled';

export const TASK_STATUSES: readonly TaskStatus[] = [
  'pending',
  'ready',
  'delayed',
  'claimed',
  'review',
  'completed',
  'failed',
  'blocked',
  'cancelled',
];

export const FINAL_STATUSES: readonly TaskStatus[] = ['completed', 'failed', 'blocked', 'cancelled'];

export function isFinal(status: TaskStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'blocked' || status === 'cancelled';
}

export interface RetryPolicy {
  /** First backoff delay; doubles with each attempt. @default 500 */
  baseMs?: number;
  /** Upper bound of a backoff delay. @default 30000 */
  maxMs?: number;
}

/** What a caller gives to add a task. */
export interface TaskInput {
  /** What to do, in words an agent (or a person) understands. */
  description: string;
  /** Your own id (`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`). @default a generated `t-...` id */
  id?: string;
  /** Ids of tasks that must complete first. @default [] */
  dependencies?: readonly string[];
  /** Higher runs first; ties run first-in first-out. Integer in [-999999, 999999]. @default 0 */
  priority?: number;
  /** A role or specialty the claimer must have (e.g. `security`). @default none */
  requires?: string;
  /** The kind of work: `task`, `plan`, `propose`, `aggregate`, `synthesize`, `review`, or your own. @default 'task' */
  type?: string;
  /** Attempts before the task fails for good. @default the queue's (3) */
  maxAttempts?: number;
  /** Adding the same key again, from any process, yields the existing task. */
  idempotencyKey?: string;
  /** Free-form JSON carried with the task. @default {} */
  metadata?: Record<string, unknown>;
  /** Run even if dependencies failed, were blocked or cancelled (MoA aggregation). @default false */
  allowFailed?: boolean;
  /** Backoff between attempts. @default the queue's */
  retry?: RetryPolicy;
  /** Lease length for claims of this task. @default the claimer's */
  leaseMs?: number;
}

/** The immutable part of a task, as stored when it was added. */
export interface TaskSpec {
  id: string;
  description: string;
  type: string;
  priority: number;
  dependencies: string[];
  requires: string | null;
  maxAttempts: number;
  idempotencyKey: string | null;
  metadata: Record<string, unknown>;
  allowFailed: boolean;
  retry: Required<RetryPolicy>;
  leaseMs: number | null;
  /** Epoch ms. */
  createdAt: number;
  /** Orders tasks of equal priority first-in first-out. */
  seq: string;
}

export interface AttemptError {
  attempt: number;
  message: string;
  agentId?: string;
  /** Epoch ms. */
  at: number;
  /** `error` (thrown by the work), `lease_expired`, `cancelled`, ... */
  kind: string;
}

/** A task and where it stands. */
export interface TaskRecord extends TaskSpec {
  status: TaskStatus;
  /** The current attempt (1-based); for a final task, the last one. */
  attempt: number;
  /** The agent holding the task (claimed), or the one that finished it. */
  owner: string | null;
  /** Epoch ms when the current claim's lease runs out. */
  leaseUntil: number | null;
  /** The output, once completed (or while waiting for review). */
  result?: unknown;
  /** Every failed attempt's error, oldest first. */
  errors: AttemptError[];
  /** Why the task is blocked, cancelled or failed. */
  reason: string | null;
  /** Feedback from reviews and vetoes that re-opened the task, oldest first. */
  feedback: string[];
  /** Epoch ms before which a delayed retry will not run. */
  notBefore: number | null;
  /** Epoch ms of the final transition. */
  finishedAt: number | null;
}

/** What a claimer can do: a task is offered only if it matches. */
export interface ClaimFilter {
  /** Task types this claimer takes. @default every type */
  types?: readonly string[];
  /** Requirements (roles, specialties) it satisfies. @default none */
  capabilities?: readonly string[];
  /** Take tasks that require nothing in particular. @default true */
  acceptUnrequired?: boolean;
}

export interface ClaimRequest extends ClaimFilter {
  agentId: string;
  /** Lease length. @default the queue's (30000) */
  leaseMs?: number;
}

/** Identifies one claim of one task: what complete, fail and heartbeat check. */
export interface ClaimRef {
  taskId: string;
  /** The fencing token: `<attempt>-<random>`. */
  token: string;
}

export type TaskCounts = Record<TaskStatus, number> & { total: number };

export interface ListFilter {
  status?: TaskStatus | readonly TaskStatus[];
  type?: string;
  requires?: string;
  owner?: string;
  /** At most this many. @default no limit */
  limit?: number;
}

export interface ReapReport {
  /** Tasks whose lease expired and went back to ready (or failed, when out of attempts). */
  requeued: Array<{ taskId: string; attempt: number; holder: string | null }>;
  failed: string[];
  /** Claims dropped before their task started (no attempt used). */
  abandoned: string[];
  /** Interrupted transitions rolled forward or back. */
  repaired: string[];
}

export interface RecoverReport extends ReapReport {
  sweptTempFiles: string[];
  quarantined: Array<{ name: string; file: string; reason: string; at: string }>;
}
